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
