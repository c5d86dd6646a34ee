package cgroups

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The v2 translation (shares 1024, the default, is weight 100) of linux.resources is what lands in the files of a
// unified host; this host's cgroup2 mount has no controllers to show it.
func TestV2ResourcesFromSpec(t *testing.T) {
	limit, swap, pids, quota := int64(64<<20), int64(128<<20), int64(10), int64(50000)
	period, shares := uint64(100000), uint64(1024)
	r, files, err := v2Resources(&specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: &limit, Swap: &swap},
		Pids:   &specs.LinuxPids{Limit: &pids},
		CPU:    &specs.LinuxCPU{Quota: &quota, Period: &period, Shares: &shares, Cpus: "0"},
	})
	if err != nil || len(files) != 0 {
		t.Fatalf("v2Resources: files %v, %v", files, err)
	}
	if *r.Memory.Max != limit || *r.Memory.Swap != swap-limit {
		t.Fatalf("memory = max %d swap %d", *r.Memory.Max, *r.Memory.Swap)
	}
	if r.Pids.Max != pids {
		t.Fatalf("pids.max = %d", r.Pids.Max)
	}
	if got := string(r.CPU.Max); got != "50000 100000" {
		t.Fatalf("cpu.max = %q", got)
	}
	if *r.CPU.Weight != 100 || r.CPU.Cpus != "0" {
		t.Fatalf("cpu.weight = %d, cpuset = %q", *r.CPU.Weight, r.CPU.Cpus)
	}
	if empty, files, err := v2Resources(nil); err != nil || empty.Memory != nil || empty.CPU != nil || len(files) != 0 {
		t.Fatalf("no resources gave %+v, %v, %v", empty, files, err)
	}
}
