// Package cgroups gives one container's cgroup a small interface, the same
// on cgroup v1 (and hybrid) hosts and on cgroup v2 hosts: place processes,
// apply and update linux.resources, read metrics in the types containerd
// expects, freeze and thaw, watch for OOM kills, and delete.
//
//	cg, err := cgroups.New(cgroups.Path(spec.Linux.CgroupsPath, ns, id), spec.Linux.Resources)
//	if err != nil { ... }
//	defer cg.Delete()
//	err = cg.Add(pid)
//
// It builds and tests without cgo.
package cgroups
