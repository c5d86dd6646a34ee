package shim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"

	"github.com/containerd/errdefs"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/taskchild"
)

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

// process is a task's init process or one exec: what runs it, its IO and
// its state machine. Its fields do not change after newProcess; what
// changes is in life.
type process struct {
	id    string // exec id; "" for the init process
	stdio stdio
	io    *processIO
	child runner
	life  *lifecycle
}

// newProcess spawns a task child and returns once its module is ready to
// run, or with the reason it is not. id is the exec id ("" for the init
// process); ioID names the process to a logging binary; parent is the
// init's lifecycle for an exec.
func newProcess(ctx context.Context, plat platform, id, ioID string, opts taskchild.Options, s stdio, parent *lifecycle) (*process, error) {
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
	return watch(&process{id: id, stdio: s, io: pio, child: child}, parent), nil
}

// watch gives p its state machine and reaps it from now on, so that no
// exit is lost; the exit is published once p is announced.
func watch(p *process, parent *lifecycle) *process {
	p.life = newLifecycle(p.child.Pid(), parent)
	go p.monitor()
	return p
}

// monitor reaps the child, waits for its output to be delivered, and then
// records the exit.
func (p *process) monitor() {
	res := p.child.Wait()
	p.io.waitOutput()
	p.io.close()
	p.life.exitedWith(res, time.Now())
}

// pid is the process's pid: 0 for a native exec that has not started.
func (p *process) pid() int { return p.life.snapshot().pid }

// start lets the module run; onStarted queues the start event, before
// the exit's.
func (p *process) start(onStarted func(pid int)) error {
	if err := p.life.begin(moveStart); err != nil {
		return err
	}
	err := p.child.Start()
	p.life.end(err, p.child.Pid(), onStarted)
	return err
}

func (p *process) kill(sig syscall.Signal) error {
	if err := p.life.canSignal(); err != nil {
		return err
	}
	pid := p.pid()
	if err := p.child.Signal(sig); errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("process %d already finished: %w", pid, errdefs.ErrNotFound)
	} else if err != nil {
		return fmt.Errorf("signal process %d: %w", pid, err)
	}
	return nil
}

// wait blocks until the process has stopped.
func (p *process) wait(ctx context.Context) error {
	select {
	case <-p.life.exited:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// destroy kills a process that will never run (deleted before Start, or a
// shim shutting down) and waits until it is reaped.
func (p *process) destroy(ctx context.Context) error {
	if p.life.snapshot().state != stateStopped {
		_ = p.child.Signal(syscall.SIGKILL)
	}
	return p.wait(ctx)
}
