package e2e

import (
	"strings"
	"testing"
	"time"
)

// TestExec: `ctr task exec` runs another module of the task's rootfs with
// its own stdio and exit status, and containerd sees its events.
func TestExec(t *testing.T) {
	needDaemon(t)
	w := watchEvents(t)
	id := startDetached(t, []string{demoModule, "sleep", "60"})

	out, errOut, exit := runCtr(t, "task", "exec", "--exec-id", "hello", id, "/hello.wasm", "from", "exec")
	if exit != 0 || !strings.Contains(out, "Hello from WebAssembly!") || !strings.Contains(out, "args: from exec") {
		t.Fatalf("exec hello: exit %d, stdout %q, stderr %q", exit, out, errOut)
	}
	if _, _, exit := runCtr(t, "task", "exec", "--exec-id", "three", id, demoModule, "exit", "3"); exit != 3 {
		t.Errorf("exec exit 3: ctr exited %d, want 3", exit)
	}
	for _, topic := range []string{"/tasks/exec-added", "/tasks/exec-started"} {
		if _, ok := w.wait(30*time.Second, func(e event) bool {
			return e.topic == topic && mentionsContainer(e, id) && strings.Contains(e.body, `"exec_id":"three"`)
		}); !ok {
			t.Errorf("no %s event for exec three", topic)
		}
	}
	if _, ok := w.wait(30*time.Second, func(e event) bool {
		return e.topic == "/tasks/exit" && mentionsContainer(e, id) && strings.Contains(e.body, `"id":"three"`) && e.exitStatus() == 3
	}); !ok {
		t.Errorf("no /tasks/exit with status 3 for exec three")
	}

	_, errOut, exit = runCtr(t, "task", "exec", "--exec-id", "bad", id, "/notwasm.txt")
	if exit == 0 || !strings.Contains(errOut, "not a WebAssembly module") {
		t.Errorf("exec of a text file: exit %d, stderr %q; want a clear refusal", exit, errOut)
	}

	// The task itself is untouched by its execs, and kill --all ends it.
	if _, status := taskRow(t, id); status != "RUNNING" {
		t.Fatalf("task is %s after the execs, want RUNNING", status)
	}
	if _, errOut, exit := runCtr(t, "task", "kill", "--all", id); exit != 0 {
		t.Fatalf("ctr task kill --all: %s", errOut)
	}
	e, ok := w.wait(30*time.Second, exitEvent(id))
	if !ok {
		t.Fatal("no /tasks/exit after kill --all")
	}
	if got := e.exitStatus(); got != 143 {
		t.Errorf("exit status after kill --all = %d, want 143", got)
	}
}
