package shim

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	taskapi "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/containerd/containerd/api/types/runc/options"
	"github.com/containerd/containerd/api/types/task"
	"github.com/containerd/containerd/v2/core/runtime"
	"github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errgrpc"
	"github.com/containerd/ttrpc"
	"github.com/containerd/typeurl/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/native"
	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/taskchild"
)

func taskState(t *testing.T, s *service, id, execID string) task.Status {
	t.Helper()
	st, err := s.State(context.Background(), &taskapi.StateRequest{ID: id, ExecID: execID})
	if err != nil {
		t.Fatalf("state of %s/%s: %v", id, execID, err)
	}
	return st.Status
}

func must[T any](t *testing.T, what string) func(T, error) T {
	t.Helper()
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
}

// TestServiceLifecycle drives one task and an exec through their lives
// and checks the states State reports and the events, in order.
func TestServiceLifecycle(t *testing.T) {
	ctx := context.Background()
	pub := &stubPublisher{}
	s := testService(t, &stubPlatform{}, pub)
	created := must[*taskapi.CreateTaskResponse](t, "create")(s.Create(ctx, testBundle(t, "c1", "run")))
	if created.Pid == 0 {
		t.Fatal("create returned no pid")
	}
	steps := []struct {
		name string
		call func() error
		id   string
		want task.Status
	}{
		{"create", func() error { return nil }, "", task.Status_CREATED},
		{"start", func() error { _, err := s.Start(ctx, &taskapi.StartRequest{ID: "c1"}); return err }, "", task.Status_RUNNING},
		{"exec", func() error { _, err := s.Exec(ctx, execRequest(t, "c1", "e1", "run")); return err }, "e1", task.Status_CREATED},
		{"start exec", func() error { _, err := s.Start(ctx, &taskapi.StartRequest{ID: "c1", ExecID: "e1"}); return err }, "e1", task.Status_RUNNING},
		{"pause", func() error { _, err := s.Pause(ctx, &taskapi.PauseRequest{ID: "c1"}); return err }, "", task.Status_PAUSED},
		// An exec is frozen with its container (containerd reports the
		// parent's paused).
		{"exec paused", func() error { return nil }, "e1", task.Status_PAUSED},
		{"resume", func() error { _, err := s.Resume(ctx, &taskapi.ResumeRequest{ID: "c1"}); return err }, "", task.Status_RUNNING},
		{"exec resumed", func() error { return nil }, "e1", task.Status_RUNNING},
		{"kill exec", func() error {
			_, err := s.Kill(ctx, &taskapi.KillRequest{ID: "c1", ExecID: "e1", Signal: uint32(syscall.SIGTERM)})
			if err == nil {
				_, err = s.Wait(ctx, &taskapi.WaitRequest{ID: "c1", ExecID: "e1"})
			}
			return err
		}, "e1", task.Status_STOPPED},
		{"kill", func() error {
			_, err := s.Kill(ctx, &taskapi.KillRequest{ID: "c1", Signal: uint32(syscall.SIGKILL)})
			if err == nil {
				_, err = s.Wait(ctx, &taskapi.WaitRequest{ID: "c1"})
			}
			return err
		}, "", task.Status_STOPPED},
	}
	for _, step := range steps {
		if err := step.call(); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if got := taskState(t, s, "c1", step.id); got != step.want {
			t.Fatalf("after %s: %s/%q is %s, want %s", step.name, "c1", step.id, got, step.want)
		}
	}
	if _, err := s.Delete(ctx, &taskapi.DeleteRequest{ID: "c1", ExecID: "e1"}); err != nil {
		t.Fatalf("delete exec: %v", err)
	}
	resp := must[*taskapi.DeleteResponse](t, "delete")(s.Delete(ctx, &taskapi.DeleteRequest{ID: "c1"}))
	if resp.ExitStatus != 128+9 || resp.Pid != created.Pid {
		t.Fatalf("delete response %+v, want status 137 of pid %d", resp, created.Pid)
	}
	pub.waitFor(t, runtime.TaskDeleteEventTopic, 1)
	want := []string{
		runtime.TaskCreateEventTopic, runtime.TaskStartEventTopic,
		runtime.TaskExecAddedEventTopic, runtime.TaskExecStartedEventTopic,
		runtime.TaskPausedEventTopic, runtime.TaskResumedEventTopic,
		runtime.TaskExitEventTopic, runtime.TaskExitEventTopic, runtime.TaskDeleteEventTopic,
	}
	if got := pub.topics(); !slices.Equal(got, want) {
		t.Fatalf("events\n got %v\nwant %v", got, want)
	}
}

// TestServiceIllegalCalls: a call that the process's state forbids fails
// with a clear message and the right class.
func TestServiceIllegalCalls(t *testing.T) {
	ctx := context.Background()
	s := testService(t, &stubPlatform{}, &stubPublisher{})
	must[*taskapi.CreateTaskResponse](t, "create")(s.Create(ctx, testBundle(t, "c1", "run")))
	tests := []struct {
		name  string
		setup func() error
		call  func() error
		class func(error) bool
		msg   string
	}{
		{"pause a created task", nil,
			func() error { _, err := s.Pause(ctx, &taskapi.PauseRequest{ID: "c1"}); return err },
			errdefs.IsFailedPrecondition, "cannot pause a created process"},
		{"resume a created task", nil,
			func() error { _, err := s.Resume(ctx, &taskapi.ResumeRequest{ID: "c1"}); return err },
			errdefs.IsFailedPrecondition, "cannot resume a created process"},
		{"resume a running task",
			func() error { _, err := s.Start(ctx, &taskapi.StartRequest{ID: "c1"}); return err },
			func() error { _, err := s.Resume(ctx, &taskapi.ResumeRequest{ID: "c1"}); return err },
			errdefs.IsFailedPrecondition, "cannot resume a running process"},
		{"start a running task", nil,
			func() error { _, err := s.Start(ctx, &taskapi.StartRequest{ID: "c1"}); return err },
			errdefs.IsFailedPrecondition, "cannot start a running process"},
		{"delete a running task", nil,
			func() error { _, err := s.Delete(ctx, &taskapi.DeleteRequest{ID: "c1"}); return err },
			errdefs.IsFailedPrecondition, "cannot delete a running process"},
		{"pause a paused task",
			func() error { _, err := s.Pause(ctx, &taskapi.PauseRequest{ID: "c1"}); return err },
			func() error { _, err := s.Pause(ctx, &taskapi.PauseRequest{ID: "c1"}); return err },
			errdefs.IsFailedPrecondition, "cannot pause a paused process"},
		{"start an unknown exec", nil,
			func() error { _, err := s.Start(ctx, &taskapi.StartRequest{ID: "c1", ExecID: "nope"}); return err },
			errdefs.IsNotFound, "exec nope of task c1"},
		{"create a task twice", nil,
			func() error { _, err := s.Create(ctx, testBundle(t, "c1", "run")); return err },
			errdefs.IsAlreadyExists, "task c1"},
		{"kill a stopped task",
			func() error {
				if _, err := s.Kill(ctx, &taskapi.KillRequest{ID: "c1", Signal: uint32(syscall.SIGKILL)}); err != nil {
					return err
				}
				_, err := s.Wait(ctx, &taskapi.WaitRequest{ID: "c1"})
				return err
			},
			func() error {
				_, err := s.Kill(ctx, &taskapi.KillRequest{ID: "c1", Signal: uint32(syscall.SIGTERM)})
				return err
			},
			errdefs.IsNotFound, "already finished"},
		{"start a stopped task", nil,
			func() error { _, err := s.Start(ctx, &taskapi.StartRequest{ID: "c1"}); return err },
			errdefs.IsFailedPrecondition, "cannot start a stopped process"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.setup != nil {
				if err := tc.setup(); err != nil {
					t.Fatalf("setup: %v", err)
				}
			}
			err := tc.call()
			if err == nil || !tc.class(err) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %v, want %q of the right class", err, tc.msg)
			}
		})
	}
}

// TestServiceCreateErrorKeepsClass: the reason a module cannot be
// prepared reaches containerd with its class.
func TestServiceCreateErrorKeepsClass(t *testing.T) {
	pub := &stubPublisher{}
	s := testService(t, &stubPlatform{}, pub)
	_, err := s.Create(context.Background(), testBundle(t, "c1", "bad"))
	if !errdefs.IsInvalidArgument(err) {
		t.Fatalf("create of a bad module: %v, want InvalidArgument", err)
	}
	if _, err := s.State(context.Background(), &taskapi.StateRequest{ID: "c1"}); !errdefs.IsNotFound(err) {
		t.Fatalf("a failed create left a task: %v", err)
	}
}

// TestServiceConcurrentCreate: two Creates of one id make one task; the
// other is refused before it spawns anything.
func TestServiceConcurrentCreate(t *testing.T) {
	plat := &stubPlatform{spawnDelay: 50 * time.Millisecond}
	s := testService(t, plat, &stubPublisher{})
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		req := testBundle(t, "c1", "run")
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.Create(context.Background(), req)
		}()
	}
	wg.Wait()
	ok, exists := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errdefs.IsAlreadyExists(err):
			exists++
		default:
			t.Errorf("create: %v", err)
		}
	}
	if ok != 1 || exists != 1 || plat.spawned() != 1 {
		t.Fatalf("%d creates succeeded, %d refused, %d children spawned; want 1, 1, 1 (errors %v)", ok, exists, plat.spawned(), errs)
	}
}

// TestServiceEarlyExit: a child that dies before Start publishes its exit
// after its create, every time.
func TestServiceEarlyExit(t *testing.T) {
	for i := range 200 {
		pub := &stubPublisher{}
		s := testService(t, &stubPlatform{}, pub)
		id := fmt.Sprintf("c%d", i)
		if _, err := s.Create(context.Background(), testBundle(t, id, "early")); err != nil {
			t.Fatal(err)
		}
		pub.waitFor(t, runtime.TaskExitEventTopic, 1)
		if got := pub.topics(); got[0] != runtime.TaskCreateEventTopic {
			t.Fatalf("round %d: events %v: the exit overtook the create", i, got)
		}
	}
}

// TestServiceSlowPublisher: a containerd that takes no events never
// stalls a task operation; the events go out once it does.
func TestServiceSlowPublisher(t *testing.T) {
	ctx := context.Background()
	pub := &stubPublisher{gate: make(chan struct{})}
	s := testService(t, &stubPlatform{}, pub)
	const rounds = 100 // 4 events each: more than any fixed buffer
	reqs := make([]*taskapi.CreateTaskRequest, rounds)
	for i := range reqs {
		reqs[i] = testBundle(t, fmt.Sprintf("c%d", i), "run")
	}
	done := make(chan error, 1)
	go func() {
		for _, req := range reqs {
			if err := runToDelete(ctx, s, req); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		close(pub.gate)
		t.Fatal("task operations stalled behind a containerd that takes no events")
	}
	close(pub.gate)
	pub.waitFor(t, runtime.TaskDeleteEventTopic, rounds)
}

// runToDelete creates, starts, kills and deletes one task.
func runToDelete(ctx context.Context, s *service, req *taskapi.CreateTaskRequest) error {
	id := req.ID
	if _, err := s.Create(ctx, req); err != nil {
		return err
	}
	if _, err := s.Start(ctx, &taskapi.StartRequest{ID: id}); err != nil {
		return err
	}
	if _, err := s.Kill(ctx, &taskapi.KillRequest{ID: id, Signal: uint32(syscall.SIGKILL)}); err != nil {
		return err
	}
	if _, err := s.Wait(ctx, &taskapi.WaitRequest{ID: id}); err != nil {
		return err
	}
	_, err := s.Delete(ctx, &taskapi.DeleteRequest{ID: id})
	return err
}

// TestServiceSlowFreeze: State and Kill answer while a freeze is under way.
func TestServiceSlowFreeze(t *testing.T) {
	ctx := context.Background()
	s := testService(t, &stubPlatform{freezeDelay: 2 * time.Second}, &stubPublisher{})
	must[*taskapi.CreateTaskResponse](t, "create")(s.Create(ctx, testBundle(t, "c1", "run")))
	must[*taskapi.StartResponse](t, "start")(s.Start(ctx, &taskapi.StartRequest{ID: "c1"}))
	go func() { _, _ = s.Pause(ctx, &taskapi.PauseRequest{ID: "c1"}) }()
	time.Sleep(100 * time.Millisecond)
	begin := time.Now()
	st := taskState(t, s, "c1", "")
	if d := time.Since(begin); d > time.Second {
		t.Fatalf("State took %v while a freeze was under way", d)
	}
	if st != task.Status_RUNNING {
		t.Fatalf("state %s while the freeze is under way, want RUNNING", st)
	}
}

// TestErrorsToGRPCKeepClass: the ttrpc edge converts an error once, with
// the class that it carried from the task child.
func TestErrorsToGRPCKeepClass(t *testing.T) {
	childErr := taskchild.Classify(errors.New("m.wasm: not a WebAssembly module"), errdefs.ErrInvalidArgument)
	method := func(context.Context, func(any) error) (any, error) {
		return nil, fmt.Errorf("create task c1: %w", childErr)
	}
	_, err := errorsToGRPC(context.Background(), nil, &ttrpc.UnaryServerInfo{}, method)
	if got := status.Code(err); got != codes.InvalidArgument {
		t.Fatalf("code %v (%v), want InvalidArgument", got, err)
	}
	if !errdefs.IsInvalidArgument(errgrpc.ToNative(err)) || !strings.Contains(err.Error(), "not a WebAssembly module") {
		t.Fatalf("containerd would see %v", errgrpc.ToNative(err))
	}
}

// TestNativePidsListTheCgroup: Pids of a native container lists every
// process in its cgroup, as runc's shim does, an exec's id beside its pid.
func TestNativePidsListTheCgroup(t *testing.T) {
	proc := func(id string, pid int, parent *lifecycle) *process {
		child := &stubChild{pid: pid, done: make(chan struct{})}
		t.Cleanup(func() { child.finish(0) })
		return watch(&process{id: id, child: child, io: &processIO{}}, parent)
	}
	init := proc("", 10, nil)
	c := &container{
		id:     "n1",
		native: &native.Init{},
		init:   init,
		cgroup: &stubCgroup{pids: []int{10, 11, 12}},
		execs:  map[string]*process{"e1": proc("e1", 12, init.life)},
	}
	infos, err := c.pids()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, info := range infos {
		var details options.ProcessDetails
		if info.Info != nil {
			if err := typeurl.UnmarshalTo(info.Info, &details); err != nil {
				t.Fatal(err)
			}
		}
		got = append(got, fmt.Sprintf("%d%s", info.Pid, details.ExecID))
	}
	if want := []string{"10", "11", "12e1"}; !slices.Equal(got, want) {
		t.Fatalf("pids %v, want %v", got, want)
	}
}

// TestServiceKillDuringPause: a SIGKILL that comes while a freeze is under
// way thaws the task once the freeze is done, so that it can die.
func TestServiceKillDuringPause(t *testing.T) {
	ctx := context.Background()
	plat := &stubPlatform{freezeDelay: 300 * time.Millisecond}
	pub := &stubPublisher{}
	s := testService(t, plat, pub)
	must[*taskapi.CreateTaskResponse](t, "create")(s.Create(ctx, testBundle(t, "c1", "run")))
	must[*taskapi.StartResponse](t, "start")(s.Start(ctx, &taskapi.StartRequest{ID: "c1"}))
	paused := make(chan error, 1)
	go func() { _, err := s.Pause(ctx, &taskapi.PauseRequest{ID: "c1"}); paused <- err }()
	time.Sleep(50 * time.Millisecond) // the cgroup is frozen, Pause has not returned
	if _, err := s.Kill(ctx, &taskapi.KillRequest{ID: "c1", Signal: uint32(syscall.SIGKILL)}); err != nil {
		t.Fatal(err)
	}
	if err := <-paused; err != nil {
		t.Fatalf("pause: %v", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := s.Wait(wctx, &taskapi.WaitRequest{ID: "c1"}); err != nil {
		t.Fatalf("the killed task never ended: %v", err)
	}
	pub.waitFor(t, runtime.TaskExitEventTopic, 1)
	want := []string{runtime.TaskCreateEventTopic, runtime.TaskStartEventTopic, runtime.TaskPausedEventTopic, runtime.TaskResumedEventTopic, runtime.TaskExitEventTopic}
	if got := pub.topics(); !slices.Equal(got, want) {
		t.Fatalf("events\n got %v\nwant %v", got, want)
	}
}

// TestServiceConcurrentExec: two Execs of one id make one exec; the other
// is refused before it spawns anything (a refused exec spawned into a
// paused task could not even be killed).
func TestServiceConcurrentExec(t *testing.T) {
	ctx := context.Background()
	plat := &stubPlatform{spawnDelay: 50 * time.Millisecond}
	s := testService(t, plat, &stubPublisher{})
	must[*taskapi.CreateTaskResponse](t, "create")(s.Create(ctx, testBundle(t, "c1", "run")))
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range errs {
		req := execRequest(t, "c1", "e1", "run")
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = s.Exec(ctx, req)
		}()
	}
	wg.Wait()
	if (errs[0] == nil) == (errs[1] == nil) || plat.spawned() != 2 {
		t.Fatalf("exec errors %v, %d children spawned; want one exec refused and 2 children (init and exec)", errs, plat.spawned())
	}
	for _, err := range errs {
		if err != nil && !errdefs.IsAlreadyExists(err) {
			t.Fatalf("refused exec: %v, want AlreadyExists", err)
		}
	}
}

// TestServiceDeleteUnstartedExecWhilePaused: an exec created but never
// started in a task that is then paused can still be deleted. Its child
// joins the task's cgroup only at Start, so the freeze does not hold the
// SIGKILL that deleting it sends (the cgroup v1 freezer would).
func TestServiceDeleteUnstartedExecWhilePaused(t *testing.T) {
	ctx := context.Background()
	plat := &stubPlatform{}
	s := testService(t, plat, &stubPublisher{})
	must[*taskapi.CreateTaskResponse](t, "create")(s.Create(ctx, testBundle(t, "c1", "run")))
	must[*taskapi.StartResponse](t, "start")(s.Start(ctx, &taskapi.StartRequest{ID: "c1"}))
	if _, err := s.Exec(ctx, execRequest(t, "c1", "e1", "run")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pause(ctx, &taskapi.PauseRequest{ID: "c1"}); err != nil {
		t.Fatal(err)
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := s.Delete(dctx, &taskapi.DeleteRequest{ID: "c1", ExecID: "e1"}); err != nil {
		t.Fatalf("delete the unstarted exec of a paused task: %v", err)
	}
	if _, err := s.Resume(ctx, &taskapi.ResumeRequest{ID: "c1"}); err != nil {
		t.Fatal(err)
	}
	// An exec started in a paused task joins the cgroup, and so the freeze.
	if _, err := s.Exec(ctx, execRequest(t, "c1", "e2", "run")); err != nil {
		t.Fatal(err)
	}
	must[*taskapi.StartResponse](t, "start e2")(s.Start(ctx, &taskapi.StartRequest{ID: "c1", ExecID: "e2"}))
	deleteAll(t, s, "c1")
	if pids := plat.alive(); len(pids) > 0 {
		t.Errorf("children %v were spawned and never ended", pids)
	}
}
