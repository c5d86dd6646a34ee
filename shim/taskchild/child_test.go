package taskchild

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/errdefs"
)

// TestMain lets the test binary play the task child, as the shim binary
// does: Spawn re-executes /proc/self/exe.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == ChildArg {
		Main(fakeEngine{})
	}
	os.Exit(m.Run())
}

// fakeEngine "runs" a module by printing its argv; args[1] picks the
// behaviour.
type fakeEngine struct{}

type fakeProgram struct{ spec Spec }

func (fakeEngine) Prepare(s Spec) (Program, error) {
	switch s.ModulePath {
	case "bad":
		return nil, errors.New("bad module: unknown import `env::nope`")
	case "missing-import":
		return nil, Classify(errors.New("instantiate: unknown import `env::nope`"), errdefs.ErrFailedPrecondition)
	case "not-wasm":
		return nil, Classify(errors.New("not a WebAssembly module"), errdefs.ErrInvalidArgument)
	case "server":
		return fakeServer{fakeProgram{s}}, nil
	}
	return fakeProgram{s}, nil
}

func (p fakeProgram) Run(stderr io.Writer) Result {
	switch p.spec.Args[1] {
	case "spin":
		for {
		}
	case "exit":
		n, _ := strconv.Atoi(p.spec.Args[2])
		return Result{Status: n}
	case "oom":
		return Result{Status: 2, OutOfMemory: true}
	case "id":
		groups, _ := os.Getgroups()
		fmt.Println(os.Getuid(), os.Getgid(), groups)
		return Result{}
	}
	fmt.Println(strings.Join(p.spec.Args, " "))
	return Result{}
}

func spawn(t *testing.T, modulePath string, args ...string) (*Child, *os.File) {
	t.Helper()
	return spawnAs(t, nil, modulePath, args...)
}

func spawnAs(t *testing.T, user *User, modulePath string, args ...string) (*Child, *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	c, err := Spawn(context.Background(), Options{
		Spec:   Spec{ModulePath: modulePath, Args: append([]string{"/m.wasm"}, args...), User: user},
		Stdout: w, Stderr: w,
	})
	w.Close()
	if err != nil {
		t.Fatalf("spawn: %v", err)
	}
	t.Cleanup(func() { _ = c.Signal(syscall.SIGKILL) })
	return c, r
}

func TestStartRunsTheProgramAndReportsItsStatus(t *testing.T) {
	c, out := spawn(t, "ok", "exit", "3")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if got := c.Wait().Status; got != 3 {
		t.Fatalf("exit status = %d, want 3", got)
	}
	rest, _ := io.ReadAll(out)
	if len(rest) != 0 {
		t.Fatalf("unexpected output %q", rest)
	}
}

func TestOutputGoesToTheGivenStdout(t *testing.T) {
	c, out := spawn(t, "ok", "hello", "world")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if got := c.Wait().Status; got != 0 {
		t.Fatalf("exit status = %d, want 0", got)
	}
	got, _ := io.ReadAll(out)
	if string(got) != "/m.wasm hello world\n" {
		t.Fatalf("output = %q", got)
	}
}

func TestPrepareErrorIsReturnedBySpawn(t *testing.T) {
	_, err := Spawn(context.Background(), Options{Spec: Spec{ModulePath: "bad", Args: []string{"x"}}})
	if err == nil || !strings.Contains(err.Error(), "unknown import `env::nope`") {
		t.Fatalf("Spawn error = %v, want the engine's error", err)
	}
}

// TestPrepareErrorKeepsItsClass: the class an engine gives its error
// crosses the status fd with the message; an error without one stays
// without (containerd reports it as Unknown).
func TestPrepareErrorKeepsItsClass(t *testing.T) {
	tests := []struct {
		module string
		class  func(error) bool
		msg    string
	}{
		{"missing-import", errdefs.IsFailedPrecondition, "instantiate: unknown import `env::nope`: failed precondition"},
		{"not-wasm", errdefs.IsInvalidArgument, "not a WebAssembly module: invalid argument"},
		{"bad", errdefs.IsUnknown, "bad module: unknown import `env::nope`"},
	}
	for _, tc := range tests {
		t.Run(tc.module, func(t *testing.T) {
			_, err := Spawn(context.Background(), Options{Spec: Spec{ModulePath: tc.module, Args: []string{"x"}}})
			if err == nil || !tc.class(errdefs.Resolve(err)) || err.Error() != tc.msg {
				t.Fatalf("Spawn error = %v (class %v), want %q of the engine's class", err, errdefs.Resolve(err), tc.msg)
			}
		})
	}
}

func TestTerminatingSignalsExitWith128PlusSignal(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGKILL} {
		t.Run(sig.String(), func(t *testing.T) {
			c, _ := spawn(t, "ok", "spin")
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond) // let it reach the loop
			if err := c.Signal(sig); err != nil {
				t.Fatal(err)
			}
			if got, want := c.Wait().Status, 128+int(sig); got != want {
				t.Fatalf("exit status = %d, want %d", got, want)
			}
		})
	}
}

func TestSignalBeforeStartEndsTheChild(t *testing.T) {
	c, _ := spawn(t, "ok", "spin")
	if err := c.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if got := c.Wait().Status; got != 143 {
		t.Fatalf("exit status = %d, want 143", got)
	}
}

func TestReleasedChildExitsWithoutRunning(t *testing.T) {
	c, out := spawn(t, "ok", "hello")
	c.release()
	if got := c.Wait().Status; got != 1 {
		t.Fatalf("exit status = %d, want 1", got)
	}
	if got, _ := io.ReadAll(out); len(got) != 0 {
		t.Fatalf("a child that was never started ran: %q", got)
	}
}

func TestOutOfMemoryIsReported(t *testing.T) {
	c, _ := spawn(t, "ok", "oom")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if got := c.Wait(); got != (Result{Status: 2, OutOfMemory: true}) {
		t.Fatalf("result = %+v, want status 2 and out of memory", got)
	}
}

func TestKilledChildIsNotOutOfMemory(t *testing.T) {
	c, _ := spawn(t, "ok", "spin")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	_ = c.Signal(syscall.SIGKILL)
	if got := c.Wait(); got != (Result{Status: 137}) {
		t.Fatalf("result = %+v, want status 137 only", got)
	}
}

func TestRunsAsTheSpecsUser(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("switching users needs root")
	}
	c, out := spawnAs(t, &User{UID: 65534, GID: 65533, AdditionalGids: []uint32{65532}}, "ok", "id")
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if got := c.Wait().Status; got != 0 {
		t.Fatalf("exit status = %d", got)
	}
	got, _ := io.ReadAll(out)
	if string(got) != "65534 65533 [65532]\n" {
		t.Fatalf("uid gid groups = %q, want 65534 65533 [65532]", got)
	}
}
