package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// hookAnnotation is set on the hooks' containers: the state a hook reads
// carries the spec's annotations.
const hookAnnotation = "io.containerd-shim-wasm.e2e/hooks"

// hookRecord is what testdata/hook records of one run.
type hookRecord struct {
	State specs.State `json:"state"`
	Args  []string    `json:"args"`
	Env   []string    `json:"env"`
	Cwd   string      `json:"cwd"`
	NetNS string      `json:"netns"`
	MntNS string      `json:"mntns"`
	Time  int64       `json:"time"`
}

// hookFixture makes hooks of testdata/hook that record into dir.
type hookFixture struct {
	bin, dir, id string
}

func newHookFixture(t *testing.T, bin, id string) hookFixture {
	return hookFixture{bin: bin, dir: t.TempDir(), id: id}
}

// hook runs the hook program in mode, recording as kind; the container id
// ends its command line so that a hook left running counts as a leftover.
func (f hookFixture) hook(mode, kind string, extra ...string) specs.Hook {
	args := append([]string{"hook", mode, f.dir, kind}, extra...)
	return specs.Hook{Path: f.bin, Args: append(args, f.id)}
}

// readHookRecord reads what the hook of kind recorded in dir; ok is false
// if it never ran.
func readHookRecord(t *testing.T, dir, kind string) (hookRecord, bool) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, kind+".json"))
	if os.IsNotExist(err) {
		return hookRecord{}, false
	}
	if err != nil {
		t.Fatalf("read the %s hook's record: %v", kind, err)
	}
	var r hookRecord
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("decode the %s hook's record: %v\n%s", kind, err, data)
	}
	return r, true
}

func (f hookFixture) record(t *testing.T, kind string) (hookRecord, bool) {
	t.Helper()
	return readHookRecord(t, f.dir, kind)
}

// mustRecord fails t unless the hook of kind ran.
func (f hookFixture) mustRecord(t *testing.T, kind string) hookRecord {
	t.Helper()
	r, ok := f.record(t, kind)
	if !ok {
		t.Fatalf("the %s hook did not run", kind)
	}
	return r
}

func withHooks(h *specs.Hooks) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *specs.Spec) error {
		s.Hooks = h
		return nil
	}
}

// buildTestdata builds the test program testdata/NAME, static so that it
// also runs inside a container's rootfs, into a temporary directory.
func buildTestdata(t *testing.T, name string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	cmd := exec.Command("go", "build", "-o", bin, "./testdata/"+name)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./testdata/%s: %v\n%s", name, err, out)
	}
	return bin
}

func nsLink(t *testing.T, pid, name string) string {
	t.Helper()
	link, err := os.Readlink(fmt.Sprintf("/proc/%s/ns/%s", pid, name))
	if err != nil {
		t.Fatalf("read the %s namespace of %s: %v", name, pid, err)
	}
	return link
}

// checkState compares the state a hook read on its stdin with what the
// spec says it holds at that step.
func checkState(t *testing.T, kind string, r hookRecord, id string, status specs.ContainerState, pid int) {
	t.Helper()
	s := r.State
	if s.Version == "" || s.ID != id || s.Status != status || s.Pid != pid || s.Bundle != bundleDir(id) || s.Annotations[hookAnnotation] != id {
		t.Errorf("%s hook's state = %+v, want id %s, status %s, pid %d, bundle %s and annotation %s=%s",
			kind, s, id, status, pid, bundleDir(id), hookAnnotation, id)
	}
}

// vethNames are names for a test's veth pair, unique to the container and
// within the kernel's 15 bytes.
func vethNames(id string) (host, peer string) {
	h := fnv.New32a()
	h.Write([]byte(id))
	return fmt.Sprintf("whh%08x", h.Sum32()), fmt.Sprintf("whp%08x", h.Sum32())
}

// TestHooks: the OCI hooks of a wasm task run as runc runs them: each at
// its step with the state on stdin, in the right namespaces; a createRuntime
// hook configures the task's network namespace before the module can run;
// a failing or hung hook fails its step with the hook's output and leaves
// nothing behind.
func TestHooks(t *testing.T) {
	needDaemon(t)
	bin := buildTestdata(t, "hook")
	t.Run("lifecycle", func(t *testing.T) { testHookLifecycle(t, bin) })
	t.Run("failing-createRuntime", func(t *testing.T) { testFailingCreateHook(t, bin) })
	t.Run("createRuntime-timeout", func(t *testing.T) { testHookTimeout(t, bin) })
	t.Run("failing-startContainer", func(t *testing.T) { testFailingStartContainer(t, bin) })
	t.Run("failing-poststart", func(t *testing.T) { testFailingPoststart(t, bin) })
}

func testHookLifecycle(t *testing.T, bin string) {
	ip, err := exec.LookPath("ip")
	if err != nil {
		t.Skip("no ip program (iproute2) to configure a veth pair")
	}
	id := containerID(t)
	f := newHookFixture(t, bin, id)
	host, peer := vethNames(id)
	t.Cleanup(func() { _ = exec.Command(ip, "link", "del", host).Run() })
	poststart := f.hook("record", "poststart")
	poststart.Env = []string{"HOOK_ENV=poststart"}
	hooks := &specs.Hooks{
		Prestart:        []specs.Hook{f.hook("record", "prestart")}, //nolint:staticcheck // deprecated, still run
		CreateRuntime:   []specs.Hook{f.hook("veth", "createRuntime", ip, host, peer)},
		CreateContainer: []specs.Hook{f.hook("install", "createContainer")},
		// Resolved in the container: the createContainer hook put it there.
		StartContainer: []specs.Hook{{Path: "/hook", Args: []string{"hook", "record", "/", "startContainer", id}}},
		Poststart:      []specs.Hook{poststart},
		Poststop:       []specs.Hook{f.hook("record", "poststop")},
	}
	c, ctx := newClient(t)
	ctr := newContainer(t, c, ctx, id, []string{helloModule}, withHooks(hooks), oci.WithAnnotations(map[string]string{hookAnnotation: id}))
	var out bytes.Buffer
	task, err := ctr.NewTask(ctx, goIO(nil, &out, &out))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	pid := int(task.Pid())
	hostNet, hostMnt := nsLink(t, "self", "net"), nsLink(t, "self", "mnt")
	taskNet, taskMnt := nsLink(t, fmt.Sprint(pid), "net"), nsLink(t, fmt.Sprint(pid), "mnt")
	if taskNet == hostNet || taskMnt == hostMnt {
		t.Fatalf("the task shares the host's network or mount namespace; nothing to tell the hooks' namespaces apart")
	}

	t.Run("created", func(t *testing.T) {
		for _, kind := range []string{"prestart", "createRuntime"} {
			r := f.mustRecord(t, kind)
			checkState(t, kind, r, id, specs.StateCreating, pid)
			if r.NetNS != hostNet || r.MntNS != hostMnt {
				t.Errorf("%s hook ran in %s %s, want the runtime's %s %s", kind, r.NetNS, r.MntNS, hostNet, hostMnt)
			}
			if r.Cwd != bundleDir(id) {
				t.Errorf("%s hook ran in %s, want the bundle %s", kind, r.Cwd, bundleDir(id))
			}
		}
		r := f.mustRecord(t, "createContainer")
		// In the container's namespaces, the pid is the one it sees there.
		checkState(t, "createContainer", r, id, specs.StateCreating, 1)
		if r.NetNS != taskNet || r.MntNS != taskMnt {
			t.Errorf("createContainer hook ran in %s %s, want the task's %s %s", r.NetNS, r.MntNS, taskNet, taskMnt)
		}
		if want := []string{"hook", "install", f.dir, "createContainer", id}; !slices.Equal(r.Args, want) {
			t.Errorf("createContainer hook's args = %q, want %q", r.Args, want)
		}
		if len(r.Env) != 0 {
			t.Errorf("a hook with no env got %q", r.Env)
		}
		for _, kind := range []string{"poststart", "poststop"} {
			if _, ran := f.record(t, kind); ran {
				t.Errorf("the %s hook ran at create", kind)
			}
		}
	})
	t.Run("veth-in-task-netns", func(t *testing.T) {
		if o, err := exec.Command("nsenter", "-t", fmt.Sprint(pid), "-n", ip, "-br", "link", "show", peer).CombinedOutput(); err != nil {
			t.Errorf("%s is not in the task's network namespace: %v: %s", peer, err, o)
		}
		if err := exec.Command(ip, "link", "show", peer).Run(); err == nil {
			t.Errorf("%s is still in the host's network namespace", peer)
		}
		if o, err := exec.Command(ip, "-br", "link", "show", host).CombinedOutput(); err != nil {
			t.Errorf("the host end %s is missing: %v: %s", host, err, o)
		}
	})

	statusC, err := task.Wait(ctx)
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	if err := task.Start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	if st := <-statusC; st.ExitCode() != 0 || !strings.Contains(out.String(), "Hello") {
		t.Errorf("the module exited %d with %q, want 0 and its greeting", st.ExitCode(), out.String())
	}
	t.Run("started", func(t *testing.T) {
		// In the rootfs, still mounted until the task is deleted.
		r, ok := readHookRecord(t, filepath.Join(bundleDir(id), "rootfs"), "startContainer")
		if !ok {
			t.Fatal("the startContainer hook did not run")
		}
		checkState(t, "startContainer", r, id, specs.StateCreated, 1)
		if r.Time < f.mustRecord(t, "createContainer").Time || r.Time > f.mustRecord(t, "poststart").Time {
			t.Error("the startContainer hook did not run between the createContainer and poststart hooks")
		}
		if r.Cwd != "/" {
			t.Errorf("startContainer hook ran in %s, want / of the container", r.Cwd)
		}
		r = f.mustRecord(t, "poststart")
		checkState(t, "poststart", r, id, specs.StateRunning, pid)
		if !slices.Equal(r.Env, []string{"HOOK_ENV=poststart"}) {
			t.Errorf("poststart hook's env = %q, want exactly its own", r.Env)
		}
		if _, ran := f.record(t, "poststop"); ran {
			t.Error("the poststop hook ran before delete")
		}
	})
	if _, err := task.Delete(ctx); err != nil {
		t.Fatalf("delete: %v", err)
	}
	t.Run("deleted", func(t *testing.T) {
		r := f.mustRecord(t, "poststop")
		checkState(t, "poststop", r, id, specs.StateStopped, 0)
		// The task's network namespace is gone, and the pair with it.
		deadline := time.Now().Add(settle)
		for exec.Command(ip, "link", "show", host).Run() == nil {
			if time.Now().After(deadline) {
				t.Fatalf("%s outlived the task's network namespace", host)
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	t.Run("order", func(t *testing.T) {
		// startContainer's record went with the rootfs; its time is
		// checked in "started".
		var last int64
		for _, kind := range []string{"prestart", "createRuntime", "createContainer", "poststart", "poststop"} {
			r, _ := readHookRecord(t, f.dir, kind)
			if r.Time < last {
				t.Errorf("the %s hook ran before the hook listed before it", kind)
			}
			last = r.Time
		}
	})
}

func testFailingCreateHook(t *testing.T, bin string) {
	id := containerID(t)
	f := newHookFixture(t, bin, id)
	marker := "the hook refuses " + id
	hooks := &specs.Hooks{
		Prestart:        []specs.Hook{f.hook("record", "prestart")}, //nolint:staticcheck // deprecated, still run
		CreateRuntime:   []specs.Hook{f.hook("fail", "createRuntime", marker)},
		CreateContainer: []specs.Hook{f.hook("record", "createContainer")},
		Poststop:        []specs.Hook{f.hook("record", "poststop")},
	}
	before := snapshotLeftovers(id)
	c, ctx := newClient(t)
	ctr := newContainer(t, c, ctx, id, []string{helloModule}, withHooks(hooks), oci.WithAnnotations(map[string]string{hookAnnotation: id}))
	task, err := ctr.NewTask(ctx, goIO(nil, io.Discard, io.Discard))
	if err == nil {
		task.Delete(ctx)
		t.Fatal("a failing createRuntime hook did not fail the create")
	}
	t.Logf("create: %v", err)
	if !strings.Contains(err.Error(), marker) || !strings.Contains(err.Error(), "createRuntime") {
		t.Errorf("the create error does not carry the hook's stderr (%q): %v", marker, err)
	}
	f.mustRecord(t, "prestart")
	if _, ran := f.record(t, "createContainer"); ran {
		t.Error("the createContainer hook ran after createRuntime failed")
	}
	// The spec destroys a container whose create hook failed, then runs
	// its poststop hooks.
	if r, ran := f.record(t, "poststop"); !ran {
		t.Error("the poststop hook did not run after the failed create")
	} else if r.State.Status != specs.StateStopped {
		t.Errorf("poststop state status %s, want stopped", r.State.Status)
	}
	expectNoLeftovers(t, before, id)
}

func testHookTimeout(t *testing.T, bin string) {
	id := containerID(t)
	f := newHookFixture(t, bin, id)
	sleeper := f.hook("sleep", "createRuntime")
	two := 2
	sleeper.Timeout = &two
	before := snapshotLeftovers(id)
	c, ctx := newClient(t)
	ctr := newContainer(t, c, ctx, id, []string{helloModule}, withHooks(&specs.Hooks{CreateRuntime: []specs.Hook{sleeper}}))
	start := time.Now()
	task, err := ctr.NewTask(ctx, goIO(nil, io.Discard, io.Discard))
	took := time.Since(start)
	if err == nil {
		task.Delete(ctx)
		t.Fatal("a createRuntime hook past its timeout did not fail the create")
	}
	t.Logf("create after %v: %v", took, err)
	if !strings.Contains(err.Error(), "timeout of 2s") {
		t.Errorf("the create error does not name the hook's timeout: %v", err)
	}
	if took > time.Minute {
		t.Errorf("the create took %v with a hook timeout of 2s", took)
	}
	expectNoLeftovers(t, before, id)
}

// testFailingStartContainer: a startContainer hook that cannot run fails
// the start, and the module never runs.
func testFailingStartContainer(t *testing.T, bin string) {
	id := containerID(t)
	hooks := &specs.Hooks{StartContainer: []specs.Hook{{Path: "/no-such-hook", Args: []string{"no-such-hook", id}}}}
	c, ctx := newClient(t)
	ctr := newContainer(t, c, ctx, id, []string{helloModule}, withHooks(hooks))
	var out bytes.Buffer
	task, err := ctr.NewTask(ctx, goIO(nil, &out, &out))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	statusC, err := task.Wait(ctx)
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	err = task.Start(ctx)
	t.Logf("start: %v", err)
	if err == nil || !strings.Contains(err.Error(), "startContainer") || !strings.Contains(err.Error(), "/no-such-hook") {
		t.Errorf("start with a missing startContainer hook = %v, want an error naming the hook", err)
	}
	st := <-statusC
	if st.ExitCode() == 0 || strings.Contains(out.String(), "Hello") {
		t.Errorf("the module ran after its startContainer hook failed: exit %d, output %q", st.ExitCode(), out.String())
	}
	if _, err := task.Delete(ctx); err != nil {
		t.Errorf("delete: %v", err)
	}
}

// testFailingPoststart: as runc, a failing poststart hook fails the start
// and kills the task.
func testFailingPoststart(t *testing.T, bin string) {
	id := containerID(t)
	f := newHookFixture(t, bin, id)
	marker := "poststart says no " + id
	hooks := &specs.Hooks{
		Poststart: []specs.Hook{f.hook("fail", "poststart", marker)},
		Poststop:  []specs.Hook{f.hook("record", "poststop")},
	}
	c, ctx := newClient(t)
	ctr := newContainer(t, c, ctx, id, []string{"/busyloop.wasm"}, withHooks(hooks))
	task, err := ctr.NewTask(ctx, goIO(nil, io.Discard, io.Discard))
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	statusC, err := task.Wait(ctx)
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	err = task.Start(ctx)
	t.Logf("start: %v", err)
	if err == nil || !strings.Contains(err.Error(), marker) {
		t.Errorf("start with a failing poststart hook = %v, want its stderr %q", err, marker)
	}
	select {
	case st := <-statusC:
		if st.ExitCode() != 137 {
			t.Errorf("task exit %d after its poststart hook failed, want 137 (killed)", st.ExitCode())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the spinning task still runs after its poststart hook failed")
	}
	if _, err := task.Delete(ctx); err != nil {
		t.Errorf("delete: %v", err)
	}
	f.mustRecord(t, "poststop")
}
