package shim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	eventstypes "github.com/containerd/containerd/api/events"
	taskapi "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/containerd/errdefs"
)

// TestServiceStress has many goroutines call the service over a few
// overlapping ids; run it with -race. Every call must succeed or fail
// with a class a client can act on, everything spawned must end once the
// tasks are deleted, and each task's events must tell a possible story.
func TestServiceStress(t *testing.T) {
	plat := &stubPlatform{spawnDelay: time.Millisecond, freezeDelay: time.Millisecond}
	pub := &stubPublisher{}
	s := testService(t, plat, pub)
	ids := []string{"a", "b", "c"}
	bundles := map[string][]*taskapi.CreateTaskRequest{}
	for _, id := range ids {
		for _, args := range [][]string{{"run"}, {"exit", "3"}, {"early"}} {
			bundles[id] = append(bundles[id], testBundle(t, id, args...))
		}
	}
	const workers, calls = 16, 600
	var wg sync.WaitGroup
	var mu sync.Mutex // guards succeeded
	succeeded := map[string]int{}
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			for range calls {
				id := ids[rng.IntN(len(ids))]
				name, err := stressCall(s, rng, id, bundles[id])
				if err == nil {
					mu.Lock()
					succeeded[strings.Fields(name)[0]]++
					mu.Unlock()
				}
				if err != nil && !errdefs.IsNotFound(err) && !errdefs.IsAlreadyExists(err) && !errdefs.IsFailedPrecondition(err) {
					t.Errorf("%s %s: %v (class %T)", name, id, err, errdefs.Resolve(err))
				}
			}
		}()
	}
	wg.Wait()
	t.Logf("calls that succeeded: %v", succeeded)
	// Resume is left out: a SIGKILL thaws a paused task first, so that
	// a random run may find nothing paused to resume.
	for _, op := range []string{"create", "start", "kill", "pause", "exec", "delete"} {
		if succeeded[op] == 0 {
			t.Errorf("no %s succeeded: the stress never reached that state", op)
		}
	}
	for _, id := range ids {
		deleteAll(t, s, id)
	}
	if pids := plat.alive(); len(pids) > 0 {
		t.Errorf("children %v were spawned and never ended", pids)
	}
	s.events.close(5 * time.Second)
	checkStories(t, pub.all())
}

// stressCall makes one random call about task id.
func stressCall(s *service, rng *rand.Rand, id string, bundles []*taskapi.CreateTaskRequest) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	execID := []string{"", "", "e1", "e2"}[rng.IntN(4)]
	var err error
	switch op := rng.IntN(10); op {
	case 0:
		_, err = s.Create(ctx, bundles[rng.IntN(len(bundles))])
		return "create", err
	case 1:
		_, err = s.Start(ctx, &taskapi.StartRequest{ID: id, ExecID: execID})
		return "start " + execID, err
	case 2:
		sig := []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM, 0}[rng.IntN(3)]
		_, err = s.Kill(ctx, &taskapi.KillRequest{ID: id, ExecID: execID, Signal: uint32(sig), All: rng.IntN(4) == 0})
		return fmt.Sprintf("kill %s %d", execID, sig), err
	case 3:
		_, err = s.Pause(ctx, &taskapi.PauseRequest{ID: id})
		return "pause", err
	case 4:
		_, err = s.Resume(ctx, &taskapi.ResumeRequest{ID: id})
		return "resume", err
	case 5:
		_, err = s.Exec(ctx, stressExec(id, rng))
		return "exec", err
	case 6, 7:
		_, err = s.State(ctx, &taskapi.StateRequest{ID: id, ExecID: execID})
		return "state " + execID, err
	case 8:
		_, err = s.Pids(ctx, &taskapi.PidsRequest{ID: id})
		return "pids", err
	default:
		_, err = s.Delete(ctx, &taskapi.DeleteRequest{ID: id, ExecID: execID})
		return "delete " + execID, err
	}
}

func stressExec(id string, rng *rand.Rand) *taskapi.ExecProcessRequest {
	execID := []string{"e1", "e2"}[rng.IntN(2)]
	args := [][]string{{"run"}, {"exit", "5"}}[rng.IntN(2)]
	data := fmt.Sprintf(`{"args":["/m.wasm",%q%s],"cwd":"/"}`, args[0], map[bool]string{true: `,"5"`, false: ""}[len(args) > 1])
	req := &taskapi.ExecProcessRequest{ID: id, ExecID: execID}
	req.Spec = processAny([]byte(data))
	return req
}

// deleteAll kills and deletes task id with its execs, whatever state the
// stress left it in.
func deleteAll(t *testing.T, s *service, id string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, _ = s.Resume(ctx, &taskapi.ResumeRequest{ID: id})
	_, _ = s.Kill(ctx, &taskapi.KillRequest{ID: id, Signal: uint32(syscall.SIGKILL), All: true})
	if _, err := s.Wait(ctx, &taskapi.WaitRequest{ID: id}); errdefs.IsNotFound(err) {
		return
	} else if err != nil {
		t.Errorf("wait for %s: %v", id, err)
		return
	}
	for _, execID := range []string{"e1", "e2"} {
		if _, err := s.Wait(ctx, &taskapi.WaitRequest{ID: id, ExecID: execID}); err == nil {
			_, _ = s.Delete(ctx, &taskapi.DeleteRequest{ID: id, ExecID: execID})
		}
	}
	if _, err := s.Delete(ctx, &taskapi.DeleteRequest{ID: id}); err != nil {
		t.Errorf("delete %s: %v", id, err)
	}
}

// life is what the events said so far about one task.
type life struct {
	started, exited bool
	execs           map[string]string // exec id -> "added", "started" or "exited"
}

// checkStories checks that each task's events come in an order its life
// allows: created before anything else, exited once, deleted last.
func checkStories(t *testing.T, evs []published) {
	t.Helper()
	lives := map[string]*life{}
	for i, e := range evs {
		if msg := nextEvent(lives, e); msg != "" {
			t.Errorf("event %d (%s %+v): %s", i, e.topic, e.event, msg)
		}
	}
	for id, l := range lives {
		t.Errorf("task %s was never deleted (%+v)", id, l)
	}
}

func nextEvent(lives map[string]*life, e published) string {
	switch ev := e.event.(type) {
	case *eventstypes.TaskCreate:
		if lives[ev.ContainerID] != nil {
			return "created twice"
		}
		lives[ev.ContainerID] = &life{execs: map[string]string{}}
		return ""
	case *eventstypes.TaskStart:
		return lifeEvent(lives[ev.ContainerID], func(l *life) string {
			if l.started || l.exited {
				return "start after start or exit"
			}
			l.started = true
			return ""
		})
	case *eventstypes.TaskExit:
		return lifeEvent(lives[ev.ContainerID], func(l *life) string { return l.exit(ev.ID == ev.ContainerID, ev.ID) })
	case *eventstypes.TaskDelete:
		l := lives[ev.ContainerID]
		delete(lives, ev.ContainerID)
		return lifeEvent(l, func(l *life) string {
			if !l.exited {
				return "deleted before its exit"
			}
			return ""
		})
	case *eventstypes.TaskExecAdded:
		return lifeEvent(lives[ev.ContainerID], func(l *life) string { return l.move(ev.ExecID, "", "added") })
	case *eventstypes.TaskExecStarted:
		return lifeEvent(lives[ev.ContainerID], func(l *life) string { return l.move(ev.ExecID, "added", "started") })
	case *eventstypes.TaskPaused, *eventstypes.TaskResumed, *eventstypes.TaskOOM:
		return ""
	}
	return fmt.Sprintf("unexpected event %T", e.event)
}

func lifeEvent(l *life, check func(*life) string) string {
	if l == nil {
		return "about a task that was not created"
	}
	return check(l)
}

func (l *life) exit(init bool, execID string) string {
	if !init {
		if l.execs[execID] == "" || l.execs[execID] == "exited" {
			return "exit of an exec never added or exited twice"
		}
		l.execs[execID] = "exited"
		return ""
	}
	if l.exited {
		return "exited twice"
	}
	l.exited = true
	return ""
}

// move records an exec's event; from "" means the exec is new or gone.
func (l *life) move(execID, from, to string) string {
	cur := l.execs[execID]
	if from == "" && cur != "" && cur != "exited" {
		return "exec added while the last one of that id lives"
	}
	if from != "" && cur != from {
		return fmt.Sprintf("exec %s %s after %q", execID, to, cur)
	}
	l.execs[execID] = to
	return ""
}
