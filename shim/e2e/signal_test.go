package e2e

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/errdefs"
)

// killLatency is how long a spinning module may take to exit after
// SIGTERM: the shim interrupts wasm (epoch) instead of waiting for a
// host call that a busy loop never makes. It takes milliseconds; the
// bound is loose so that a loaded CI machine cannot fail it, and still
// far below the minute a module that is never interrupted would hit.
const killLatency = 5 * time.Second

var spinners = []struct {
	name string
	args []string
}{
	{"spin-wat", []string{"/busyloop.wasm"}},
	{"demo-spin", []string{demoModule, "spin"}},
}

// startDetached runs args with `ctr run -d` and removes the container when
// the test ends, whatever state it is in.
func startDetached(t *testing.T, args []string) string {
	t.Helper()
	id := containerID(t)
	a := append([]string{"run", "-d"}, runFlags()...)
	a = append(a, testdataImage, id)
	a = append(a, args...)
	if _, errOut, exit := runCtr(t, a...); exit != 0 {
		t.Fatalf("ctr run -d failed (%d): %s", exit, errOut)
	}
	t.Cleanup(func() { removeContainer(t, id) })
	return id
}

// taskRow returns the PID and STATUS columns of `ctr task ls` for id.
func taskRow(t *testing.T, id string) (int, string) {
	t.Helper()
	out, errOut, exit := suite.daemon.ctrCmd(nil, nil, "task", "ls")
	if exit != 0 {
		t.Fatalf("ctr task ls: %s", errOut)
	}
	for _, l := range lines(out) {
		f := strings.Fields(l)
		if len(f) >= 3 && f[0] == id {
			pid, _ := strconv.Atoi(f[1])
			return pid, f[2]
		}
	}
	t.Fatalf("task %s not in ctr task ls:\n%s", id, out)
	return 0, ""
}

// cpuTicks is the user+system time of pid in clock ticks.
func cpuTicks(pid int) (int, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	u, _ := strconv.Atoi(statField(stat, 14))
	s, _ := strconv.Atoi(statField(stat, 15))
	return u + s, nil
}

// waitSpinning returns once pid has burnt CPU for a while since it was
// first seen, which for a spin module means wasm is in its busy loop (a
// cold compile also burns CPU, so the bar is set past a warm start).
func waitSpinning(t *testing.T, pid int) {
	t.Helper()
	first, err := cpuTicks(pid)
	if err != nil {
		t.Fatalf("task pid %d: %v", pid, err)
	}
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		now, err := cpuTicks(pid)
		if err != nil {
			t.Fatalf("task pid %d vanished before the kill: %v", pid, err)
		}
		if now-first >= 30 {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("task pid %d never used CPU: is it spinning?", pid)
}

// startSpinning starts a detached spinner and waits until it spins.
func startSpinning(t *testing.T, args []string) (string, int) {
	t.Helper()
	id := startDetached(t, args)
	pid, status := taskRow(t, id)
	if status != "RUNNING" {
		t.Fatalf("task %s is %s after ctr run -d, want RUNNING", id, status)
	}
	waitSpinning(t, pid)
	return id, pid
}

// TestKillSpinning: SIGTERM ends a module stuck in a busy loop within
// killLatency with status 143, and SIGKILL with 137.
func TestKillSpinning(t *testing.T) {
	needDaemon(t)
	for _, sp := range spinners {
		t.Run(sp.name, func(t *testing.T) {
			t.Run("ctr-SIGTERM", func(t *testing.T) { ctrKill(t, sp.args, "", 143, true) })
			t.Run("ctr-SIGKILL", func(t *testing.T) { ctrKill(t, sp.args, "SIGKILL", 137, false) })
			t.Run("client-SIGTERM", func(t *testing.T) { goKill(t, sp.args, syscall.SIGTERM, 143, true) })
			t.Run("client-SIGKILL", func(t *testing.T) { goKill(t, sp.args, syscall.SIGKILL, 137, false) })
		})
	}
	// The README names more signals that end a spinning task at once.
	for _, sig := range []struct {
		name string
		want int
	}{{"SIGINT", 130}, {"SIGHUP", 129}, {"SIGUSR1", 138}} {
		t.Run("spin-wat-ctr-"+sig.name, func(t *testing.T) { ctrKill(t, spinners[0].args, sig.name, sig.want, true) })
	}
	t.Run("spin-wat-ctr-kill-all", func(t *testing.T) { ctrKill(t, spinners[0].args, "--all", 143, true) })
}

// ctrKill kills a spinner with `ctr task kill [-s signal]` and reads its
// exit status from the /tasks/exit event. The latency is measured from
// before ctr starts, so it includes ctr's own start-up.
func ctrKill(t *testing.T, args []string, signal string, want int, timed bool) {
	w := watchEvents(t)
	id, _ := startSpinning(t, args)
	kill := []string{"task", "kill"}
	switch {
	case signal == "--all":
		kill = append(kill, "--all")
	case signal != "":
		kill = append(kill, "-s", signal)
	}
	kill = append(kill, id)
	start := time.Now()
	if _, errOut, exit := runCtr(t, kill...); exit != 0 {
		t.Fatalf("ctr task kill: %s", errOut)
	}
	e, ok := w.wait(time.Minute, exitEvent(id))
	if !ok {
		t.Fatalf("no /tasks/exit for %s within a minute of the kill", id)
	}
	latency := e.at.Sub(start)
	t.Logf("exit event %s after %v", e.body, latency)
	if got := e.exitStatus(); got != want {
		t.Errorf("exit status %d, want %d", got, want)
	}
	if timed && latency > killLatency {
		t.Errorf("exit came %v after the kill, want within %v", latency, killLatency)
	}
	// ctr task delete reports the task's non-zero status as its own exit
	// code in 1.x and as a warning in 2.x, so its effect is what counts.
	runCtr(t, "task", "delete", id)
	if out, _, _ := runCtr(t, "task", "ls", "-q"); hasLine(out, id) {
		t.Errorf("task %s still listed after ctr task delete", id)
	}
}

// goKill does the same through the Go client and, once the task has
// exited, checks that killing it again answers NotFound.
func goKill(t *testing.T, args []string, sig syscall.Signal, want uint32, timed bool) {
	c, ctx := newClient(t)
	ctr := newContainer(t, c, ctx, containerID(t), args)
	var out strings.Builder
	task, statusC := startGoTask(t, ctx, ctr, &out)
	waitSpinning(t, int(task.Pid()))
	killGoTask(t, ctx, task, statusC, sig, int(want), timed)
	t.Logf("output %q", out.String())
}

// startGoTask creates and starts a task of ctr with its output into out;
// the channel delivers its exit status.
func startGoTask(t *testing.T, ctx context.Context, ctr client.Container, out io.Writer) (client.Task, <-chan client.ExitStatus) {
	t.Helper()
	task, err := ctr.NewTask(ctx, goIO(nil, out, out))
	if err != nil {
		t.Fatalf("new task: %v", err)
	}
	statusC, err := task.Wait(ctx)
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	if err := task.Start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	return task, statusC
}

// killGoTask signals a task through the Go client, checks its exit status
// (and latency, when timed), that a second kill answers NotFound, and
// deletes it.
func killGoTask(t *testing.T, ctx context.Context, task client.Task, statusC <-chan client.ExitStatus, sig syscall.Signal, want int, timed bool) {
	t.Helper()
	start := time.Now()
	if err := task.Kill(ctx, sig); err != nil {
		t.Fatalf("kill %v: %v", sig, err)
	}
	var st client.ExitStatus
	select {
	case st = <-statusC:
	case <-time.After(time.Minute):
		t.Fatalf("no exit within a minute of %v", sig)
	}
	latency := time.Since(start)
	t.Logf("%v: exit status %d after %v", sig, st.ExitCode(), latency)
	if int(st.ExitCode()) != want {
		t.Errorf("exit status %d after %v, want %d", st.ExitCode(), sig, want)
	}
	if timed && latency > killLatency {
		t.Errorf("the exit came %v after %v, want within %v", latency, sig, killLatency)
	}
	if err := task.Kill(ctx, syscall.SIGTERM); !errdefs.IsNotFound(err) {
		t.Errorf("kill after exit: %v, want a NotFound error", err)
	}
	if _, err := task.Delete(ctx); err != nil {
		t.Errorf("delete task: %v", err)
	}
}

// TestTaskPs: the pid that ctr task ps lists is the task's pid as ctr task
// ls and the Go client report it, and it is a live host process.
func TestTaskPs(t *testing.T) {
	needDaemon(t)
	id, pid := startSpinning(t, []string{"/busyloop.wasm"})
	out, errOut, exit := runCtr(t, "task", "ps", id)
	if exit != 0 {
		t.Fatalf("ctr task ps: %s", errOut)
	}
	var pids []int
	for _, l := range lines(out)[1:] { // after the PID INFO header
		if n, err := strconv.Atoi(strings.Fields(l)[0]); err == nil {
			pids = append(pids, n)
		}
	}
	found := false
	for _, p := range pids {
		found = found || p == pid
	}
	if !found {
		t.Errorf("ctr task ps lists %v, lacking the task pid %d", pids, pid)
	}
	if err := syscall.Kill(pid, 0); err != nil {
		t.Errorf("task pid %d is not a live host process: %v", pid, err)
	}
	// The suite must test the shim it was built with, not one that
	// containerd found elsewhere: the task child re-executes the shim, and
	// its parent is the shim.
	want := filepath.Join(suite.repo, "bin", shimBinary)
	stat, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	ppid, _ := strconv.Atoi(statField(stat, 4))
	if exe, parent := exeOf(pid), exeOf(ppid); exe != want || parent != want {
		t.Errorf("task pid %d runs %q under %q (pid %d), want %s for both", pid, exe, parent, ppid, want)
	}

	c, ctx := newClient(t)
	ctr, err := c.LoadContainer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	task, err := ctr.Task(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if int(task.Pid()) != pid {
		t.Errorf("client task.Pid() %d, ctr task ls %d", task.Pid(), pid)
	}
	infos, err := task.Pids(ctx)
	if err != nil {
		t.Fatalf("task.Pids: %v", err)
	}
	found = false
	for _, p := range infos {
		found = found || int(p.Pid) == pid
	}
	if !found {
		t.Errorf("task.Pids() %v lacks %d", infos, pid)
	}
}

// TestKillExited: a kill sent to a task that has exited answers NotFound,
// as it does for runc, so that callers can tell "already gone" apart.
func TestKillExited(t *testing.T) {
	needDaemon(t)
	t.Run("ctr", func(t *testing.T) {
		w := watchEvents(t)
		id := startDetached(t, []string{"/exit3.wasm"})
		if _, ok := w.wait(time.Minute, exitEvent(id)); !ok {
			t.Fatalf("no /tasks/exit for %s", id)
		}
		_, errOut, exit := runCtr(t, "task", "kill", id)
		if exit == 0 {
			t.Errorf("ctr task kill of an exited task succeeded")
		}
		if !strings.Contains(strings.ToLower(errOut), "not found") {
			t.Errorf("ctr task kill of an exited task: %q, want a not found error", errOut)
		}
	})
	t.Run("client", func(t *testing.T) {
		c, ctx := newClient(t)
		ctr := newContainer(t, c, ctx, containerID(t), []string{"/exit3.wasm"})
		task, err := ctr.NewTask(ctx, goIO(nil, nil, nil))
		if err != nil {
			t.Fatalf("new task: %v", err)
		}
		statusC, err := task.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := task.Start(ctx); err != nil {
			t.Fatal(err)
		}
		if st := <-statusC; st.ExitCode() != 3 {
			t.Errorf("exit %d, want 3", st.ExitCode())
		}
		if err := task.Kill(ctx, syscall.SIGTERM); !errdefs.IsNotFound(err) {
			t.Errorf("kill after exit: %v, want NotFound", err)
		}
		if _, err := task.Delete(ctx); err != nil {
			t.Errorf("delete: %v", err)
		}
	})
}

func exeOf(pid int) string {
	exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	return strings.TrimSuffix(exe, " (deleted)")
}
