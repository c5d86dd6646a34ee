package cgroups

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func ptr[T any](v T) *T { return &v }

// nerdctlResources is what nerdctl v2 sends for `nerdctl run` without
// limits: oci.WithCPURT(0, 0) on every container.
func nerdctlResources() *specs.LinuxResources {
	return &specs.LinuxResources{
		CPU: &specs.LinuxCPU{RealtimeRuntime: ptr(int64(0)), RealtimePeriod: ptr(uint64(0))},
		Devices: []specs.LinuxDeviceCgroup{
			{Allow: false, Access: "rwm"},
		},
	}
}

func TestAsRuncApplies(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in, out *specs.LinuxResources
		err     string
	}{
		{name: "nil", in: nil, out: &specs.LinuxResources{}},
		{
			name: "nerdctl realtime zeros",
			in:   nerdctlResources(),
			out: &specs.LinuxResources{
				CPU:     &specs.LinuxCPU{},
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			},
		},
		{
			name: "every zero is unset",
			in: &specs.LinuxResources{
				CPU: &specs.LinuxCPU{Shares: ptr(uint64(0)), Quota: ptr(int64(0)), Period: ptr(uint64(0)), Cpus: "", Mems: ""},
				Memory: &specs.LinuxMemory{
					Limit: ptr(int64(0)), Reservation: ptr(int64(0)), Swap: ptr(int64(0)),
					KernelTCP: ptr(int64(0)), Kernel: ptr(int64(0)), DisableOOMKiller: ptr(false),
					Swappiness: ptr(uint64(math.MaxUint64)),
				},
				Pids:    &specs.LinuxPids{Limit: ptr(int64(0))},
				BlockIO: &specs.LinuxBlockIO{Weight: ptr(uint16(0)), LeafWeight: ptr(uint16(0))},
				Network: &specs.LinuxNetwork{ClassID: ptr(uint32(0))},
			},
			out: &specs.LinuxResources{
				CPU: &specs.LinuxCPU{}, Memory: &specs.LinuxMemory{}, Pids: &specs.LinuxPids{},
				BlockIO: &specs.LinuxBlockIO{}, Network: &specs.LinuxNetwork{},
			},
		},
		{
			name: "values are kept",
			in: &specs.LinuxResources{
				CPU:    &specs.LinuxCPU{Shares: ptr(uint64(512)), Quota: ptr(int64(-1)), Period: ptr(uint64(100000)), RealtimePeriod: ptr(uint64(1000000)), Cpus: "0"},
				Memory: &specs.LinuxMemory{Limit: ptr(int64(-1)), Swappiness: ptr(uint64(0)), DisableOOMKiller: ptr(true)},
				Pids:   &specs.LinuxPids{Limit: ptr(int64(-1))},
			},
			out: &specs.LinuxResources{
				CPU:    &specs.LinuxCPU{Shares: ptr(uint64(512)), Quota: ptr(int64(-1)), Period: ptr(uint64(100000)), RealtimePeriod: ptr(uint64(1000000)), Cpus: "0"},
				Memory: &specs.LinuxMemory{Limit: ptr(int64(-1)), Swappiness: ptr(uint64(0)), DisableOOMKiller: ptr(true)},
				Pids:   &specs.LinuxPids{Limit: ptr(int64(-1))},
			},
		},
		{
			name: "swappiness out of range",
			in:   &specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: ptr(uint64(101))}},
			err:  "memory swappiness 101: the valid range is 0-100",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := asRuncApplies(tc.in)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.out) {
				t.Fatalf("got %+v\nwant %+v", got, tc.out)
			}
		})
	}
}

// The caller's spec is read, never written: containerd's clients reuse it.
func TestAsRuncAppliesLeavesItsInputAlone(t *testing.T) {
	in := nerdctlResources()
	if _, err := asRuncApplies(in); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(in, nerdctlResources()) {
		t.Fatalf("input changed to %+v", in)
	}
}

func TestV1RefusesUnified(t *testing.T) {
	_, err := v1Resources(&specs.LinuxResources{Unified: map[string]string{"memory.high": "1G"}})
	if !errors.Is(err, ErrUnifiedOnV1) {
		t.Fatalf("error = %v, want ErrUnifiedOnV1", err)
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
		{memSwap: 100, mem: 0, err: "without a memory limit"},
		{memSwap: 100, mem: -1, err: "without a memory limit"},
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

func TestV2ResourcesAsRuncWritesThem(t *testing.T) {
	for _, tc := range []struct {
		name   string
		in     *specs.LinuxResources
		cpuMax string
		files  map[string]string
		err    string
	}{
		{name: "nerdctl", in: nerdctlResources(), files: map[string]string{}},
		{name: "quota alone", in: &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: ptr(int64(50000))}}, cpuMax: "50000", files: map[string]string{}},
		{name: "quota -1", in: &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: ptr(int64(-1)), Period: ptr(uint64(100000))}}, cpuMax: "max 100000", files: map[string]string{}},
		{
			name:  "unlimited memory",
			in:    &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(-1))}},
			files: map[string]string{"memory.max": "max", "memory.swap.max": "max"},
		},
		{
			name:  "unified",
			in:    &specs.LinuxResources{Unified: map[string]string{"memory.high": "1073741824"}},
			files: map[string]string{"memory.high": "1073741824"},
		},
		{name: "unified escape", in: &specs.LinuxResources{Unified: map[string]string{"../memory.max": "1"}}, err: "not a cgroup2 file name"},
		{name: "unified dot-dot", in: &specs.LinuxResources{Unified: map[string]string{"..": "1"}}, err: "not a cgroup2 file name"},
		{name: "swap without limit", in: &specs.LinuxResources{Memory: &specs.LinuxMemory{Swap: ptr(int64(1 << 20))}}, err: "without a memory limit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, files, err := v2Resources(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var cpuMax string
			if res.CPU != nil {
				cpuMax = string(res.CPU.Max)
				if res.CPU.Weight != nil {
					t.Errorf("cpu.weight = %d, want unset", *res.CPU.Weight)
				}
			}
			if cpuMax != tc.cpuMax {
				t.Errorf("cpu.max = %q, want %q", cpuMax, tc.cpuMax)
			}
			if !reflect.DeepEqual(files, tc.files) {
				t.Errorf("files = %v, want %v", files, tc.files)
			}
		})
	}
}
