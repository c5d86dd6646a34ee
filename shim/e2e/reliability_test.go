package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/hack/privatecontainerd"
)

// exitBound is how long containerd may take to notice that a task is gone
// after its shim died, or to pass on an exit after a restart.
const exitBound = 30 * time.Second

// restart SIGKILLs containerd and starts it again with the same config,
// root, state and socket, as a node whose containerd crashed and was
// brought back by its service manager. Shims keep running meanwhile.
func (d *daemon) restart(t *testing.T) {
	t.Helper()
	if err := d.Restart(); err != nil {
		t.Fatalf("restart containerd: %v", err)
	}
}

// bundleDir is the runtime's state folder of container id, where the shim
// bootstrap leaves shim.pid and address.
func bundleDir(id string) string {
	d := suite.daemon
	return filepath.Join(d.State, "io.containerd.runtime.v2.task", d.ns, id)
}

func shimPid(t *testing.T, id string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(bundleDir(id), "shim.pid"))
	if err != nil {
		t.Fatalf("shim pid of %s: %v", id, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("shim.pid of %s: %q", id, b)
	}
	return pid
}

func parentOf(pid int) int {
	stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	ppid, _ := strconv.Atoi(statField(stat, 4))
	return ppid
}

// waitGone polls until pid no longer exists (a zombie counts as gone: its
// parent, the dead shim, is no longer there to reap it, init will).
func waitGone(pid int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || statField(stat, 3) == "Z" {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// taskStatus is the STATUS column of `ctr task ls` for id, or "" when the
// task is not listed.
func taskStatus(t *testing.T, id string) string {
	t.Helper()
	out, errOut, exit := suite.daemon.ctrCmd(nil, nil, "task", "ls")
	if exit != 0 {
		t.Fatalf("ctr task ls: %s", errOut)
	}
	for _, l := range lines(out) {
		if f := strings.Fields(l); len(f) >= 3 && f[0] == id {
			return f[2]
		}
	}
	return ""
}

// TestShimDeath: when a shim is SIGKILLed, its task child dies with it
// (Pdeathsig), containerd reports the task as exited instead of hanging,
// the task and the container can be deleted, and nothing is left behind.
func TestShimDeath(t *testing.T) {
	needDaemon(t)
	for _, c := range []struct {
		name string
		args []string
		spin bool
	}{
		{"busyloop", []string{"/busyloop.wasm"}, true},
		{"sleep", []string{demoModule, "sleep", "60"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := watchEvents(t)
			before := snapshotLeftovers("")
			var id string
			var pid int
			if c.spin {
				id, pid = startSpinning(t, c.args)
			} else {
				id = startDetached(t, c.args)
				var status string
				if pid, status = taskRow(t, id); status != "RUNNING" {
					t.Fatalf("task %s is %s, want RUNNING", id, status)
				}
			}
			shim := shimPid(t, id)
			if p := parentOf(pid); p != shim {
				t.Fatalf("task pid %d has parent %d, want the shim %d", pid, p, shim)
			}
			if err := syscall.Kill(shim, syscall.SIGKILL); err != nil {
				t.Fatalf("kill shim %d: %v", shim, err)
			}
			start := time.Now()
			if !waitGone(pid, 10*time.Second) {
				t.Errorf("task child %d outlived its shim %d by 10s", pid, shim)
			}
			e, ok := w.wait(exitBound, exitEvent(id))
			if !ok {
				t.Errorf("no /tasks/exit for %s within %v of the shim's death", id, exitBound)
			} else {
				t.Logf("exit event after %v: %s", e.at.Sub(start).Round(time.Millisecond), e.body)
			}
			// containerd deletes the task of a dead shim itself; if it is
			// still listed, it must not claim to run and delete must work.
			deadline := time.Now().Add(exitBound)
			status := taskStatus(t, id)
			for status == "RUNNING" && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
				status = taskStatus(t, id)
			}
			t.Logf("ctr task ls after the shim's death: %q", status)
			if status == "RUNNING" {
				t.Fatalf("task %s still RUNNING %v after its shim died", id, exitBound)
			}
			if status != "" {
				if _, errOut, exit := runCtr(t, "task", "delete", id); exit != 0 && taskStatus(t, id) != "" {
					t.Errorf("ctr task delete: exit %d: %s", exit, errOut)
				}
			}
			if _, errOut, exit := runCtr(t, "containers", "delete", id); exit != 0 {
				t.Errorf("ctr containers delete: exit %d: %s", exit, errOut)
			}
			expectNoLeftovers(t, before, id)
		})
	}
}

// TestDaemonRestart: containerd is SIGKILLed and restarted while a wasm
// task runs. The task is still RUNNING afterwards with the same pid, its
// output keeps flowing (a report file in a bind mount, stdout into a
// file:// log), and when it is killed the exit reaches containerd: as an
// event (the shim's publisher reconnects), through Wait of a Go client
// connected after the restart, and in ctr task ls.
func TestDaemonRestart(t *testing.T) {
	d := needDaemon(t)
	host, err := os.MkdirTemp(d.Dir, "restart")
	if err != nil {
		t.Fatal(err)
	}
	report := filepath.Join(host, "spin.txt")
	logPath := filepath.Join(host, "stdout.log")
	before := snapshotLeftovers("")
	id := containerID(t)
	a := append([]string{"run", "-d"}, runFlags()...)
	a = append(a, "--log-uri", "file://"+logPath,
		"--mount", fmt.Sprintf("type=bind,src=%s,dst=/out,options=rbind:rw", host),
		testdataImage, id, "/spin.wasm", "/out/spin.txt")
	if _, errOut, exit := runCtr(t, a...); exit != 0 {
		t.Fatalf("ctr run -d failed (%d): %s", exit, errOut)
	}
	t.Cleanup(func() { removeContainer(t, id) })
	pid, status := taskRow(t, id)
	if status != "RUNNING" {
		t.Fatalf("task %s is %s, want RUNNING", id, status)
	}
	iters, logLen := waitProgress(t, report, logPath, 0, 0)

	d.restart(t)
	t.Logf("containerd restarted")
	if p, status := taskRow(t, id); status != "RUNNING" || p != pid {
		t.Fatalf("after the restart: task %s pid %d %s, want pid %d RUNNING", id, p, status, pid)
	}
	waitProgress(t, report, logPath, iters, logLen)

	w := watchEvents(t)
	c, ctx := newClient(t)
	ctr, err := c.LoadContainer(ctx, id)
	if err != nil {
		t.Fatalf("load container after the restart: %v", err)
	}
	task, err := ctr.Task(ctx, nil)
	if err != nil {
		t.Fatalf("task after the restart: %v", err)
	}
	statusC, err := task.Wait(ctx)
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	if err := task.Kill(ctx, syscall.SIGKILL); err != nil {
		t.Fatalf("kill: %v", err)
	}
	var st client.ExitStatus
	select {
	case st = <-statusC:
	case <-time.After(exitBound):
		t.Fatalf("Wait returned nothing within %v of the kill", exitBound)
	}
	if st.ExitCode() != 137 {
		t.Errorf("Wait: exit %d (%v), want 137", st.ExitCode(), st.Error())
	}
	if e, ok := w.wait(exitBound, exitEvent(id)); !ok {
		t.Errorf("no /tasks/exit event for %s after the restart: the shim's events are lost", id)
	} else if e.exitStatus() != 137 {
		t.Errorf("exit event %s, want status 137", e.body)
	}
	if status := taskStatus(t, id); status != "STOPPED" {
		t.Errorf("ctr task ls after the kill: %q, want STOPPED", status)
	}
	if _, err := task.Delete(ctx); err != nil {
		t.Errorf("delete task: %v", err)
	}
	if _, errOut, exit := runCtr(t, "containers", "delete", id); exit != 0 {
		t.Errorf("ctr containers delete: exit %d: %s", exit, errOut)
	}
	// The watcher started after the snapshot; its ctr would count.
	w.cmd.Process.Kill()
	<-w.done
	w.cmd.Wait()
	expectNoLeftovers(t, before, id)
}

// waitProgress waits until spin's report shows more than iters iterations
// and its stdout log is longer than logLen, and returns both new values.
func waitProgress(t *testing.T, report, logPath string, iters int64, logLen int) (int64, int) {
	t.Helper()
	deadline := time.Now().Add(exitBound)
	var gotIters int64
	var gotLen int
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(report); err == nil {
			for _, l := range lines(string(b)) {
				if n, ok := strings.CutPrefix(l, "iterations "); ok {
					gotIters, _ = strconv.ParseInt(n, 10, 64)
				}
			}
		}
		if b, err := os.ReadFile(logPath); err == nil {
			// Whole lines only: a line is written in one go.
			gotLen = bytes.LastIndexByte(b, '\n') + 1
		}
		if gotIters > iters && gotLen > logLen {
			return gotIters, gotLen
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("no progress within %v: report %d iterations (was %d), stdout log %d bytes (was %d)", exitBound, gotIters, iters, gotLen, logLen)
	return 0, 0
}

// envInt reads a count from the environment, or returns def.
func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		t.Fatalf("%s=%q: want a count", name, v)
	}
	return n
}

// hostCounts is what churn must not leak: mounts under the daemon's
// directory, cgroup folders under the namespace's, processes of the shim
// binary (this daemon's shims and their task children), and containerd's
// open fds.
type hostCounts struct {
	mounts, cgroups, shimProcs, daemonFds int
}

// settledCount counts once the counts have held still for a second (or
// timeout passed): a shim whose task was just deleted, by this test or the
// one before, takes a moment to exit, and must not be in the baseline.
func settledCount(timeout time.Duration) hostCounts {
	const still = time.Second
	c := countHost()
	since := time.Now()
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline) && time.Since(since) < still; {
		time.Sleep(100 * time.Millisecond)
		if n := countHost(); n != c {
			c, since = n, time.Now()
		}
	}
	return c
}

func countHost() hostCounts {
	d := suite.daemon
	var c hostCounts
	c.mounts = len(privatecontainerd.MountsUnder(d.Dir))
	for _, dir := range cgroupDirsNamed(d.ns) {
		filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
			if err == nil && e.IsDir() && path != dir {
				c.cgroups++
			}
			return nil
		})
	}
	// This daemon's shims name its address; their task children are
	// their children, or in the namespace's cgroups once orphaned. Other
	// runs on the host have shims of their own.
	procs := processes()
	shims := map[int]bool{}
	for _, p := range procs {
		if isShimExe(p) && strings.Contains(p.cmdline, d.Address) {
			shims[p.pid] = true
		}
	}
	for _, p := range procs {
		if !isShimExe(p) {
			continue
		}
		cg, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", p.pid))
		if shims[p.pid] || shims[p.ppid] || bytes.Contains(cg, []byte(d.ns)) {
			c.shimProcs++
		}
	}
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", d.Pid()))
	c.daemonFds = len(fds)
	return c
}

func isShimExe(p proc) bool {
	return filepath.Base(strings.TrimSuffix(p.exe, " (deleted)")) == shimBinary
}

// churnOne runs one container through the Go client: create, start, and
// either wait for its exit (kill == nil) or run kill once it runs and then
// wait; then delete the task and the container with its snapshot.
func churnOne(ctx context.Context, c *client.Client, img client.Image, id string, args []string, want uint32, kill func(client.Task) error) error {
	ctr, err := c.NewContainer(ctx, id,
		client.WithImage(img),
		client.WithNewSnapshot(id+"-snapshot", img),
		client.WithRuntime(runtimeName, nil),
		client.WithNewSpec(oci.WithImageConfig(img), oci.WithProcessArgs(args...)),
	)
	if err != nil {
		return fmt.Errorf("new container %s: %w", id, err)
	}
	defer ctr.Delete(context.WithoutCancel(ctx), client.WithSnapshotCleanup)
	var out bytes.Buffer
	task, err := ctr.NewTask(ctx, goIO(nil, &out, io.Discard))
	if err != nil {
		return fmt.Errorf("new task %s: %w", id, err)
	}
	defer task.Delete(context.WithoutCancel(ctx), client.WithProcessKill)
	statusC, err := task.Wait(ctx)
	if err != nil {
		return fmt.Errorf("wait %s: %w", id, err)
	}
	if err := task.Start(ctx); err != nil {
		return fmt.Errorf("start %s: %w", id, err)
	}
	if kill != nil {
		if err := kill(task); err != nil {
			return fmt.Errorf("kill %s: %w", id, err)
		}
	}
	select {
	case st := <-statusC:
		if st.ExitCode() != want {
			return fmt.Errorf("%s exited %d (%v), want %d; output %q", id, st.ExitCode(), st.Error(), want, out.String())
		}
	case <-ctx.Done():
		return fmt.Errorf("%s did not exit: %w", id, ctx.Err())
	}
	if _, err := task.Delete(ctx); err != nil {
		return fmt.Errorf("delete task %s: %w", id, err)
	}
	if err := ctr.Delete(ctx, client.WithSnapshotCleanup); err != nil {
		return fmt.Errorf("delete container %s: %w", id, err)
	}
	return nil
}

// inParallel runs f(0..n-1) with at most width at a time and returns the
// errors, at most a few of them.
func inParallel(n, width int, f func(i int) error) []error {
	sem := make(chan struct{}, width)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			if err := f(i); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		}(i)
	}
	wg.Wait()
	return errs
}

// TestChurn: E2E_CHURN containers (200) run hello to completion, 20 at a
// time, then E2E_CHURN_KILLED (50) busy loops are started at once and
// SIGKILLed mid-run. Afterwards the mounts, cgroups, shim and task child
// processes and containerd's open fds are back to where they started.
func TestChurn(t *testing.T) {
	needDaemon(t)
	runs := envInt(t, "E2E_CHURN", 200)
	killed := envInt(t, "E2E_CHURN_KILLED", 50)
	const width = 20
	c, _ := newClient(t)
	ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), suite.daemon.ns), 10*time.Minute)
	defer cancel()
	img, err := c.GetImage(ctx, testdataImage)
	if err != nil {
		t.Fatalf("get image: %v", err)
	}
	// One run first, so that what containerd opens once (and keeps) is in
	// the baseline.
	if err := churnOne(ctx, c, img, containerID(t), []string{helloModule}, 0, nil); err != nil {
		t.Fatal(err)
	}
	before := settledCount(15 * time.Second)
	t.Logf("before: %+v", before)

	start := time.Now()
	errs := inParallel(runs, width, func(int) error {
		return churnOne(ctx, c, img, containerID(t), []string{helloModule}, 0, nil)
	})
	t.Logf("%d runs to completion, %d at a time: %v", runs, width, time.Since(start).Round(time.Millisecond))
	for _, err := range errs[:min(len(errs), 10)] {
		t.Errorf("run: %v", err)
	}
	if len(errs) > 0 {
		t.Fatalf("%d of %d runs failed", len(errs), runs)
	}

	start = time.Now()
	var running sync.WaitGroup
	// What must go away has to be there first: the counts while all run.
	var peakOnce sync.Once
	var peak hostCounts
	running.Add(killed)
	errs = inParallel(killed, killed, func(int) error {
		// Done once per container, also when it fails before it runs.
		var once sync.Once
		defer once.Do(running.Done)
		return churnOne(ctx, c, img, containerID(t), []string{"/busyloop.wasm"}, 137, func(task client.Task) error {
			// Kill them all mid-run: once every one has started.
			once.Do(running.Done)
			running.Wait()
			peakOnce.Do(func() { peak = countHost() })
			return task.Kill(ctx, syscall.SIGKILL)
		})
	})
	t.Logf("%d started at once and killed: %v", killed, time.Since(start).Round(time.Millisecond))
	for _, err := range errs[:min(len(errs), 10)] {
		t.Errorf("killed run: %v", err)
	}

	t.Logf("while %d ran: %+v", killed, peak)
	if killed > 0 && (peak.mounts < before.mounts+killed || peak.shimProcs < before.shimProcs+killed || peak.cgroups < before.cgroups+killed) {
		t.Errorf("while %d ran: %+v; the counts below would prove nothing", killed, peak)
	}

	deadline := time.Now().Add(30 * time.Second)
	after := countHost()
	for after != before && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		after = countHost()
	}
	t.Logf("after: %+v", after)
	if after != before {
		t.Errorf("after the churn: %+v, want %+v as before", after, before)
	}
}

// slowWriter passes the stream on to w at no more than rate bytes per
// second, and stalls for stall every stallEvery bytes: a client that
// reads the stdout fifo slowly, so the shim's copy has to wait for it.
type slowWriter struct {
	w          io.Writer
	rate       float64 // bytes per second
	stall      time.Duration
	stallEvery int64
	start      time.Time
	n          int64
	writes     int
}

func (s *slowWriter) Write(p []byte) (int, error) {
	if s.start.IsZero() {
		s.start = time.Now()
	}
	s.writes++
	total := len(p)
	for len(p) > 0 {
		// Small pieces, each paced.
		chunk := p[:min(len(p), 4096)]
		if _, err := s.w.Write(chunk); err != nil {
			return 0, err
		}
		before := s.n
		s.n += int64(len(chunk))
		p = p[len(chunk):]
		if s.n/s.stallEvery != before/s.stallEvery {
			time.Sleep(s.stall)
			s.start = s.start.Add(s.stall)
		}
		if ahead := time.Duration(float64(s.n)/s.rate*float64(time.Second)) - time.Since(s.start); ahead > 0 {
			time.Sleep(ahead)
		}
	}
	return total, nil
}

// spewSum is the sha256 of the first mib MiB of the spew pattern.
func spewSum(mib int) string {
	h := sha256.New()
	block := make([]byte, spewPeriod*4096)
	for i := range block {
		block[i] = byte(i % spewPeriod)
	}
	left := int64(mib) << 20
	for left > 0 {
		n := min(left, int64(len(block)))
		h.Write(block[:n])
		left -= n
	}
	return hex.EncodeToString(h.Sum(nil))
}

// TestSlowReader: 256 MiB written by a module reach a client that reads
// at 64 MiB/s with a 200 ms stall every 16 MiB complete and in order
// (sha256, and the first wrong offset if any), through the stdout fifo:
// the Go client's copy, and ctr's, whose stdout pipe the test drains.
func TestSlowReader(t *testing.T) {
	needDaemon(t)
	const mib = 256
	args := []string{demoModule, "spew", strconv.Itoa(mib)}
	check := func(t *testing.T, c *patternChecker, w *slowWriter, exit int, start time.Time) {
		t.Logf("%d MiB in %v, %d writes", c.n>>20, time.Since(start).Round(time.Millisecond), w.writes)
		if exit != 0 {
			t.Errorf("exit %d, want 0", exit)
		}
		if want := int64(mib) << 20; c.n != want {
			t.Errorf("got %d bytes of stdout, want %d", c.n, want)
		}
		if c.badAt >= 0 {
			t.Errorf("stdout differs from the pattern first at byte %d", c.badAt)
		}
		if got, want := hex.EncodeToString(c.sha.Sum(nil)), spewSum(mib); got != want {
			t.Errorf("stdout sha256 %s, want %s", got, want)
		}
	}
	slow := func(c *patternChecker) *slowWriter {
		return &slowWriter{w: c, rate: 64 << 20, stall: 200 * time.Millisecond, stallEvery: 16 << 20}
	}
	t.Run("client", func(t *testing.T) {
		c := newPatternChecker()
		w := slow(c)
		start := time.Now()
		r := runGo(t, args, nil, w)
		check(t, c, w, int(r.exit), start)
	})
	t.Run("ctr", func(t *testing.T) {
		c := newPatternChecker()
		w := slow(c)
		start := time.Now()
		_, _, exit := runCtrIO(t, nil, w, ctrRunArgs(containerID(t), nil, args[0], args[1:]...)...)
		check(t, c, w, exit, start)
	})
}
