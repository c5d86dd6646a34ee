// Package cgroups gives one container's cgroup a small interface, the same
// on cgroup v1 (and hybrid) hosts and on cgroup v2 hosts: place processes,
// apply and update linux.resources, read metrics in the types containerd
// expects, freeze and thaw, watch for OOM kills, and delete. Path turns a
// spec's linux.cgroupsPath into the cgroup's path and New creates it; the
// examples show both.
//
// It builds and tests without cgo.
package cgroups
