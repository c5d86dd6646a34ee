package shim

import (
	"fmt"
	"sync"
	"time"

	"github.com/containerd/errdefs"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/taskchild"
)

// processState is where a task or exec is in its life. The moves are
// created -> running <-> paused, and any of them -> stopped.
type processState int

const (
	stateCreated processState = iota
	stateRunning
	statePaused
	stateStopped
)

func (s processState) String() string {
	return [...]string{"created", "running", "paused", "stopped"}[s]
}

// move is a change of state that calls out (to the task child, runc or
// the cgroup) between its check and its end: the state lock is not held
// while it is under way.
type move string

const (
	moveStart  move = "start"
	movePause  move = "pause"
	moveResume move = "resume"
)

// moves says from which state each move starts and where it ends.
var moves = map[move]struct{ from, to processState }{
	moveStart:  {stateCreated, stateRunning},
	movePause:  {stateRunning, statePaused},
	moveResume: {statePaused, stateRunning},
}

// exitHook publishes a process's exit; it runs under the state lock, so
// it must not wait for anything: it queues events (and the init's writes
// its exit record to the bundle).
type exitHook func(res taskchild.Result, pid int, at time.Time)

// lifecycle is the state machine of a task's init process or of an exec:
// every check of a call against the state, and every change, is one of
// its methods. Events are queued by hooks that run under its lock, which
// orders them as the changes happened: a process is announced (create or
// exec-added) before anything else about it is published, and an exit
// that comes while a move is under way is applied, and published, after
// the move's own event.
type lifecycle struct {
	// parent is the init's lifecycle for an exec: an exec is frozen and
	// thawed with its container, as containerd reports it.
	parent *lifecycle
	// exited is closed once the process has stopped; exitStatus and
	// exitedAt no longer change after that.
	exited chan struct{}

	mu         sync.Mutex // guards every field below
	state      processState
	moving     move          // the move under way, or ""
	moveDone   chan struct{} // closed when the move under way ends
	deleted    bool
	announced  bool
	onExit     exitHook
	pid        int
	exitStatus int
	exitedAt   time.Time
	exit       *pendingExit // how the process ended, once it has
}

// pendingExit is an exit waiting for a move to end or for the process to
// be announced.
type pendingExit struct {
	res       taskchild.Result
	at        time.Time
	published bool
}

func newLifecycle(pid int, parent *lifecycle) *lifecycle {
	return &lifecycle{pid: pid, parent: parent, exited: make(chan struct{})}
}

// announce runs onAnnounce (which queues the create or exec-added event)
// and from then on has exits published with onExit; an exit that came
// before is published now.
func (l *lifecycle) announce(onAnnounce func(pid int), onExit exitHook) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.announced, l.onExit = true, onExit
	onAnnounce(l.pid)
	l.settle()
}

// begin checks that m may be made now and marks it under way; end must
// follow.
func (l *lifecycle) begin(m move) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.deleted:
		return fmt.Errorf("cannot %s a deleted process: %w", m, errdefs.ErrNotFound)
	case l.moving != "":
		return fmt.Errorf("cannot %s a process while its %s is under way: %w", m, l.moving, errdefs.ErrFailedPrecondition)
	case l.state != moves[m].from:
		return fmt.Errorf("cannot %s a %s process: %w", m, l.state, errdefs.ErrFailedPrecondition)
	}
	l.moving, l.moveDone = m, make(chan struct{})
	return nil
}

// awaitMove returns once the move under way, if any, has ended.
func (l *lifecycle) awaitMove() {
	l.mu.Lock()
	done := l.moveDone
	l.mu.Unlock()
	if done != nil {
		<-done
	}
}

// end ends the move that begin marked: if err is nil the process takes
// its new state (and pid, when pid > 0) and onDone queues the move's
// event, before an exit that came meanwhile is applied.
func (l *lifecycle) end(err error, pid int, onDone func(pid int)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := l.moving
	l.moving = ""
	close(l.moveDone)
	if err == nil {
		l.state = moves[m].to
		if pid > 0 {
			l.pid = pid
		}
		onDone(l.pid)
	}
	l.settle()
}

// exitedWith records how the process ended; see settle.
func (l *lifecycle) exitedWith(res taskchild.Result, at time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.exit = &pendingExit{res: res, at: at}
	l.settle()
}

// settle applies a recorded exit once no move is under way, publishes it
// once the process is announced, and only then lets waiters go: whatever
// they do next comes after the exit.
func (l *lifecycle) settle() {
	e := l.exit
	if e == nil || l.moving != "" {
		return
	}
	stopping := l.state != stateStopped
	if stopping {
		l.state, l.exitStatus, l.exitedAt = stateStopped, e.res.Status, e.at
	}
	if l.announced && !e.published {
		e.published = true
		l.onExit(e.res, l.pid, e.at)
	}
	if stopping {
		close(l.exited)
	}
}

// canSignal says whether a signal may be sent: not to a stopped process.
func (l *lifecycle) canSignal() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state == stateStopped {
		return fmt.Errorf("process %d already finished: %w", l.pid, errdefs.ErrNotFound)
	}
	return nil
}

// markDeleted checks that the process may be deleted (it never ran or it
// stopped) and makes every later move find it gone.
func (l *lifecycle) markDeleted() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.deleted:
		return fmt.Errorf("process %d is being deleted: %w", l.pid, errdefs.ErrNotFound)
	case l.moving != "":
		return fmt.Errorf("cannot delete a process while its %s is under way: %w", l.moving, errdefs.ErrFailedPrecondition)
	case l.state == stateRunning || l.state == statePaused:
		return fmt.Errorf("cannot delete a %s process: %w", l.state, errdefs.ErrFailedPrecondition)
	}
	l.deleted = true
	return nil
}

func (l *lifecycle) isDeleted() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.deleted
}

// snapshot is a consistent copy of the changing fields.
type snapshot struct {
	state      processState
	exitStatus int
	exitedAt   time.Time
	pid        int
}

// snapshot reports the state as containerd sees it: a running exec of a
// paused container is paused.
func (l *lifecycle) snapshot() snapshot {
	l.mu.Lock()
	s := snapshot{l.state, l.exitStatus, l.exitedAt, l.pid}
	l.mu.Unlock()
	if l.parent != nil && s.state == stateRunning && l.parent.snapshot().state == statePaused {
		s.state = statePaused
	}
	return s
}
