package e2e

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
)

// settle is how long teardown may trail the call that finished a
// container: containerd does not wait for a shim process to exit after
// its Shutdown, so the process may outlive ctr by a few milliseconds.
const settle = 5 * time.Second

// expectNoLeftovers retries the leftovers comparison until it comes out
// clean or settle runs out, then fails t for what is still there.
func expectNoLeftovers(t *testing.T, before leftovers, id string) {
	t.Helper()
	deadline := time.Now().Add(settle)
	found := describeLeftovers(before, id)
	for len(found) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		found = describeLeftovers(before, id)
	}
	for _, f := range found {
		t.Errorf("left behind by %s: %s", id, f)
	}
}

// TestNoLeftovers: a finished container leaves no mount, cgroup, process
// or runtime state behind, whether it exited or was killed.
func TestNoLeftovers(t *testing.T) {
	needDaemon(t)
	t.Run("ctr-run-rm", func(t *testing.T) {
		id := containerID(t)
		before := snapshotLeftovers(id)
		if _, _, exit := runCtr(t, ctrRunArgs(id, nil, helloModule)...); exit != 0 {
			t.Fatalf("ctr run exit %d", exit)
		}
		expectNoLeftovers(t, before, id)
	})
	t.Run("ctr-killed", func(t *testing.T) {
		before := snapshotLeftovers("")
		id, _ := startSpinning(t, []string{"/busyloop.wasm"})
		// What must vanish has to exist first, or the check below proves
		// nothing (a shim that made no cgroup would pass it).
		during := snapshotLeftovers(id)
		t.Run("cgroup-while-running", func(t *testing.T) {
			// Skipped rather than failed: per-container cgroups are the
			// cgroups package's job, which has not landed; the skip keeps
			// the gap visible in the output until it does.
			if len(during.cgroups) == 0 {
				t.Skipf("no cgroup named %s while the task runs: the leftover cgroup check below is vacuous", id)
			}
		})
		if len(during.stateDirs) == 0 {
			t.Errorf("no runtime state directory for %s while the task runs", id)
		}
		if !slices.ContainsFunc(during.mounts, func(m string) bool { return strings.Contains(m, id) }) {
			t.Errorf("no rootfs mount for %s while the task runs: %v", id, during.mounts)
		}
		runCtr(t, "task", "kill", "-s", "SIGKILL", id)
		waitStopped(t, id)
		runCtr(t, "task", "delete", id)
		if _, errOut, exit := runCtr(t, "containers", "delete", id); exit != 0 {
			t.Fatalf("ctr containers delete: %s", errOut)
		}
		expectNoLeftovers(t, before, id)
	})
}

// waitStopped waits until ctr task ls shows id as STOPPED.
func waitStopped(t *testing.T, id string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if _, status := taskRow(t, id); status == "STOPPED" {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("task %s did not stop", id)
}

// badModules are entrypoints the shim must refuse with an error that
// names the problem. all must all appear in the error text, and at least
// one of any when any is given (case-insensitive).
var badModules = []struct {
	name   string
	module string
	all    []string
	any    []string
}{
	{"missing", "/nope.wasm", []string{"nope.wasm"}, []string{"no such file", "not found", "does not exist", "not exist"}},
	{"not-wasm", "/notwasm.txt", nil, []string{"magic", "not a wasm", "not wasm", "not a webassembly", "failed to parse", "invalid"}},
	{"no-start", "/nostart.wasm", []string{"_start"}, nil},
	{"bad-import", "/badimport.wasm", []string{"not_a_real_function"}, nil},
}

func namesProblem(text string, all, any []string) bool {
	low := strings.ToLower(text)
	for _, s := range all {
		if !strings.Contains(low, strings.ToLower(s)) {
			return false
		}
	}
	if len(any) == 0 {
		return true
	}
	for _, s := range any {
		if strings.Contains(low, strings.ToLower(s)) {
			return true
		}
	}
	return false
}

// TestBadModule: a module that cannot run fails the run with a clear error
// (at create, as runc fails a missing binary, or as a non-zero exit with
// the reason on stderr) and leaves nothing behind.
func TestBadModule(t *testing.T) {
	needDaemon(t)
	for _, tc := range badModules {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("ctr", func(t *testing.T) {
				id := containerID(t)
				before := snapshotLeftovers(id)
				out, errOut, exit := runCtr(t, ctrRunArgs(id, nil, tc.module)...)
				if exit == 0 {
					t.Errorf("ctr run of %s exited 0", tc.module)
				}
				if !namesProblem(out+errOut, tc.all, tc.any) {
					t.Errorf("the error does not name the problem (want all of %q and one of %q):\n%s%s", tc.all, tc.any, out, errOut)
				}
				// ctr run --rm deletes the container on both paths; if it
				// had not, the record would be ctr's and not the shim's.
				if ls, _, _ := runCtr(t, "containers", "ls", "-q"); hasLine(ls, id) {
					t.Errorf("container %s still listed after ctr run --rm failed", id)
					removeContainer(t, id)
				}
				expectNoLeftovers(t, before, id)
			})
			t.Run("client", func(t *testing.T) { goBadModule(t, tc.module, tc.all, tc.any) })
		})
	}
}

func goBadModule(t *testing.T, module string, all, any []string) {
	c, ctx := newClient(t)
	id := containerID(t)
	before := snapshotLeftovers(id)
	ctr := newContainer(t, c, ctx, id, []string{module})
	var stderr bytes.Buffer
	var text string
	task, err := ctr.NewTask(ctx, goIO(nil, &stderr, &stderr))
	if err != nil {
		text = err.Error()
		t.Logf("refused at create: %v", err)
	} else {
		statusC, err := task.Wait(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := task.Start(ctx); err != nil {
			text = err.Error()
			t.Logf("refused at start: %v", err)
			task.Delete(ctx, client.WithProcessKill)
		} else {
			st := <-statusC
			task.Delete(ctx)
			text = stderr.String()
			t.Logf("exited %d: %s", st.ExitCode(), text)
			if st.ExitCode() == 0 {
				t.Errorf("%s exited 0", module)
			}
		}
	}
	if !namesProblem(text, all, any) {
		t.Errorf("the error does not name the problem (want all of %q and one of %q): %s", all, any, text)
	}
	if err := ctr.Delete(ctx, client.WithSnapshotCleanup); err != nil {
		t.Errorf("delete container: %v", err)
	}
	expectNoLeftovers(t, before, id)
}
