package cgroups

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/containerd/cgroups/v3/cgroup2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// v2Plan is r as runc applies it to the unified hierarchy (libcontainer's
// fs2 driver).
type v2Plan struct {
	writes []write
	// devices go to the cgroup library, which compiles them to the eBPF
	// program the kernel checks device access with.
	devices []specs.LinuxDeviceCgroup
	// usage, when set, refuses limits at or below the memory in use
	// (memory.checkBeforeUpdate).
	usage *memoryCheck
}

type memoryCheck struct{ limit, swap int64 }

// cpuMaxPeriod is the kernel's default CFS period, which runc writes when
// a quota comes without one.
const cpuMaxPeriod = 100000

func newV2Plan(r *specs.LinuxResources) (*v2Plan, error) {
	p := &v2Plan{}
	if r == nil {
		return p, nil
	}
	if err := checkUnifiedKeys(r.Unified); err != nil {
		return nil, err
	}
	if v := pidsMax(r.Pids); v != "" {
		p.add(write{file: "pids.max", value: v})
	}
	if err := p.memory(r.Memory); err != nil {
		return nil, err
	}
	p.io(r.BlockIO)
	p.cpu(r.CPU)
	var err error
	if p.devices, err = deviceRules(r.Devices); err != nil {
		return nil, err
	}
	if c := r.CPU; c != nil {
		if c.Cpus != "" {
			p.add(write{file: "cpuset.cpus", value: c.Cpus})
		}
		if c.Mems != "" {
			p.add(write{file: "cpuset.mems", value: c.Mems})
		}
	}
	p.writes = append(p.writes, hugetlbWrites("", ".max", r.HugepageLimits)...)
	p.writes = append(p.writes, rdmaWrites("", r.Rdma)...)
	// unified comes last: its keys override what the fields above set.
	for _, k := range slices.Sorted(maps.Keys(r.Unified)) {
		p.add(write{file: k, value: r.Unified[k]})
	}
	return p, nil
}

func (p *v2Plan) add(w write) { p.writes = append(p.writes, w) }

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

// memory is memory.swap.max, memory.max and memory.low; -1 is "max". The
// rest of linux.resources.memory has no v2 file, and runc ignores it.
func (p *v2Plan) memory(m *specs.LinuxMemory) error {
	if m == nil {
		return nil
	}
	limit, swapTotal, low := orZero(m.Limit), orZero(m.Swap), orZero(m.Reservation)
	if limit == 0 && swapTotal == 0 && low == 0 {
		return nil
	}
	if m.CheckBeforeUpdate != nil && *m.CheckBeforeUpdate && (limit > 0 || swapTotal > 0) {
		p.usage = &memoryCheck{limit: limit, swap: swapTotal}
	}
	swap, err := swapV2(swapTotal, limit)
	if err != nil {
		return err
	}
	switch {
	case swap != 0:
		p.add(write{file: "memory.swap.max", value: maxOr(swap), optional: swap == -1})
	case swapTotal > 0:
		// memory+swap equal to memory: no swap at all.
		p.add(write{file: "memory.swap.max", value: "0", optional: true})
	}
	if limit != 0 {
		p.add(write{file: "memory.max", value: maxOr(limit)})
	}
	if low != 0 {
		p.add(write{file: "memory.low", value: maxOr(low)})
	}
	return nil
}

// maxOr is v in a v2 file, where -1 (v1's "no limit") is "max".
func maxOr(v int64) string {
	if v == -1 {
		return "max"
	}
	return itoa(v)
}

// swapV2 turns v1's memory+swap limit into v2's swap-only limit, with
// runc's rules: -1 is "max" and 0 unset, an unlimited memory without a
// swap limit lifts the swap limit too, and with an unlimited memory the
// swap limit is taken as is.
func swapV2(memSwap, mem int64) (int64, error) {
	switch {
	case mem == -1 && memSwap == 0:
		return -1, nil
	case memSwap == -1 || memSwap == 0:
		return memSwap, nil
	case mem == -1:
		return memSwap, nil
	case mem == 0:
		return 0, errors.New("memory swap limit without a memory limit")
	case mem < 0:
		return 0, fmt.Errorf("memory limit %d: not a size", mem)
	case memSwap < mem:
		return 0, fmt.Errorf("memory+swap limit %d is below the memory limit %d", memSwap, mem)
	}
	return memSwap - mem, nil
}

// io writes the weight to io.bfq.weight as is where BFQ is the scheduler
// and to io.weight, rescaled from 10-1000 to 1-10000, where it is not;
// per-device weights only to BFQ, as runc; the throttle lists to io.max.
// blockIO.leafWeight has no v2 file.
func (p *v2Plan) io(b *specs.LinuxBlockIO) {
	if b == nil {
		return
	}
	if w := orZero(b.Weight); w != 0 {
		p.add(write{file: "io.bfq.weight", value: utoa(uint64(w)),
			alt: &write{file: "io.weight", value: utoa(cgroup2ioWeight(w))}})
	}
	for _, d := range b.WeightDevice {
		if w := orZero(d.Weight); w != 0 {
			p.add(write{file: "io.bfq.weight", value: fmt.Sprintf("%d:%d %d", d.Major, d.Minor, w), optional: true})
		}
	}
	for _, t := range throttles(b) {
		for _, d := range t.list {
			p.add(write{file: "io.max", value: fmt.Sprintf("%d:%d %s=%d", d.Major, d.Minor, t.v2, d.Rate)})
		}
	}
}

// cgroup2ioWeight maps blkio's weight (10-1000) onto io.weight (1-10000).
func cgroup2ioWeight(w uint16) uint64 { return 1 + (uint64(w)-10)*9999/990 }

// cpu writes idle, the weight converted from shares, burst, and cpu.max
// (a quota of 0 or less is "max"; the period defaults to the kernel's);
// the burst may need the new cpu.max first. The realtime fields have no
// v2 file, and runc ignores them.
func (p *v2Plan) cpu(c *specs.LinuxCPU) {
	if c == nil {
		return
	}
	if c.Idle != nil {
		p.add(write{file: "cpu.idle", value: itoa(*c.Idle)})
	}
	if s := orZero(c.Shares); s != 0 {
		p.add(write{file: "cpu.weight", value: utoa(cgroup2.ConvertCPUSharesToCgroupV2Value(s))})
	}
	quota, period := orZero(c.Quota), orZero(c.Period)
	if c.Burst != nil {
		p.add(write{file: "cpu.max.burst", value: utoa(*c.Burst), retry: quota != 0})
	}
	if quota != 0 || period != 0 {
		v := "max"
		if quota > 0 {
			v = itoa(quota)
		}
		if period == 0 {
			period = cpuMaxPeriod
		}
		p.add(write{file: "cpu.max", value: v + " " + utoa(period)})
	}
}

// controllers are the v2 controllers the plan's files belong to, which
// the cgroup's parents must enable for the files to exist.
func (p *v2Plan) controllers() []string {
	seen := map[string]bool{}
	var out []string
	add := func(c string) {
		if c != "" && c != "cgroup" && !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	for _, w := range p.writes {
		c, _, _ := strings.Cut(w.file, ".")
		add(c)
	}
	return out
}
