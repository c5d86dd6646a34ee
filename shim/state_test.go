package shim

import (
	"errors"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/containerd/errdefs"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/taskchild"
)

// TestLifecycleHoldsExitBehindMove: an exit that comes while a start is
// under way is applied, and published, after the start's event; one that
// comes before the announce is published after it.
func TestLifecycleHoldsExitBehindMove(t *testing.T) {
	tests := []struct {
		name     string
		startErr error
		want     []string
		state    processState
	}{
		{"start succeeds", nil, []string{"create", "start", "exit 3"}, stateStopped},
		{"start fails", errors.New("child gone"), []string{"create", "exit 3"}, stateStopped},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			l := newLifecycle(7, nil)
			l.exitedWith(taskchild.Result{Status: 3}, time.Now()) // before the announce
			if s := l.snapshot().state; s != stateStopped {
				t.Fatalf("an exit before the announce left the state %s", s)
			}
			l = newLifecycle(7, nil)
			l.announce(func(int) { got = append(got, "create") }, func(res taskchild.Result, _ int, _ time.Time) {
				got = append(got, "exit "+strconv.Itoa(res.Status))
			})
			if err := l.begin(moveStart); err != nil {
				t.Fatal(err)
			}
			l.exitedWith(taskchild.Result{Status: 3}, time.Now())
			if s := l.snapshot().state; s != stateCreated {
				t.Fatalf("state %s while the start is under way, want created", s)
			}
			l.end(tc.startErr, 7, func(int) { got = append(got, "start") })
			if !slices.Equal(got, tc.want) || l.snapshot().state != tc.state {
				t.Fatalf("events %v, state %s; want %v, %s", got, l.snapshot().state, tc.want, tc.state)
			}
		})
	}
}

// TestLifecycleRefusesConcurrentMoves: a second move while one is under
// way fails with a message that names both.
func TestLifecycleRefusesConcurrentMoves(t *testing.T) {
	l := newLifecycle(7, nil)
	if err := l.begin(moveStart); err != nil {
		t.Fatal(err)
	}
	for _, m := range []move{moveStart, movePause, moveResume} {
		err := l.begin(m)
		if !errdefs.IsFailedPrecondition(err) || err.Error() != "cannot "+string(m)+" a process while its start is under way: failed precondition" {
			t.Errorf("%s during a start: %v", m, err)
		}
	}
	if err := l.markDeleted(); !errdefs.IsFailedPrecondition(err) {
		t.Errorf("delete during a start: %v", err)
	}
}
