package shim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
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

// runner is what runs a process: a task child (wasm) or runc (a native
// container's process).
type runner interface {
	// Pid is 0 until a native exec started.
	Pid() int
	Start() error
	Signal(syscall.Signal) error
	// Wait reaps the process and says how it ended.
	Wait() taskchild.Result
	// Detail says how the process was prepared, for the shim's log.
	Detail() string
}

// process is a task's init process or one exec: a task child and its IO.
type process struct {
	id    string // exec id; "" for the init process
	pid   int    // set by start for a native exec, which has no pid before
	stdio stdio
	io    *processIO
	child runner

	// exited is closed when the process has stopped and its output is
	// flushed; after that exitStatus and exitedAt no longer change.
	exited chan struct{}

	mu         sync.Mutex // guards state, exitStatus, exitedAt, and pid while a native exec starts
	state      processState
	exitStatus int
	exitedAt   time.Time
}

// newProcess spawns a task child and returns once its module is ready to
// run, or with the reason it is not. id is the exec id ("" for the init
// process); ioID names the process to a logging binary.
func newProcess(ctx context.Context, plat platform, id, ioID string, opts taskchild.Options, s stdio) (*process, error) {
	pio, err := openIO(ctx, ioID, s)
	if err != nil {
		return nil, err
	}
	opts.Stdin, opts.Stdout, opts.Stderr = pio.child[0], pio.child[1], pio.child[2]
	opts.Terminal = s.terminal
	child, err := plat.spawn(ctx, opts)
	pio.closeChildEnds()
	if err != nil {
		pio.waitOutput()
		pio.close()
		return nil, err
	}
	return &process{id: id, pid: child.Pid(), stdio: s, io: pio, child: child, exited: make(chan struct{})}, nil
}

// start lets the module run; onStarted runs under the process lock so
// that its start event is queued before the exit event can be.
func (p *process) start(onStarted func()) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != stateCreated {
		return fmt.Errorf("cannot start a %s process: %w", p.state, errdefs.ErrFailedPrecondition)
	}
	if err := p.child.Start(); err != nil {
		return err
	}
	p.pid = p.child.Pid()
	p.state = stateRunning
	onStarted()
	return nil
}

// monitor reaps the child, waits for its output to be delivered, and then
// records the exit; onExited runs under the process lock.
func (p *process) monitor(onExited func(res taskchild.Result, at time.Time)) {
	res := p.child.Wait()
	p.io.waitOutput()
	p.io.close()
	p.mu.Lock()
	defer p.mu.Unlock()
	p.state, p.exitStatus, p.exitedAt = stateStopped, res.Status, time.Now()
	onExited(res, p.exitedAt)
	close(p.exited)
}

func (p *process) kill(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state == stateStopped {
		return fmt.Errorf("process %d already finished: %w", p.pid, errdefs.ErrNotFound)
	}
	if err := p.child.Signal(sig); errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("process %d already finished: %w", p.pid, errdefs.ErrNotFound)
	} else if err != nil {
		return fmt.Errorf("signal process %d: %w", p.pid, err)
	}
	return nil
}

// wait blocks until the process has stopped.
func (p *process) wait(ctx context.Context) error {
	select {
	case <-p.exited:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// snapshot is a consistent copy of the changing fields.
type snapshot struct {
	state      processState
	exitStatus int
	exitedAt   time.Time
	pid        int
}

func (p *process) snapshot() snapshot {
	p.mu.Lock()
	defer p.mu.Unlock()
	return snapshot{p.state, p.exitStatus, p.exitedAt, p.pid}
}

// destroy kills a process that will never run (deleted before Start, or a
// shim shutting down) and waits until it is reaped.
func (p *process) destroy(ctx context.Context) error {
	if p.snapshot().state != stateStopped {
		_ = p.child.Signal(syscall.SIGKILL)
	}
	return p.wait(ctx)
}

// setPaused moves a running process to paused (paused=true) or back; the
// freeze or thaw runs under the lock so that State never disagrees with
// the cgroup, and onChange queues the event in the same order.
func (p *process) setPaused(paused bool, freeze func() error, onChange func()) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	from, to := stateRunning, statePaused
	if !paused {
		from, to = statePaused, stateRunning
	}
	if p.state != from {
		return fmt.Errorf("cannot %s a %s process: %w", map[bool]string{true: "pause", false: "resume"}[paused], p.state, errdefs.ErrFailedPrecondition)
	}
	if err := freeze(); err != nil {
		return err
	}
	p.state = to
	onChange()
	return nil
}
