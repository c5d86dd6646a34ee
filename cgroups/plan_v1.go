package cgroups

import (
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// v1Plan is r as runc applies it to v1 hierarchies (libcontainer's fs
// driver): lib is what the cgroup library applies (cpuset, devices), ws
// the files the shim writes, in runc's order of controllers.
func v1Plan(r *specs.LinuxResources) (lib *specs.LinuxResources, ws []write, err error) {
	lib = &specs.LinuxResources{}
	if r == nil {
		return lib, nil, nil
	}
	if len(r.Unified) > 0 {
		return nil, nil, ErrUnifiedOnV1
	}
	if lib.Devices, err = deviceRules(r.Devices); err != nil {
		return nil, nil, err
	}
	if c := r.CPU; c != nil && (c.Cpus != "" || c.Mems != "") {
		lib.CPU = &specs.LinuxCPU{Cpus: c.Cpus, Mems: c.Mems}
	}
	mem, err := v1Memory(r.Memory)
	if err != nil {
		return nil, nil, err
	}
	ws = append(ws, mem...)
	ws = append(ws, v1CPU(r.CPU)...)
	if v := pidsMax(r.Pids); v != "" {
		ws = append(ws, write{ctrl: "pids", file: "pids.max", value: v})
	}
	ws = append(ws, v1BlockIO(r.BlockIO)...)
	ws = append(ws, hugetlbWrites("hugetlb", ".limit_in_bytes", r.HugepageLimits)...)
	if n := r.Network; n != nil {
		if id := orZero(n.ClassID); id != 0 {
			ws = append(ws, write{ctrl: "net_cls", file: "net_cls.classid", value: utoa(uint64(id))})
		}
		for _, p := range n.Priorities {
			ws = append(ws, write{ctrl: "net_prio", file: "net_prio.ifpriomap", value: fmt.Sprintf("%s %d", p.Name, p.Priority)})
		}
	}
	ws = append(ws, rdmaWrites("rdma", r.Rdma)...)
	return lib, ws, nil
}

// v1Memory writes the memory limit and memory+swap limit in whichever
// order the kernel takes (it refuses a memory+swap below the memory limit
// at every step: each retries after the other), then the soft limit, the
// OOM killer and swappiness. Kernel memory limits are gone from the
// kernel, and runc ignores both; useHierarchy and checkBeforeUpdate have
// no v1 meaning in runc either.
func v1Memory(m *specs.LinuxMemory) ([]write, error) {
	if m == nil {
		return nil, nil
	}
	var ws []write
	limit, swap := orZero(m.Limit), orZero(m.Swap)
	both := limit != 0 && swap != 0
	if limit != 0 {
		ws = append(ws, write{ctrl: "memory", file: "memory.limit_in_bytes", value: itoa(limit), retry: both})
	}
	switch {
	case swap != 0:
		ws = append(ws, write{ctrl: "memory", file: "memory.memsw.limit_in_bytes", value: itoa(swap), retry: both})
	case limit == -1:
		// An unlimited memory with no swap limit lifts the swap limit
		// too, where the kernel accounts swap.
		ws = append(ws, write{ctrl: "memory", file: "memory.memsw.limit_in_bytes", value: "-1", optional: true})
	}
	if v := orZero(m.Reservation); v != 0 {
		ws = append(ws, write{ctrl: "memory", file: "memory.soft_limit_in_bytes", value: itoa(v)})
	}
	if m.DisableOOMKiller != nil && *m.DisableOOMKiller {
		ws = append(ws, write{ctrl: "memory", file: "memory.oom_control", value: "1"})
	}
	s, err := swappiness(m)
	if err != nil {
		return nil, err
	}
	if s != "" {
		ws = append(ws, write{ctrl: "memory", file: "memory.swappiness", value: s})
	}
	return ws, nil
}

// v1CPU follows runc: shares (checked against what the kernel kept), the
// CFS period, burst and quota (the period and burst may need the new
// quota first), idle, then the realtime period and runtime (likewise).
func v1CPU(c *specs.LinuxCPU) []write {
	if c == nil {
		return nil
	}
	var ws []write
	if v := orZero(c.Shares); v != 0 {
		ws = append(ws, write{ctrl: "cpu", file: "cpu.shares", value: utoa(v), readBack: true})
	}
	quota := orZero(c.Quota)
	if v := orZero(c.Period); v != 0 {
		ws = append(ws, write{ctrl: "cpu", file: "cpu.cfs_period_us", value: utoa(v), retry: quota != 0})
	}
	if c.Burst != nil {
		ws = append(ws, write{ctrl: "cpu", file: "cpu.cfs_burst_us", value: utoa(*c.Burst), optional: true, retry: quota != 0})
	}
	if quota != 0 {
		ws = append(ws, write{ctrl: "cpu", file: "cpu.cfs_quota_us", value: itoa(quota)})
	}
	if c.Idle != nil {
		ws = append(ws, write{ctrl: "cpu", file: "cpu.idle", value: itoa(*c.Idle)})
	}
	runtime := orZero(c.RealtimeRuntime)
	if v := orZero(c.RealtimePeriod); v != 0 {
		ws = append(ws, write{ctrl: "cpu", file: "cpu.rt_period_us", value: utoa(v), retry: runtime != 0})
	}
	if runtime != 0 {
		ws = append(ws, write{ctrl: "cpu", file: "cpu.rt_runtime_us", value: itoa(runtime)})
	}
	return ws
}

// v1BlockIO writes weights to blkio.weight or, under BFQ, to
// blkio.bfq.weight, as runc picks; a 0 weight is unset.
func v1BlockIO(b *specs.LinuxBlockIO) []write {
	if b == nil {
		return nil
	}
	var ws []write
	if v := orZero(b.Weight); v != 0 {
		ws = append(ws, write{ctrl: "blkio", file: "blkio.weight", value: utoa(uint64(v)),
			alt: &write{file: "blkio.bfq.weight", value: utoa(uint64(v))}})
	}
	if v := orZero(b.LeafWeight); v != 0 {
		ws = append(ws, write{ctrl: "blkio", file: "blkio.leaf_weight", value: utoa(uint64(v))})
	}
	for _, d := range b.WeightDevice {
		dev := fmt.Sprintf("%d:%d ", d.Major, d.Minor)
		if v := orZero(d.Weight); v != 0 {
			ws = append(ws, write{ctrl: "blkio", file: "blkio.weight_device", value: dev + utoa(uint64(v)),
				alt: &write{file: "blkio.bfq.weight_device", value: dev + utoa(uint64(v))}})
		}
		if v := orZero(d.LeafWeight); v != 0 {
			ws = append(ws, write{ctrl: "blkio", file: "blkio.leaf_weight_device", value: dev + utoa(uint64(v))})
		}
	}
	for _, t := range throttles(b) {
		for _, d := range t.list {
			ws = append(ws, write{ctrl: "blkio", file: t.v1, value: fmt.Sprintf("%d:%d %d", d.Major, d.Minor, d.Rate)})
		}
	}
	return ws
}
