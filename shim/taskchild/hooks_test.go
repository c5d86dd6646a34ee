package taskchild

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/hooks"
)

func sh(script string) specs.Hook {
	return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", script}}
}

func spawnWithHooks(t *testing.T, h *specs.Hooks, spawned func(int) error, args ...string) (*Child, *os.File, error) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	c, err := Spawn(context.Background(), Options{
		Spec: Spec{
			ModulePath: "ok", Args: append([]string{"/m.wasm"}, args...),
			Hooks: &hooks.Container{ID: "c1", Bundle: t.TempDir(), Hooks: h},
		},
		Stdout: w, Stderr: w, Spawned: spawned,
	})
	w.Close()
	if err == nil {
		t.Cleanup(func() { _ = c.Signal(syscall.SIGKILL) })
	}
	return c, r, err
}

// TestSpawnedRunsWithTheChildsPid: the createRuntime step sees the child,
// alive, and its error ends the child and the spawn.
func TestSpawnedRunsWithTheChildsPid(t *testing.T) {
	var seen int
	c, _, err := spawnWithHooks(t, nil, func(pid int) error {
		seen = pid
		_, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid), "ns", "net"))
		return err
	}, "hi")
	if err != nil {
		t.Fatal(err)
	}
	if seen == 0 || seen != c.Pid() {
		t.Errorf("Spawned saw pid %d, the child is %d", seen, c.Pid())
	}

	refuse := errors.New("createRuntime hook #0 (/x): exit status 1")
	_, _, err = spawnWithHooks(t, nil, func(pid int) error { seen = pid; return refuse }, "hi")
	if !errors.Is(err, refuse) {
		t.Fatalf("Spawn = %v, want Spawned's error", err)
	}
	if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(seen))); err == nil {
		t.Errorf("child %d still exists after Spawned failed", seen)
	}
}

// TestCreateContainerHooksRunInTheChild: the child runs them before it
// prepares the module, with the state's pid its own.
func TestCreateContainerHooksRunInTheChild(t *testing.T) {
	out := filepath.Join(t.TempDir(), "state")
	c, _, err := spawnWithHooks(t, &specs.Hooks{CreateContainer: []specs.Hook{sh("cat > " + out)}}, nil, "hi")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("the createContainer hook did not run by the time the child was ready: %v", err)
	}
	var st specs.State
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatal(err)
	}
	if st.Pid != c.Pid() || st.Status != specs.StateCreating || st.ID != "c1" {
		t.Errorf("state = %+v, want the child's pid %d, creating, c1", st, c.Pid())
	}
}

func TestFailingCreateContainerHookFailsSpawn(t *testing.T) {
	_, _, err := spawnWithHooks(t, &specs.Hooks{CreateContainer: []specs.Hook{sh("echo no way >&2; exit 3")}}, nil, "hi")
	if err == nil || !strings.Contains(err.Error(), "createContainer hook #0") || !strings.Contains(err.Error(), "no way") {
		t.Fatalf("Spawn = %v, want the createContainer hook's failure and output", err)
	}
}

// TestStartContainerHooks: they run at Start, before the program; a
// failing one fails Start and the program never runs.
func TestStartContainerHooks(t *testing.T) {
	out := filepath.Join(t.TempDir(), "state")
	c, stdout, err := spawnWithHooks(t, &specs.Hooks{StartContainer: []specs.Hook{sh("cat > " + out)}}, nil, "hi")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("the startContainer hook ran before Start")
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if data, err := os.ReadFile(out); err != nil || !strings.Contains(string(data), `"status":"created"`) {
		t.Errorf("the startContainer hook did not see a created state by the time Start returned: %q, %v", data, err)
	}
	if got := c.Wait().Status; got != 0 {
		t.Errorf("exit status %d", got)
	}
	if got, _ := io.ReadAll(stdout); string(got) != "/m.wasm hi\n" {
		t.Errorf("program output %q", got)
	}

	c, stdout, err = spawnWithHooks(t, &specs.Hooks{StartContainer: []specs.Hook{sh("echo refused >&2; exit 1")}}, nil, "hi")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err == nil || !strings.Contains(err.Error(), "startContainer hook #0") || !strings.Contains(err.Error(), "refused") {
		t.Errorf("Start = %v, want the startContainer hook's failure", err)
	}
	if got := c.Wait().Status; got == 0 {
		t.Error("the child exited 0 after its startContainer hook failed")
	}
	if got, _ := io.ReadAll(stdout); len(got) != 0 {
		t.Errorf("the program ran after its startContainer hook failed: %q", got)
	}
}

func TestStartAfterDeathFails(t *testing.T) {
	c, _ := spawn(t, "ok", "hi")
	_ = c.Signal(syscall.SIGKILL)
	if err := c.Start(); err == nil {
		t.Error("Start of a killed child succeeded")
	}
	c.Wait()
}
