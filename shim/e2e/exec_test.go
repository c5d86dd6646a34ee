package e2e

import (
	"bytes"
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestExec: an exec runs another module of the task's rootfs beside the
// running task, with its own output and exit status, and is announced by
// /tasks/exec-added and /tasks/exec-started.
func TestExec(t *testing.T) {
	d := needDaemon(t)
	t.Run("ctr", func(t *testing.T) {
		w := watchEvents(t)
		id, _ := startSpinning(t, []string{"/busyloop.wasm"})
		exec := func(execID string, args ...string) (string, int) {
			a := append([]string{"task", "exec", "--exec-id", execID, "--fifo-dir", d.fifoDir, id}, args...)
			out, _, exit := runCtr(t, a...)
			return out, exit
		}
		out, exit := exec("hello", helloModule, "x", "y")
		if exit != 0 || !hasLine(out, "Hello from WebAssembly!") || !hasLine(out, "args: x y") {
			t.Errorf("exec hello: exit %d, output %q", exit, out)
		}
		if _, exit := exec("exit3", demoModule, "exit", "3"); exit != 3 {
			t.Errorf("exec wasi-demo exit 3: exit %d, want 3", exit)
		}
		for _, topic := range []string{"/tasks/exec-added", "/tasks/exec-started"} {
			match := func(e event) bool {
				return e.topic == topic && mentionsContainer(e, id) && strings.Contains(e.body, `"exec_id":"hello"`)
			}
			if _, ok := w.wait(10*time.Second, match); !ok {
				t.Errorf("no %s for exec hello", topic)
			}
		}
		if _, status := taskRow(t, id); status != "RUNNING" {
			t.Errorf("the task is %s after its execs ended, want RUNNING", status)
		}
	})
	t.Run("client", func(t *testing.T) {
		c, ctx := newClient(t)
		ctr := newContainer(t, c, ctx, containerID(t), []string{"/busyloop.wasm"})
		task, err := ctr.NewTask(ctx, goIO(nil, nil, nil))
		if err != nil {
			t.Fatalf("new task: %v", err)
		}
		if err := task.Start(ctx); err != nil {
			t.Fatalf("start: %v", err)
		}
		var out bytes.Buffer
		st := runExec(t, ctx, task, "hello", &specs.Process{Args: []string{helloModule, "x"}, Cwd: "/"}, goIO(nil, &out, &out))
		if st.ExitCode() != 0 || !hasLine(out.String(), "args: x") {
			t.Errorf("exec: exit %d, output %q", st.ExitCode(), out.String())
		}
		if err := task.Kill(ctx, syscall.SIGKILL); err != nil {
			t.Errorf("kill: %v", err)
		}
		if _, err := task.Delete(ctx, client.WithProcessKill); err != nil {
			t.Errorf("delete: %v", err)
		}
	})
}

// startExec adds an exec to a running task and starts it; the channel
// gets its exit.
func startExec(t *testing.T, ctx context.Context, task client.Task, id string, spec *specs.Process, ioc cio.Creator) (client.Process, <-chan client.ExitStatus) {
	t.Helper()
	proc, err := task.Exec(ctx, id, spec, ioc)
	if err != nil {
		t.Fatalf("exec %s: %v", id, err)
	}
	statusC, err := proc.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := proc.Start(ctx); err != nil {
		t.Fatalf("exec start %s: %v", id, err)
	}
	return proc, statusC
}

// runExec runs an exec of a running task to its end and deletes it.
func runExec(t *testing.T, ctx context.Context, task client.Task, id string, spec *specs.Process, ioc cio.Creator) client.ExitStatus {
	t.Helper()
	proc, statusC := startExec(t, ctx, task, id, spec, ioc)
	st := <-statusC
	if _, err := proc.Delete(ctx); err != nil {
		t.Errorf("exec delete %s: %v", id, err)
	}
	return st
}
