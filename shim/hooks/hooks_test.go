package hooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// helper is the test hook program (testdata/helper), built static once so
// that it also runs inside a bare chroot.
var helper string

func TestMain(m *testing.M) {
	os.Exit(buildHelperAndRun(m))
}

func buildHelperAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "hooks-helper")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// Anyone may run it: one test runs it as nobody.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	helper = filepath.Join(dir, "helper")
	cmd := exec.Command("go", "build", "-o", helper, "./testdata/helper")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build ./testdata/helper: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// record is what the helper's record mode writes.
type record struct {
	Args  []string `json:"args"`
	Env   []string `json:"env"`
	Stdin string   `json:"stdin"`
	Cwd   string   `json:"cwd"`
	UID   int      `json:"uid"`
	GID   int      `json:"gid"`
}

func readRecord(t *testing.T, path string) record {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the hook left no record: %v", err)
	}
	var r record
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("decode the hook's record: %v", err)
	}
	return r
}

func decodeState(t *testing.T, stdin string) specs.State {
	t.Helper()
	var s specs.State
	if err := json.Unmarshal([]byte(stdin), &s); err != nil {
		t.Fatalf("stdin is not a JSON state: %v: %q", err, stdin)
	}
	return s
}

func hook(args ...string) specs.Hook {
	return specs.Hook{Path: helper, Args: append([]string{"helper"}, args...)}
}

func seconds(n int) *int { return &n }

var testState = NewState("c1", "/run/bundle/c1", map[string]string{"io.example/a": "b"}, specs.StateCreating, 4242)

func TestStateOnStdin(t *testing.T) {
	out := filepath.Join(t.TempDir(), "record")
	if err := Run(context.Background(), CreateRuntime, []specs.Hook{hook("record", out)}, testState, Options{}); err != nil {
		t.Fatal(err)
	}
	r := readRecord(t, out)
	got := decodeState(t, r.Stdin)
	if !reflect.DeepEqual(&got, testState) {
		t.Errorf("state on stdin = %+v, want %+v", got, *testState)
	}
	for _, field := range []string{`"ociVersion":"` + specs.Version + `"`, `"status":"creating"`, `"pid":4242`, `"bundle":"/run/bundle/c1"`} {
		if !strings.Contains(r.Stdin, field) {
			t.Errorf("state on stdin lacks %s: %s", field, r.Stdin)
		}
	}
}

func TestStoppedStateHasNoPid(t *testing.T) {
	out := filepath.Join(t.TempDir(), "record")
	st := NewState("c1", "/b", nil, specs.StateStopped, 0)
	if err := Run(context.Background(), Poststop, []specs.Hook{hook("record", out)}, st, Options{}); err != nil {
		t.Fatal(err)
	}
	if stdin := readRecord(t, out).Stdin; strings.Contains(stdin, `"pid"`) {
		t.Errorf("a stopped container's state names a pid: %s", stdin)
	}
}

// TestArgsAndEnv: a hook gets exactly its args (args[0] is its argv[0],
// path the program) and exactly its env: nothing of ours leaks.
func TestArgsAndEnv(t *testing.T) {
	t.Setenv("HOOKS_TEST_SECRET", "leak")
	dir := t.TempDir()
	tests := []struct {
		name     string
		hook     func(out string) specs.Hook
		opts     Options
		wantArgs func(out string) []string
		wantEnv  func(out string) []string
	}{{
		name: "args and env",
		hook: func(out string) specs.Hook {
			return specs.Hook{Path: helper, Args: []string{"argv-zero", "record", out}, Env: []string{"A=1", "B=two words"}}
		},
		wantArgs: func(out string) []string { return []string{"argv-zero", "record", out} },
		wantEnv:  func(string) []string { return []string{"A=1", "B=two words"} },
	}, {
		name:     "no env is an empty env",
		hook:     func(out string) specs.Hook { return hook("record", out) },
		wantArgs: func(out string) []string { return []string{"helper", "record", out} },
		wantEnv:  func(string) []string { return []string{} },
	}, {
		name: "no args is argv {path}",
		hook: func(out string) specs.Hook {
			return specs.Hook{Path: helper, Env: []string{"HELPER_ARGS=record " + out}}
		},
		wantArgs: func(string) []string { return []string{helper} },
		wantEnv:  func(out string) []string { return []string{"HELPER_ARGS=record " + out} },
	}, {
		name:     "default env for a hook without one",
		hook:     func(out string) specs.Hook { return hook("record", out) },
		opts:     Options{DefaultEnv: []string{"PATH=/bin", "HOME=/"}},
		wantArgs: func(out string) []string { return []string{"helper", "record", out} },
		wantEnv:  func(string) []string { return []string{"PATH=/bin", "HOME=/"} },
	}, {
		name: "a hook's own env wins over the default",
		hook: func(out string) specs.Hook {
			return specs.Hook{Path: helper, Args: []string{"h", "record", out}, Env: []string{"OWN=1"}}
		},
		opts:     Options{DefaultEnv: []string{"PATH=/bin"}},
		wantArgs: func(out string) []string { return []string{"h", "record", out} },
		wantEnv:  func(string) []string { return []string{"OWN=1"} },
	}}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, strconv.Itoa(i))
			if err := Run(context.Background(), CreateRuntime, []specs.Hook{tc.hook(out)}, testState, tc.opts); err != nil {
				t.Fatal(err)
			}
			r := readRecord(t, out)
			if want := tc.wantArgs(out); !reflect.DeepEqual(r.Args, want) {
				t.Errorf("args = %q, want %q", r.Args, want)
			}
			if want := tc.wantEnv(out); !reflect.DeepEqual(r.Env, want) {
				t.Errorf("env = %q, want %q", r.Env, want)
			}
		})
	}
}

func TestWorkingDirectory(t *testing.T) {
	dir, out := t.TempDir(), filepath.Join(t.TempDir(), "record")
	if err := Run(context.Background(), Poststart, []specs.Hook{hook("record", out)}, testState, Options{Dir: dir}); err != nil {
		t.Fatal(err)
	}
	if cwd := readRecord(t, out).Cwd; cwd != dir {
		t.Errorf("cwd = %s, want %s", cwd, dir)
	}
}

// TestOrderAndFirstFailure: hooks run in their order, a failing one fails
// the list with its exit status and output, and the ones after it never run.
func TestOrderAndFirstFailure(t *testing.T) {
	log := filepath.Join(t.TempDir(), "order")
	list := []specs.Hook{hook("append", log, "first"), hook("append", log, "second"), hook("fail", "3"), hook("append", log, "never")}
	err := Run(context.Background(), CreateRuntime, list, testState, Options{})
	if err == nil {
		t.Fatal("a failing hook did not fail the list")
	}
	for _, want := range []string{"createRuntime hook #2", helper, "exit status 3", "stderr: the reason, on stderr", "stdout: said on stdout"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	data, _ := os.ReadFile(log)
	if got := string(data); got != "first\nsecond\n" {
		t.Errorf("hooks that ran, in order: %q, want first and second only", got)
	}
}

// TestRunEach: after a failure the remaining hooks still run, and every
// failure is reported.
func TestRunEach(t *testing.T) {
	log := filepath.Join(t.TempDir(), "order")
	list := []specs.Hook{hook("fail", "4"), hook("append", log, "after"), hook("fail", "5")}
	err := RunEach(context.Background(), Poststop, list, testState, Options{})
	if err == nil {
		t.Fatal("failing hooks did not fail RunEach")
	}
	for _, want := range []string{"poststop hook #0", "exit status 4", "poststop hook #2", "exit status 5"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if data, _ := os.ReadFile(log); string(data) != "after\n" {
		t.Errorf("the hook after a failure ran: %q, want %q", data, "after\n")
	}
}

// TestTimeoutKills: a hook past its timeout is killed, with whatever it
// started, and fails with a message that says so.
func TestTimeoutKills(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	h := hook("hang", pidFile)
	h.Timeout = seconds(1)
	start := time.Now()
	err := Run(context.Background(), CreateRuntime, []specs.Hook{h}, testState, Options{})
	took := time.Since(start)
	if err == nil || !strings.Contains(err.Error(), "timeout of 1s") {
		t.Fatalf("error = %v, want a timeout of 1s", err)
	}
	if took > time.Second+waitDelay {
		t.Errorf("Run returned %v after the start, long past the 1s timeout", took)
	}
	data, rerr := os.ReadFile(pidFile)
	if rerr != nil {
		t.Fatalf("the hook did not start its child: %v", rerr)
	}
	pid, _ := strconv.Atoi(string(data))
	if !gone(pid, 5*time.Second) {
		t.Errorf("process %d that the hook started outlived the hook's timeout", pid)
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// gone waits until pid no longer runs (absent, or a zombie left to init).
func gone(pid int, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true
		}
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 && strings.HasPrefix(string(stat[i:]), ") Z") {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

func TestNoTimeoutWaits(t *testing.T) {
	h := hook("record", filepath.Join(t.TempDir(), "r"))
	h.Timeout = seconds(30)
	if err := Run(context.Background(), CreateRuntime, []specs.Hook{h}, testState, Options{}); err != nil {
		t.Fatalf("a quick hook with a long timeout failed: %v", err)
	}
}

func TestCancelKills(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := Run(ctx, CreateRuntime, []specs.Hook{hook("sleep")}, testState, Options{})
	if err == nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error = %v, want the context's deadline", err)
	}
}

// TestOutputBounded: a hook that writes without end costs a bounded error
// message that keeps the end of its output.
func TestOutputBounded(t *testing.T) {
	err := Run(context.Background(), CreateRuntime, []specs.Hook{hook("spew")}, testState, Options{})
	if err == nil {
		t.Fatal("the spewing hook did not fail")
	}
	msg := err.Error()
	if len(msg) > outputLimit+512 {
		t.Errorf("error is %d bytes long", len(msg))
	}
	if !strings.Contains(msg, "stderr: ...") || !strings.HasSuffix(msg, "the end") {
		t.Errorf("error does not keep the end of the output: ...%s", msg[max(0, len(msg)-100):])
	}
}

func TestMissingProgram(t *testing.T) {
	err := Run(context.Background(), CreateRuntime, []specs.Hook{{Path: "/nonexistent/hook"}}, testState, Options{})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/hook") || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("error = %v, want the missing program named", err)
	}
}

// TestRoot: under Root the hook's path and its files resolve inside that
// root, and it starts at the root's top, as a startContainer hook after
// pivot_root.
func TestRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chroot needs root")
	}
	root := t.TempDir()
	data, err := os.ReadFile(helper)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "hook"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	h := specs.Hook{Path: "/hook", Args: []string{"hook", "record", "/record"}}
	if err := Run(context.Background(), StartContainer, []specs.Hook{h}, testState, Options{Root: root}); err != nil {
		t.Fatal(err)
	}
	if cwd := readRecord(t, filepath.Join(root, "record")).Cwd; cwd != "/" {
		t.Errorf("cwd = %s, want / inside the root", cwd)
	}
	// The helper is at this path on the host, not in the root.
	err = Run(context.Background(), StartContainer, []specs.Hook{hook("sleep")}, testState, Options{Root: root})
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a path outside the root ran, or failed otherwise: %v", err)
	}
}

func TestCredential(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("changing identity needs root")
	}
	dir, err := os.MkdirTemp("", "hooks-credential")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	out := filepath.Join(dir, "record")
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	cred := &syscall.Credential{Uid: 65534, Gid: 65533}
	if err := Run(context.Background(), StartContainer, []specs.Hook{hook("record", out)}, testState, Options{Credential: cred}); err != nil {
		t.Fatal(err)
	}
	if r := readRecord(t, out); r.UID != 65534 || r.GID != 65533 {
		t.Errorf("hook ran as %d:%d, want 65534:65533", r.UID, r.GID)
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name  string
		hooks *specs.Hooks
		ok    bool
	}{
		{"nil", nil, true},
		{"good", &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/true", Timeout: seconds(2)}}, Poststop: []specs.Hook{{Path: "/bin/true"}}}, true},
		{"relative path", &specs.Hooks{Poststart: []specs.Hook{{Path: "bin/true"}}}, false},
		{"bare name", &specs.Hooks{StartContainer: []specs.Hook{{Path: "true"}}}, false},
		{"zero timeout", &specs.Hooks{CreateContainer: []specs.Hook{{Path: "/bin/true", Timeout: seconds(0)}}}, false},
		{"negative timeout", &specs.Hooks{Prestart: []specs.Hook{{Path: "/bin/true", Timeout: seconds(-1)}}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Validate(tc.hooks)
			if tc.ok != (err == nil) {
				t.Fatalf("Validate = %v, want ok=%v", err, tc.ok)
			}
			if err != nil && !errdefs.IsInvalidArgument(err) {
				t.Errorf("error %v is not an invalid argument", err)
			}
		})
	}
}

func TestRunRefusesRelativePath(t *testing.T) {
	err := Run(context.Background(), CreateRuntime, []specs.Hook{{Path: "true"}}, testState, Options{})
	if !errdefs.IsInvalidArgument(err) {
		t.Fatalf("a bare name was not refused: %v", err)
	}
}

func TestOfAndAny(t *testing.T) {
	h := &specs.Hooks{
		Prestart:        []specs.Hook{{Path: "/p"}},
		CreateRuntime:   []specs.Hook{{Path: "/cr"}},
		CreateContainer: []specs.Hook{{Path: "/cc"}},
		StartContainer:  []specs.Hook{{Path: "/sc"}},
		Poststart:       []specs.Hook{{Path: "/ps"}},
		Poststop:        []specs.Hook{{Path: "/pp"}},
	}
	want := map[Kind]string{Prestart: "/p", CreateRuntime: "/cr", CreateContainer: "/cc", StartContainer: "/sc", Poststart: "/ps", Poststop: "/pp"}
	for _, k := range Kinds {
		if got := Of(h, k); len(got) != 1 || got[0].Path != want[k] {
			t.Errorf("Of(%s) = %v, want %s", k, got, want[k])
		}
	}
	if Of(nil, Poststop) != nil || Any(nil, Kinds...) {
		t.Error("nil hooks are not empty")
	}
	if !Any(&specs.Hooks{Poststop: h.Poststop}, CreateRuntime, Poststop) || Any(&specs.Hooks{Poststop: h.Poststop}, CreateRuntime) {
		t.Error("Any does not look at exactly the kinds given")
	}
}
