package wasmexec

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/taskchild"
)

// When this test binary is run as a task child, it reports the
// NoNewPrivs line of every thread and exits before any test runs.
func init() {
	if len(os.Args) < 2 || os.Args[1] != taskchild.ChildArg {
		return
	}
	threads, _ := filepath.Glob("/proc/self/task/*/status")
	for _, p := range threads {
		data, err := os.ReadFile(p)
		if err != nil {
			fmt.Println("error", err)
			continue
		}
		for _, line := range strings.Split(string(data), "\n") {
			if strings.HasPrefix(line, "NoNewPrivs:") {
				fmt.Println(strings.Join(strings.Fields(line), " "))
			}
		}
	}
	os.Exit(0)
}

// TestTaskChildArgIsChildArg: the C constructor marks the task children
// that the shim starts, and no other process.
func TestTaskChildArgIsChildArg(t *testing.T) {
	if got := noNewPrivsArg(); got != taskchild.ChildArg {
		t.Fatalf("nonewprivs.go's TASK_CHILD_ARG is %q, taskchild.ChildArg %q: task children would run without no_new_privs", got, taskchild.ChildArg)
	}
}

// TestNoNewPrivs: a task child has no_new_privs on every thread, including
// the Go runtime's first ones.
func TestNoNewPrivs(t *testing.T) {
	out, err := exec.Command(os.Args[0], taskchild.ChildArg).CombinedOutput()
	if err != nil {
		t.Fatalf("run as a task child: %v\n%s", err, out)
	}
	lines := strings.Fields(strings.TrimSpace(strings.ReplaceAll(string(out), "NoNewPrivs:", "")))
	if len(lines) == 0 {
		t.Fatalf("no thread reported NoNewPrivs:\n%s", out)
	}
	for _, v := range lines {
		if v != "1" {
			t.Fatalf("a task child thread has NoNewPrivs %s, want 1 on all:\n%s", v, out)
		}
	}
}
