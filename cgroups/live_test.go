package cgroups

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/cgroups/v3"
	v1stats "github.com/containerd/cgroups/v3/cgroup1/stats"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestMain lets the test binary be a process that eats memory, to be
// OOM-killed inside a test cgroup.
func TestMain(m *testing.M) {
	if os.Getenv("CGROUPS_TEST_HOG") == "1" {
		var hog [][]byte
		for {
			b := make([]byte, 1<<20)
			for i := range b {
				b[i] = 1
			}
			hog = append(hog, b)
		}
	}
	code := m.Run()
	removeTestParents()
	os.Exit(code)
}

// removeTestParents removes the parent cgroup the tests created in every
// hierarchy; each test removes its own.
func removeTestParents() {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/containerd-shim-wasm-test")
	dirs = append(dirs, "/sys/fs/cgroup/containerd-shim-wasm-test")
	for _, d := range dirs {
		_ = os.Remove(d)
	}
}

func needRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("cgroup tests create cgroups: run as root")
	}
}

func testPath(t *testing.T) string {
	return fmt.Sprintf("/containerd-shim-wasm-test/%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), os.Getpid())
}

// startIn starts a process (sleep, or the memory hog) in cg.
func startIn(t *testing.T, cg Cgroup, hog bool) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if hog {
		cmd = exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "CGROUPS_TEST_HOG=1")
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if err := cg.Add(cmd.Process.Pid); err != nil {
		t.Fatal(err)
	}
	return cmd
}

func TestV1Live(t *testing.T) {
	needRoot(t)
	if cgroups.Mode() == cgroups.Unified {
		t.Skip("host has no v1 hierarchies")
	}
	limit, pids, quota, period := int64(32<<20), int64(20), int64(50000), uint64(100000)
	path := testPath(t)
	cg, err := New(path, &specs.LinuxResources{
		Memory: &specs.LinuxMemory{Limit: &limit},
		Pids:   &specs.LinuxPids{Limit: &pids},
		CPU:    &specs.LinuxCPU{Quota: &quota, Period: &period},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cg.Delete() })
	assertFile(t, "/sys/fs/cgroup/memory"+path+"/memory.limit_in_bytes", "33554432")
	assertFile(t, "/sys/fs/cgroup/pids"+path+"/pids.max", "20")
	assertFile(t, "/sys/fs/cgroup/cpu"+path+"/cpu.cfs_quota_us", "50000")

	newLimit := int64(48 << 20)
	if err := cg.Update(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &newLimit}}); err != nil {
		t.Fatal(err)
	}
	assertFile(t, "/sys/fs/cgroup/memory"+path+"/memory.limit_in_bytes", "50331648")

	cmd := startIn(t, cg, false)
	got, err := cg.Pids()
	if err != nil || !slices.Contains(got, cmd.Process.Pid) {
		t.Fatalf("Pids() = %v, %v; want it to hold %d", got, err, cmd.Process.Pid)
	}
	if err := cg.Freeze(); err != nil {
		t.Fatal(err)
	}
	assertFile(t, "/sys/fs/cgroup/freezer"+path+"/freezer.state", "FROZEN")
	if err := cg.Thaw(); err != nil {
		t.Fatal(err)
	}
	assertFile(t, "/sys/fs/cgroup/freezer"+path+"/freezer.state", "THAWED")

	st, err := cg.Stats()
	if err != nil {
		t.Fatal(err)
	}
	m, ok := st.(*v1stats.Metrics)
	if !ok || m.Pids == nil || m.Pids.Current != 1 || m.Memory == nil || m.Memory.Usage.Limit != uint64(newLimit) {
		t.Fatalf("stats = %+v", st)
	}

	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if err := cg.Delete(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat("/sys/fs/cgroup/memory" + path); !os.IsNotExist(err) {
		t.Fatalf("cgroup dir still there after Delete: %v", err)
	}
}

// nerdctl sends realtimeRuntime and realtimePeriod as 0 on every run; the
// kernel refuses a 0 in cpu.rt_period_us, so they must not be written.
func TestV1LiveTakesZeroedResources(t *testing.T) {
	needRoot(t)
	if cgroups.Mode() == cgroups.Unified {
		t.Skip("host has no v1 hierarchies")
	}
	path := testPath(t)
	zero := &specs.LinuxResources{
		CPU:    &specs.LinuxCPU{Shares: ptr(uint64(0)), Quota: ptr(int64(0)), Period: ptr(uint64(0)), RealtimeRuntime: ptr(int64(0)), RealtimePeriod: ptr(uint64(0))},
		Memory: &specs.LinuxMemory{Limit: ptr(int64(0)), Swap: ptr(int64(0)), Swappiness: ptr(uint64(math.MaxUint64))},
		Pids:   &specs.LinuxPids{Limit: ptr(int64(0))},
	}
	cg, err := New(path, zero)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cg.Delete() })
	assertFile(t, "/sys/fs/cgroup/cpu"+path+"/cpu.cfs_quota_us", "-1")
	assertFile(t, "/sys/fs/cgroup/pids"+path+"/pids.max", "max")
	if err := cg.Update(zero); err != nil {
		t.Fatal(err)
	}
	if err := cg.Update(&specs.LinuxResources{Unified: map[string]string{"pids.max": "5"}}); !errors.Is(err, ErrUnifiedOnV1) {
		t.Fatalf("Update with unified on v1: %v, want ErrUnifiedOnV1", err)
	}
}

func TestV1OOMIsReported(t *testing.T) {
	needRoot(t)
	if cgroups.Mode() == cgroups.Unified {
		t.Skip("host has no v1 hierarchies")
	}
	limit := int64(16 << 20)
	cg, err := New(testPath(t), &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cg.Delete() })
	ooms := make(chan struct{}, 8)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := cg.WatchOOM(ctx, func() { ooms <- struct{}{} }); err != nil {
		t.Fatal(err)
	}
	cmd := startIn(t, cg, true)
	err = cmd.Wait()
	if err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("the memory hog ended with %v, want killed", err)
	}
	select {
	case <-ooms:
	case <-time.After(10 * time.Second):
		t.Fatal("no OOM reported")
	}
}

// TestV2Live runs against the host's cgroup2 mount. In a hybrid layout it
// has no controllers, but creation, membership, freezing and deletion are
// core cgroup2 features.
func TestV2Live(t *testing.T) {
	needRoot(t)
	mountpoint := unifiedMountpoint
	if cgroups.Mode() != cgroups.Unified {
		mountpoint = "/sys/fs/cgroup/unified"
	}
	if _, err := os.Stat(filepath.Join(mountpoint, "cgroup.controllers")); err != nil {
		t.Skip("no cgroup2 mount")
	}
	path := testPath(t)
	cg, err := newV2(mountpoint, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cg.Delete() })
	cmd := startIn(t, cg, false)
	got, err := cg.Pids()
	if err != nil || !slices.Equal(got, []int{cmd.Process.Pid}) {
		t.Fatalf("Pids() = %v, %v", got, err)
	}
	if err := cg.Freeze(); err != nil {
		t.Fatal(err)
	}
	assertFile(t, filepath.Join(mountpoint, path, "cgroup.freeze"), "1")
	if err := cg.Thaw(); err != nil {
		t.Fatal(err)
	}
	assertFile(t, filepath.Join(mountpoint, path, "cgroup.freeze"), "0")
	// unified keys are written as is; cgroup.max.depth is a core file
	// every cgroup2 directory has, controllers or not.
	if err := cg.Update(&specs.LinuxResources{Unified: map[string]string{"cgroup.max.depth": "3"}}); err != nil {
		t.Fatal(err)
	}
	assertFile(t, filepath.Join(mountpoint, path, "cgroup.max.depth"), "3")
	if err := cg.Update(&specs.LinuxResources{Unified: map[string]string{"nosuch.file": "1"}}); err == nil || !strings.Contains(err.Error(), "nosuch.file") {
		t.Fatalf("an unknown unified key: %v", err)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if err := cg.Delete(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(mountpoint, path)); !os.IsNotExist(err) {
		t.Fatalf("cgroup dir still there after Delete: %v", err)
	}
}

func assertFile(t *testing.T, path, want string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(data)); got != want {
		t.Fatalf("%s = %q, want %q", path, got, want)
	}
}

// blockDevice is the major:minor of a disk of this host, for throttles.
func blockDevice(t *testing.T) (int64, int64) {
	t.Helper()
	devs, _ := filepath.Glob("/sys/block/*/dev")
	for _, d := range devs {
		if strings.Contains(d, "/loop") || strings.Contains(d, "/zram") {
			continue
		}
		data, err := os.ReadFile(d)
		if err != nil {
			continue
		}
		var major, minor int64
		if _, err := fmt.Sscanf(strings.TrimSpace(string(data)), "%d:%d", &major, &minor); err == nil {
			return major, minor
		}
	}
	t.Skip("no block device to throttle")
	return 0, 0
}

// TestV1LiveAsRunc creates cgroups from resources runc takes and reads
// back what the kernel holds; files are "hierarchy/file".
func TestV1LiveAsRunc(t *testing.T) {
	needRoot(t)
	if cgroups.Mode() == cgroups.Unified {
		t.Skip("host has no v1 hierarchies")
	}
	major, minor := blockDevice(t)
	mounted := func(ctrl string) bool {
		_, err := os.Stat("/sys/fs/cgroup/" + ctrl + "/cgroup.procs")
		return err == nil
	}
	for _, tc := range []struct {
		name  string
		in    *specs.LinuxResources
		files map[string]string
		err   string
		skip  bool
	}{
		{
			name: "nerdctl limits",
			in:   nerdctlLimits(),
			files: map[string]string{
				"memory/memory.limit_in_bytes":       "67108864",
				"memory/memory.memsw.limit_in_bytes": "134217728",
				"cpu/cpu.shares":                     "512",
				"cpu/cpu.cfs_period_us":              "100000",
				"cpu/cpu.cfs_quota_us":               "50000",
				"cpu/cpu.rt_period_us":               "1000000",
				"pids/pids.max":                      "20",
			},
		},
		{
			name: "cpu burst, idle, realtime period",
			in: &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: ptr(int64(20000)), Period: ptr(uint64(50000)), Burst: ptr(uint64(10000)),
				Idle: ptr(int64(1)), RealtimePeriod: ptr(uint64(500000))}},
			files: map[string]string{
				"cpu/cpu.cfs_quota_us": "20000", "cpu/cpu.cfs_period_us": "50000", "cpu/cpu.cfs_burst_us": "10000",
				"cpu/cpu.idle": "1", "cpu/cpu.rt_period_us": "500000",
			},
		},
		{
			name: "memory extras",
			in: &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: ptr(int64(-1)), Reservation: ptr(int64(16 << 20)),
				Swappiness: ptr(uint64(10)), DisableOOMKiller: ptr(true), KernelTCP: ptr(int64(1 << 20))}},
			files: map[string]string{
				"memory/memory.limit_in_bytes":       "9223372036854771712",
				"memory/memory.memsw.limit_in_bytes": "9223372036854771712",
				"memory/memory.soft_limit_in_bytes":  "16777216",
				"memory/memory.swappiness":           "10",
				// runc ignores kernelTCP: the kernel's default stays.
				"memory/memory.kmem.tcp.limit_in_bytes": "9223372036854771712",
			},
		},
		{
			name:  "pids -1",
			in:    &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(-1))}},
			files: map[string]string{"pids/pids.max": "max"},
		},
		{
			name: "block io throttles",
			in: &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{
				ThrottleReadBpsDevice:   []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: major, Minor: minor}, Rate: 1 << 20}},
				ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{LinuxBlockIODevice: specs.LinuxBlockIODevice{Major: major, Minor: minor}, Rate: 50}},
			}},
			files: map[string]string{
				"blkio/blkio.throttle.read_bps_device":   fmt.Sprintf("%d:%d 1048576", major, minor),
				"blkio/blkio.throttle.write_iops_device": fmt.Sprintf("%d:%d 50", major, minor),
			},
		},
		{
			name:  "deny all keeps runc's default devices",
			in:    &specs.LinuxResources{Devices: denyAll},
			files: map[string]string{"devices/devices.list": "c *:* m\nb *:* m\nc 1:3 rwm\nc 1:8 rwm\nc 1:7 rwm\nc 5:0 rwm\nc 1:5 rwm\nc 1:9 rwm\nc 136:* rwm\nc 5:2 rwm\nc 10:200 rwm"},
		},
		{name: "shares the kernel clamps", in: &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: ptr(uint64(1))}}, err: "cpu.shares 1: the minimum allowed is 2"},
		{name: "class id without net_cls", in: &specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: ptr(uint32(1))}}, err: "the host has no net_cls cgroup", skip: mounted("net_cls")},
		{name: "hugepages without hugetlb", in: &specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 0}}}, err: "the host has no hugetlb cgroup", skip: mounted("hugetlb")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.skip {
				t.Skip("the host mounts the hierarchy")
			}
			path := testPath(t)
			cg, err := New(path, tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error = %v, want %q", err, tc.err)
				}
				if _, err := os.Stat("/sys/fs/cgroup/cpu" + path); !os.IsNotExist(err) {
					t.Fatalf("a refused cgroup is left behind: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = cg.Delete() })
			for f, want := range tc.files {
				ctrl, file, _ := strings.Cut(f, "/")
				assertFile(t, filepath.Join("/sys/fs/cgroup", ctrl, path, file), want)
			}
		})
	}
}

// Raising memory above the current memory+swap limit needs the swap
// limit first, lowering it the memory first: runc orders the writes by
// the current limit, the shim retries the one the kernel refused.
func TestV1LiveMemoryAndSwapUpdates(t *testing.T) {
	needRoot(t)
	if cgroups.Mode() == cgroups.Unified {
		t.Skip("host has no v1 hierarchies")
	}
	path := testPath(t)
	limits := func(mem, swap int64) *specs.LinuxResources {
		return &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &mem, Swap: &swap}}
	}
	cg, err := New(path, limits(32<<20, 64<<20))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cg.Delete() })
	dir := "/sys/fs/cgroup/memory" + path
	for _, l := range [][2]int64{{128 << 20, 256 << 20}, {16 << 20, 32 << 20}, {64 << 20, -1}, {8 << 20, 8 << 20}} {
		if err := cg.Update(limits(l[0], l[1])); err != nil {
			t.Fatalf("update to memory %d, memory+swap %d: %v", l[0], l[1], err)
		}
		assertFile(t, dir+"/memory.limit_in_bytes", fmt.Sprint(l[0]))
		swap := fmt.Sprint(l[1])
		if l[1] == -1 {
			swap = "9223372036854771712"
		}
		assertFile(t, dir+"/memory.memsw.limit_in_bytes", swap)
	}
	// An update to unlimited pids writes max, which the library skipped.
	if err := cg.Update(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(3))}}); err != nil {
		t.Fatal(err)
	}
	if err := cg.Update(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(-1))}}); err != nil {
		t.Fatal(err)
	}
	assertFile(t, "/sys/fs/cgroup/pids"+path+"/pids.max", "max")
}

// On a hybrid host the cgroup2 mount may hold hugetlb: the one v2
// controller these tests can use. The shim enables it in the parents
// (runc enables every controller) and writes the limit and reservation.
func TestV2LiveHugetlb(t *testing.T) {
	needRoot(t)
	mountpoint := unifiedMountpoint
	if cgroups.Mode() != cgroups.Unified {
		mountpoint = "/sys/fs/cgroup/unified"
	}
	ctrls, err := os.ReadFile(filepath.Join(mountpoint, "cgroup.controllers"))
	if err != nil || !slices.Contains(strings.Fields(string(ctrls)), "hugetlb") {
		t.Skip("no hugetlb controller on the cgroup2 mount")
	}
	if _, err := os.Stat("/sys/kernel/mm/hugepages/hugepages-2048kB"); err != nil {
		t.Skip("no 2MB huge pages")
	}
	rootControl := filepath.Join(mountpoint, "cgroup.subtree_control")
	before, err := os.ReadFile(rootControl)
	if err != nil {
		t.Fatal(err)
	}
	path := testPath(t)
	if !slices.Contains(strings.Fields(string(before)), "hugetlb") {
		// Leave the host as found: the test parent's control first, as
		// the kernel keeps a controller its children use.
		parentControl := filepath.Join(mountpoint, filepath.Dir(path), "cgroup.subtree_control")
		t.Cleanup(func() {
			_ = os.WriteFile(parentControl, []byte("-hugetlb"), 0)
			if err := os.WriteFile(rootControl, []byte("-hugetlb"), 0); err != nil {
				t.Errorf("disable hugetlb again: %v", err)
			}
		})
	}
	cg, err := newV2(mountpoint, path, &specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 20}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cg.Delete() })
	assertFile(t, filepath.Join(mountpoint, path, "hugetlb.2MB.max"), "4194304")
	if _, err := os.Stat(filepath.Join(mountpoint, path, "hugetlb.2MB.rsvd.max")); err == nil {
		assertFile(t, filepath.Join(mountpoint, path, "hugetlb.2MB.rsvd.max"), "4194304")
	}
	if err := cg.Update(&specs.LinuxResources{Unified: map[string]string{"hugetlb.2MB.max": "2097152"}}); err != nil {
		t.Fatal(err)
	}
	assertFile(t, filepath.Join(mountpoint, path, "hugetlb.2MB.max"), "2097152")
	// A v2 limit of a controller the mount lacks is refused, not dropped.
	if !slices.Contains(strings.Fields(string(ctrls)), "pids") {
		err := cg.Update(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(5))}})
		if err == nil || !strings.Contains(err.Error(), "pids.max") {
			t.Fatalf("pids.max without a pids controller: %v", err)
		}
	}
}
