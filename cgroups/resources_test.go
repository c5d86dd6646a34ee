package cgroups

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// describe is a write as the tables below spell it: controller/file=value
// and its flags.
func describe(ws []write) []string {
	var out []string
	for _, w := range ws {
		s := w.String()
		if w.optional {
			s += " optional"
		}
		if w.retry {
			s += " retry"
		}
		if w.readBack {
			s += " readback"
		}
		if w.alt != nil {
			s += " or " + w.alt.String()
		}
		out = append(out, s)
	}
	return out
}

var denyAll = []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}}

// nerdctlNoFlags is the resources of `nerdctl run` without limits:
// oci.WithCPURT(0, 0) on every container, an empty memory section, and
// the default spec's deny-all device rule.
func nerdctlNoFlags() *specs.LinuxResources {
	return &specs.LinuxResources{
		CPU:     &specs.LinuxCPU{RealtimeRuntime: ptr(int64(0)), RealtimePeriod: ptr(uint64(0))},
		Memory:  &specs.LinuxMemory{},
		Devices: denyAll,
	}
}

// zeros holds a 0 (or the field's "default") in every field that has one.
func zeros() *specs.LinuxResources {
	return &specs.LinuxResources{
		CPU: &specs.LinuxCPU{Shares: ptr(uint64(0)), Quota: ptr(int64(0)), Period: ptr(uint64(0)),
			RealtimeRuntime: ptr(int64(0)), RealtimePeriod: ptr(uint64(0))},
		Memory: &specs.LinuxMemory{
			Limit: ptr(int64(0)), Reservation: ptr(int64(0)), Swap: ptr(int64(0)),
			Kernel: ptr(int64(0)), KernelTCP: ptr(int64(0)), DisableOOMKiller: ptr(false),
			Swappiness: ptr(uint64(math.MaxUint64)), UseHierarchy: ptr(false), CheckBeforeUpdate: ptr(false),
		},
		Pids:    &specs.LinuxPids{Limit: ptr(int64(0))},
		BlockIO: &specs.LinuxBlockIO{Weight: ptr(uint16(0)), LeafWeight: ptr(uint16(0)), WeightDevice: []specs.LinuxWeightDevice{{}}},
		Network: &specs.LinuxNetwork{ClassID: ptr(uint32(0))},
	}
}

// nerdctlLimits is `nerdctl run --memory 64m --cpus 0.5 --pids-limit 20
// --cpu-shares 512` (no --memory-swap: twice the memory).
func nerdctlLimits() *specs.LinuxResources {
	return &specs.LinuxResources{
		CPU: &specs.LinuxCPU{Shares: ptr(uint64(512)), Quota: ptr(int64(50000)), Period: ptr(uint64(100000)),
			RealtimeRuntime: ptr(int64(0)), RealtimePeriod: ptr(uint64(0))},
		Memory:  &specs.LinuxMemory{Limit: ptr(int64(64 << 20)), Swap: ptr(int64(128 << 20))},
		Pids:    &specs.LinuxPids{Limit: ptr(int64(20))},
		Devices: denyAll,
	}
}

func blockIO() *specs.LinuxBlockIO {
	dev := func(minor int64) specs.LinuxBlockIODevice { return specs.LinuxBlockIODevice{Major: 8, Minor: minor} }
	return &specs.LinuxBlockIO{
		Weight: ptr(uint16(500)), LeafWeight: ptr(uint16(300)),
		WeightDevice: []specs.LinuxWeightDevice{
			{LinuxBlockIODevice: dev(0), Weight: ptr(uint16(600)), LeafWeight: ptr(uint16(0))},
			{LinuxBlockIODevice: dev(16), LeafWeight: ptr(uint16(200))},
		},
		ThrottleReadBpsDevice:   []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev(0), Rate: 1 << 20}},
		ThrottleWriteBpsDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev(0), Rate: 2 << 20}},
		ThrottleReadIOPSDevice:  []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev(0), Rate: 100}},
		ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: dev(0), Rate: 0}},
	}
}

func rdma() map[string]specs.LinuxRdma {
	return map[string]specs.LinuxRdma{
		"mlx5_1": {HcaObjects: ptr(uint32(1000))},
		"mlx5_0": {HcaHandles: ptr(uint32(3)), HcaObjects: ptr(uint32(500))},
	}
}

func TestV1Plan(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      *specs.LinuxResources
		writes  []string
		devices int // rules given to the library
		cpuset  *specs.LinuxCPU
		err     string
	}{
		{name: "nil"},
		{name: "nerdctl without flags", in: nerdctlNoFlags(), devices: 1 + len(defaultDevices)},
		{name: "every zero is unset", in: zeros()},
		{
			name: "nerdctl limits", in: nerdctlLimits(), devices: 1 + len(defaultDevices),
			writes: []string{
				"memory/memory.limit_in_bytes=67108864 retry",
				"memory/memory.memsw.limit_in_bytes=134217728 retry",
				"cpu/cpu.shares=512 readback",
				"cpu/cpu.cfs_period_us=100000 retry",
				"cpu/cpu.cfs_quota_us=50000",
				"pids/pids.max=20",
			},
		},
		{
			name:   "unlimited memory lifts swap where accounted",
			in:     &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(-1))}},
			writes: []string{"memory/memory.limit_in_bytes=-1", "memory/memory.memsw.limit_in_bytes=-1 optional"},
		},
		{
			name: "memory extras",
			in: &specs.LinuxResources{Memory: &specs.LinuxMemory{
				Reservation: ptr(int64(32 << 20)), Kernel: ptr(int64(1 << 20)), KernelTCP: ptr(int64(1 << 20)),
				DisableOOMKiller: ptr(true), Swappiness: ptr(uint64(0)), UseHierarchy: ptr(true), CheckBeforeUpdate: ptr(true),
			}},
			writes: []string{
				"memory/memory.soft_limit_in_bytes=33554432",
				"memory/memory.oom_control=1",
				"memory/memory.swappiness=0",
			},
		},
		{name: "swappiness out of range", in: &specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: ptr(uint64(101))}}, err: "memory swappiness 101: the valid range is 0-100"},
		{
			name: "cpu burst, idle and realtime",
			in: &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: ptr(int64(-1)), Burst: ptr(uint64(0)), Idle: ptr(int64(1)),
				RealtimePeriod: ptr(uint64(1000000)), RealtimeRuntime: ptr(int64(10000))}},
			writes: []string{
				"cpu/cpu.cfs_burst_us=0 optional retry",
				"cpu/cpu.cfs_quota_us=-1",
				"cpu/cpu.idle=1",
				"cpu/cpu.rt_period_us=1000000 retry",
				"cpu/cpu.rt_runtime_us=10000",
			},
		},
		{
			name:   "cpuset goes to the library",
			in:     &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0", Mems: "0"}},
			cpuset: &specs.LinuxCPU{Cpus: "0", Mems: "0"},
		},
		{name: "pids -1 is max", in: &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(-1))}}, writes: []string{"pids/pids.max=max"}},
		{
			name: "block io",
			in:   &specs.LinuxResources{BlockIO: blockIO()},
			writes: []string{
				"blkio/blkio.weight=500 or blkio.bfq.weight=500",
				"blkio/blkio.leaf_weight=300",
				"blkio/blkio.weight_device=8:0 600 or blkio.bfq.weight_device=8:0 600",
				"blkio/blkio.leaf_weight_device=8:16 200",
				"blkio/blkio.throttle.read_bps_device=8:0 1048576",
				"blkio/blkio.throttle.write_bps_device=8:0 2097152",
				"blkio/blkio.throttle.read_iops_device=8:0 100",
				"blkio/blkio.throttle.write_iops_device=8:0 0",
			},
		},
		{
			name: "hugepages, network, rdma",
			in: &specs.LinuxResources{
				HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 20}},
				Network:        &specs.LinuxNetwork{ClassID: ptr(uint32(0x100001)), Priorities: []specs.LinuxInterfacePriority{{Name: "eth0", Priority: 5}}},
				Rdma:           rdma(),
			},
			writes: []string{
				"hugetlb/hugetlb.2MB.limit_in_bytes=4194304",
				"hugetlb/hugetlb.2MB.rsvd.limit_in_bytes=4194304 optional",
				"net_cls/net_cls.classid=1048577",
				"net_prio/net_prio.ifpriomap=eth0 5",
				"rdma/rdma.max=mlx5_0 hca_handle=3 hca_object=500",
				"rdma/rdma.max=mlx5_1 hca_object=1000",
			},
		},
		{name: "unified", in: &specs.LinuxResources{Unified: map[string]string{"memory.high": "1G"}}, err: ErrUnifiedOnV1.Error()},
		{name: "device type", in: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Type: "p", Access: "rwm"}}}, err: `device type "p"`},
		{name: "device access", in: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: true}}}, err: "empty access"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lib, ws, err := v1Plan(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(ws); !reflect.DeepEqual(got, tc.writes) {
				t.Errorf("writes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.writes, "\n"))
			}
			if len(lib.Devices) != tc.devices {
				t.Errorf("library device rules = %d, want %d", len(lib.Devices), tc.devices)
			}
			if !reflect.DeepEqual(lib.CPU, tc.cpuset) || lib.Memory != nil || lib.Pids != nil || lib.BlockIO != nil {
				t.Errorf("library resources = %+v, want cpuset %+v and devices only", lib, tc.cpuset)
			}
		})
	}
}

func TestV2Plan(t *testing.T) {
	for _, tc := range []struct {
		name        string
		in          *specs.LinuxResources
		writes      []string
		controllers []string
		devices     int
		usage       *memoryCheck
		err         string
	}{
		{name: "nil"},
		{name: "nerdctl without flags", in: nerdctlNoFlags(), devices: 1 + len(defaultDevices)},
		{name: "every zero is unset", in: zeros()},
		{
			name: "nerdctl limits", in: nerdctlLimits(), devices: 1 + len(defaultDevices),
			writes: []string{
				"pids.max=20",
				"memory.swap.max=67108864",
				"memory.max=67108864",
				"cpu.weight=59",
				"cpu.max=50000 100000",
			},
			controllers: []string{"pids", "memory", "cpu"},
		},
		{
			name:        "swap equal to memory is no swap",
			in:          &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(64 << 20)), Swap: ptr(int64(64 << 20))}},
			writes:      []string{"memory.swap.max=0 optional", "memory.max=67108864"},
			controllers: []string{"memory"},
		},
		{
			name:        "unlimited memory",
			in:          &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(-1)), Reservation: ptr(int64(-1))}},
			writes:      []string{"memory.swap.max=max optional", "memory.max=max", "memory.low=max"},
			controllers: []string{"memory"},
		},
		{
			name:        "unlimited memory, swap as is",
			in:          &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(-1)), Swap: ptr(int64(1 << 20))}},
			writes:      []string{"memory.swap.max=1048576", "memory.max=max"},
			controllers: []string{"memory"},
		},
		{name: "swap without memory", in: &specs.LinuxResources{Memory: &specs.LinuxMemory{Swap: ptr(int64(1 << 20))}}, err: "without a memory limit"},
		{
			name: "v1-only memory fields are ignored",
			in: &specs.LinuxResources{Memory: &specs.LinuxMemory{Kernel: ptr(int64(1)), KernelTCP: ptr(int64(1)),
				DisableOOMKiller: ptr(true), Swappiness: ptr(uint64(10)), UseHierarchy: ptr(true)}},
		},
		{
			name:        "check before update",
			in:          &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(1 << 20)), CheckBeforeUpdate: ptr(true)}},
			writes:      []string{"memory.max=1048576"},
			controllers: []string{"memory"},
			usage:       &memoryCheck{limit: 1 << 20},
		},
		{
			name: "cpu",
			in: &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: ptr(uint64(1024)), Quota: ptr(int64(-1)), Burst: ptr(uint64(1000)),
				Idle: ptr(int64(0)), RealtimePeriod: ptr(uint64(1000000)), RealtimeRuntime: ptr(int64(1000)), Cpus: "0", Mems: "0"}},
			writes:      []string{"cpu.idle=0", "cpu.weight=100", "cpu.max.burst=1000 retry", "cpu.max=max 100000", "cpuset.cpus=0", "cpuset.mems=0"},
			controllers: []string{"cpu", "cpuset"},
		},
		{
			name:        "period alone",
			in:          &specs.LinuxResources{CPU: &specs.LinuxCPU{Period: ptr(uint64(50000))}},
			writes:      []string{"cpu.max=max 50000"},
			controllers: []string{"cpu"},
		},
		{
			name: "block io",
			in:   &specs.LinuxResources{BlockIO: blockIO()},
			writes: []string{
				"io.bfq.weight=500 or io.weight=4950",
				"io.bfq.weight=8:0 600 optional",
				"io.max=8:0 rbps=1048576",
				"io.max=8:0 wbps=2097152",
				"io.max=8:0 riops=100",
				"io.max=8:0 wiops=0",
			},
			controllers: []string{"io"},
		},
		{
			name: "hugepages, rdma, network",
			in: &specs.LinuxResources{
				HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "1GB", Limit: 1 << 30}},
				Rdma:           rdma(),
				Network:        &specs.LinuxNetwork{ClassID: ptr(uint32(7))},
			},
			writes: []string{
				"hugetlb.1GB.max=1073741824",
				"hugetlb.1GB.rsvd.max=1073741824 optional",
				"rdma.max=mlx5_0 hca_handle=3 hca_object=500",
				"rdma.max=mlx5_1 hca_object=1000",
			},
			controllers: []string{"hugetlb", "rdma"},
		},
		{
			name:        "unified last, sorted",
			in:          &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(5))}, Unified: map[string]string{"pids.max": "7", "memory.high": "max", "cgroup.max.depth": "3"}},
			writes:      []string{"pids.max=5", "cgroup.max.depth=3", "memory.high=max", "pids.max=7"},
			controllers: []string{"pids", "memory"},
		},
		{name: "unified escape", in: &specs.LinuxResources{Unified: map[string]string{"../memory.max": "1"}}, err: "not a cgroup2 file name"},
		{name: "unified dot-dot", in: &specs.LinuxResources{Unified: map[string]string{"..": "1"}}, err: "not a cgroup2 file name"},
		{name: "device access", in: &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Access: "rwx"}}}, err: `access "rwx"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := newV2Plan(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := describe(p.writes); !reflect.DeepEqual(got, tc.writes) {
				t.Errorf("writes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.writes, "\n"))
			}
			if got := p.controllers(); !reflect.DeepEqual(got, tc.controllers) {
				t.Errorf("controllers = %v, want %v", got, tc.controllers)
			}
			if len(p.devices) != tc.devices {
				t.Errorf("device rules = %d, want %d", len(p.devices), tc.devices)
			}
			if !reflect.DeepEqual(p.usage, tc.usage) {
				t.Errorf("usage check = %+v, want %+v", p.usage, tc.usage)
			}
		})
	}
}

// The caller's spec is read, never written: containerd's clients reuse it.
func TestPlansLeaveTheirInputAlone(t *testing.T) {
	for _, in := range []func() *specs.LinuxResources{nerdctlNoFlags, zeros, nerdctlLimits} {
		r := in()
		if _, _, err := v1Plan(r); err != nil {
			t.Fatal(err)
		}
		if _, err := newV2Plan(r); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(r, in()) {
			t.Fatalf("input changed to %+v", r)
		}
	}
}

func TestSwapV2(t *testing.T) {
	for _, tc := range []struct {
		memSwap, mem, want int64
		err                string
	}{
		{memSwap: 0, mem: 0, want: 0},
		{memSwap: 0, mem: -1, want: -1},
		{memSwap: -1, mem: 100, want: -1},
		{memSwap: 300, mem: 100, want: 200},
		{memSwap: 100, mem: 100, want: 0},
		{memSwap: 100, mem: -1, want: 100},
		{memSwap: 100, mem: 0, err: "without a memory limit"},
		{memSwap: 100, mem: -5, err: "not a size"},
		{memSwap: 50, mem: 100, err: "below the memory limit"},
	} {
		got, err := swapV2(tc.memSwap, tc.mem)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("swapV2(%d, %d) error = %v, want %q", tc.memSwap, tc.mem, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("swapV2(%d, %d) = %d, %v; want %d", tc.memSwap, tc.mem, got, err, tc.want)
		}
	}
}

func TestDeviceRules(t *testing.T) {
	got, err := deviceRules([]specs.LinuxDeviceCgroup{{Access: "rwm"}, {Allow: true, Type: "c", Major: ptr(int64(4)), Access: "rw"}})
	if err != nil {
		t.Fatal(err)
	}
	want := append([]specs.LinuxDeviceCgroup{{Type: "a", Access: "rwm"}, {Allow: true, Type: "c", Major: ptr(int64(4)), Access: "rw"}}, defaultDevices...)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("rules = %+v\nwant %+v", got, want)
	}
	if got, err := deviceRules(nil); got != nil || err != nil {
		t.Fatalf("no rules gave %+v, %v; want none", got, err)
	}
}

// applyWrites against plain files: the kernel's refusals are the live
// tests' business.
func TestApplyWrites(t *testing.T) {
	for _, tc := range []struct {
		name  string
		files []string // files that exist
		ws    []write
		want  map[string]string
		err   string
	}{
		{
			name:  "optional and alt",
			files: []string{"blkio.bfq.weight", "a.max"},
			ws: []write{
				{ctrl: "blkio", file: "blkio.weight", value: "500", alt: &write{file: "blkio.bfq.weight", value: "500"}},
				{ctrl: "blkio", file: "hugetlb.2MB.rsvd.limit_in_bytes", value: "1", optional: true},
				{ctrl: "blkio", file: "a.max", value: "1\n2\n"},
			},
			want: map[string]string{"blkio.bfq.weight": "500", "a.max": "1\n2\n"},
		},
		{name: "missing file", files: []string{}, ws: []write{{ctrl: "blkio", file: "blkio.weight", value: "5"}}, err: "set blkio.weight"},
		{name: "missing hierarchy", ws: []write{{ctrl: "net_cls", file: "net_cls.classid", value: "1"}}, err: "the host has no net_cls cgroup"},
		{name: "optional in a missing hierarchy", ws: []write{{ctrl: "net_cls", file: "net_cls.classid", value: "1", optional: true}}, want: map[string]string{}},
		{name: "read back", files: []string{"cpu.shares"}, ws: []write{{ctrl: "blkio", file: "cpu.shares", value: "512", readBack: true}}, want: map[string]string{"cpu.shares": "512"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tc.files {
				if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			err := applyWrites(func(ctrl string) (string, bool) { return dir, ctrl == "blkio" }, tc.ws)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for f, want := range tc.want {
				data, err := os.ReadFile(filepath.Join(dir, f))
				if err != nil || string(data) != want {
					t.Errorf("%s = %q, %v; want %q", f, data, err, want)
				}
			}
		})
	}
}

func TestCheckKept(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ wrote, kept, err string }{
		{wrote: "1", kept: "2\n", err: "cpu.shares 1: the minimum allowed is 2"},
		{wrote: "300000", kept: "262144\n", err: "cpu.shares 300000: the maximum allowed is 262144"},
		{wrote: "512", kept: "512\n"},
	} {
		if err := os.WriteFile(filepath.Join(dir, "cpu.shares"), []byte(tc.kept), 0o644); err != nil {
			t.Fatal(err)
		}
		err := write{file: "cpu.shares", value: tc.wrote}.checkKept(dir)
		if (tc.err == "" && err != nil) || (tc.err != "" && (err == nil || err.Error() != tc.err)) {
			t.Errorf("wrote %s, kept %q: %v, want %q", tc.wrote, tc.kept, err, tc.err)
		}
	}
}

func TestV1RefusesUnified(t *testing.T) {
	_, _, err := v1Plan(&specs.LinuxResources{Unified: map[string]string{"memory.high": "1G"}})
	if !errors.Is(err, ErrUnifiedOnV1) {
		t.Fatalf("error = %v, want ErrUnifiedOnV1", err)
	}
}
