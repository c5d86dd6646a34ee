package cgroups

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/containerd/cgroups/v3/cgroup2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ErrUnifiedOnV1 is runc's answer to linux.resources.unified on a host
// without cgroup v2: the keys name cgroup2 files, which v1 does not have.
var ErrUnifiedOnV1 = errors.New("linux.resources.unified needs cgroup v2; this host uses cgroup v1")

// asRuncApplies returns a copy of r holding only what runc writes to a
// cgroup. runc reads a zero in a numeric field as "unset" (nerdctl, for
// one, always sends realtimeRuntime and realtimePeriod as 0), while the
// cgroup library writes every field that is present, and the kernel
// refuses most zeros (cpu.rt_period_us, cpu.cfs_quota_us: EINVAL).
// Fields runc does not write are dropped as runc drops them: kernel memory
// (gone from the kernel), swappiness -1 (the default), an OOM killer
// left enabled. A value runc refuses is an error here too.
//
// Fields the cgroup library cannot apply and the shim does not either
// (cpu burst and idle, rdma on v1) are listed in the README.
func asRuncApplies(r *specs.LinuxResources) (*specs.LinuxResources, error) {
	if r == nil {
		return &specs.LinuxResources{}, nil
	}
	out := *r
	if r.CPU != nil {
		cpu := *r.CPU
		unsetZero(&cpu.Shares)
		unsetZero(&cpu.Quota)
		unsetZero(&cpu.Period)
		unsetZero(&cpu.RealtimeRuntime)
		unsetZero(&cpu.RealtimePeriod)
		out.CPU = &cpu
	}
	if r.Memory != nil {
		mem, err := memoryAsRuncApplies(*r.Memory)
		if err != nil {
			return nil, err
		}
		out.Memory = &mem
	}
	if r.Pids != nil {
		pids := *r.Pids
		unsetZero(&pids.Limit)
		out.Pids = &pids
	}
	if r.BlockIO != nil {
		blkio := *r.BlockIO
		unsetZero(&blkio.Weight)
		unsetZero(&blkio.LeafWeight)
		out.BlockIO = &blkio
	}
	if r.Network != nil {
		network := *r.Network
		unsetZero(&network.ClassID)
		out.Network = &network
	}
	return &out, nil
}

func memoryAsRuncApplies(mem specs.LinuxMemory) (specs.LinuxMemory, error) {
	unsetZero(&mem.Limit)
	unsetZero(&mem.Reservation)
	unsetZero(&mem.Swap)
	unsetZero(&mem.KernelTCP)
	mem.Kernel = nil //nolint:staticcheck // runc ignores it too: the kernel dropped kmem limits
	if mem.DisableOOMKiller != nil && !*mem.DisableOOMKiller {
		mem.DisableOOMKiller = nil
	}
	if s := mem.Swappiness; s != nil {
		// -1 arrives as the largest uint64 and means "the default".
		switch {
		case *s == math.MaxUint64:
			mem.Swappiness = nil
		case *s > 100:
			return mem, fmt.Errorf("memory swappiness %d: the valid range is 0-100", *s)
		}
	}
	return mem, nil
}

// unsetZero clears *p when it points at a zero.
func unsetZero[T comparable](p **T) {
	var zero T
	if *p != nil && **p == zero {
		*p = nil
	}
}

// checkUnifiedKeys refuses keys that are not plain file names, as runc
// does: a key is joined to the cgroup's directory and must not leave it.
func checkUnifiedKeys(unified map[string]string) error {
	for key := range unified {
		if key == "" || key == "." || key == ".." || strings.ContainsRune(key, '/') {
			return fmt.Errorf("linux.resources.unified key %q: not a cgroup2 file name", key)
		}
	}
	return nil
}

// v2Resources translates r for the unified hierarchy as runc does. What
// cgroup2.Resources cannot say ("max", linux.resources.unified) comes back
// as files to write into the cgroup's directory.
func v2Resources(r *specs.LinuxResources) (*cgroup2.Resources, map[string]string, error) {
	r, err := asRuncApplies(r)
	if err != nil {
		return nil, nil, err
	}
	if err := checkUnifiedKeys(r.Unified); err != nil {
		return nil, nil, err
	}
	files := make(map[string]string, len(r.Unified))
	var swap int64
	if m := r.Memory; m != nil {
		mem := *m
		limit := valueOr(mem.Limit, 0)
		if swap, err = swapV2(valueOr(mem.Swap, 0), limit); err != nil {
			return nil, nil, err
		}
		if limit == -1 {
			files["memory.max"] = "max"
			mem.Limit = nil
		}
		mem.Swap = nil
		r.Memory = &mem
	}
	res := cgroup2.ToResources(r)
	switch {
	case swap == -1:
		files["memory.swap.max"] = "max"
	case swap > 0:
		if res.Memory == nil {
			res.Memory = &cgroup2.Memory{}
		}
		res.Memory.Swap = &swap
	}
	if cpu := r.CPU; cpu != nil && (cpu.Quota != nil || cpu.Period != nil) {
		res.CPU.Max = cpuMax(cpu.Quota, cpu.Period)
	}
	for k, v := range r.Unified {
		files[k] = v
	}
	return res, files, nil
}

// swapV2 turns v1's memory+swap limit into v2's swap-only limit, with
// runc's rules: -1 is "max", 0 is unset, and an unlimited memory with no
// swap limit means unlimited swap too.
func swapV2(memSwap, mem int64) (int64, error) {
	switch {
	case mem == -1 && memSwap == 0:
		return -1, nil
	case memSwap == -1 || memSwap == 0:
		return memSwap, nil
	case mem == 0 || mem == -1:
		return 0, errors.New("memory swap limit without a memory limit")
	case mem < 0:
		return 0, fmt.Errorf("memory limit %d: not a size", mem)
	case memSwap < mem:
		return 0, fmt.Errorf("memory+swap limit %d is below the memory limit %d", memSwap, mem)
	}
	return memSwap - mem, nil
}

// cpuMax is cpu.max: a quota (or max for none) and a period, which the
// kernel defaults when it is left out. The library's NewCPUMax writes a
// quota of -1 as is, which the kernel refuses.
func cpuMax(quota *int64, period *uint64) cgroup2.CPUMax {
	s := "max"
	if quota != nil && *quota > 0 {
		s = strconv.FormatInt(*quota, 10)
	}
	if period != nil {
		s += " " + strconv.FormatUint(*period, 10)
	}
	return cgroup2.CPUMax(s)
}

func valueOr[T any](p *T, def T) T {
	if p == nil {
		return def
	}
	return *p
}

// v1Resources is r as runc writes it to v1 hierarchies.
func v1Resources(r *specs.LinuxResources) (*specs.LinuxResources, error) {
	if r != nil && len(r.Unified) > 0 {
		return nil, ErrUnifiedOnV1
	}
	return asRuncApplies(r)
}
