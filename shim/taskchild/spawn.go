package taskchild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
)

// Options say how to start a task child.
type Options struct {
	Spec Spec
	// Stdin, Stdout and Stderr become the child's fds 0, 1 and 2.
	Stdin, Stdout, Stderr *os.File
	// Terminal makes Stdin the controlling terminal of a new session.
	Terminal bool
	// Cloneflags are the namespaces to create (CLONE_NEW*).
	Cloneflags uintptr
	// Unshareflags are namespaces the child makes itself before its exec:
	// CLONE_NEWTIME, whose bit clone reads as part of the exit signal.
	Unshareflags uintptr
	// Join are existing namespaces to enter, such as the Pod's network.
	Join []Namespace
	// Spawned, if set, runs once the child exists, with its pid, before
	// it is sent its spec: the child has done nothing yet, and an error
	// ends it (the createRuntime hooks).
	Spawned func(pid int) error
}

// Child is a task child that has prepared its module and waits for Start.
type Child struct {
	cmd   *exec.Cmd
	start *os.File
	// started receives the child's answer to Start: started, or why not
	// (a zero status if it died first); outcome then receives its last
	// status message, how its run ended, or a zero status if it died
	// without saying.
	started, outcome chan status
	// detail is how the child said it prepared the module.
	detail string
}

// Spawn starts a child and returns once its module is ready to run, or
// with the child's own error (bad module, missing import...) once it exited.
func Spawn(ctx context.Context, opts Options) (*Child, error) {
	pipes, err := newPipes()
	if err != nil {
		return nil, err
	}
	defer pipes.closeParentEnds()
	cmd := command(opts, pipes)
	if err := startIn(cmd, opts.Join); err != nil {
		pipes.closeAll()
		return nil, fmt.Errorf("start task child: %w", err)
	}
	pipes.closeChildEnds()
	c := &Child{cmd: cmd, start: pipes.startW, started: make(chan status, 1), outcome: make(chan status, 1)}
	if opts.Spawned != nil {
		if err := opts.Spawned(cmd.Process.Pid); err != nil {
			c.kill()
			return nil, err
		}
	}
	dec := json.NewDecoder(pipes.statusR)
	specW := pipes.specW
	pipes.specW = nil // awaitReady closes it
	if err := c.awaitReady(ctx, opts.Spec, specW, dec); err != nil {
		return nil, err
	}
	statusR := pipes.statusR
	pipes.startW, pipes.statusR = nil, nil // ownership moves to the Child
	go c.readStatuses(statusR, dec)
	return c, nil
}

func (c *Child) readStatuses(r *os.File, dec *json.Decoder) {
	defer r.Close()
	for _, ch := range []chan status{c.started, c.outcome} {
		var st status
		_ = dec.Decode(&st)
		ch <- st
	}
}

func command(opts Options, p *pipes) *exec.Cmd {
	cmd := &exec.Cmd{
		Path:       "/proc/self/exe",
		Args:       []string{os.Args[0], ChildArg},
		Env:        []string{},
		Stdin:      opts.Stdin,
		Stdout:     opts.Stdout,
		Stderr:     opts.Stderr,
		ExtraFiles: []*os.File{p.specR, p.statusW, p.startR},
		SysProcAttr: &syscall.SysProcAttr{
			Cloneflags:   opts.Cloneflags,
			Unshareflags: opts.Unshareflags,
			Setsid:       true,
			Setctty:      opts.Terminal,
			Pdeathsig:    parentDeathSignal(opts.Join),
		},
	}
	return cmd
}

// parentDeathSignal is the signal that ends a child whose shim died. A
// child that joins a pid namespace sets it itself (see Main): Go's fork
// checks that the child's parent is still the shim by comparing pids, and
// in a joined pid namespace the shim has none, so the child would kill
// itself at once.
func parentDeathSignal(join []Namespace) syscall.Signal {
	for _, ns := range join {
		if ns.Type == syscall.CLONE_NEWPID {
			return 0
		}
	}
	return syscall.SIGKILL
}

func (c *Child) awaitReady(ctx context.Context, spec Spec, specW *os.File, dec *json.Decoder) error {
	err := json.NewEncoder(specW).Encode(spec)
	specW.Close()
	if err != nil {
		c.kill()
		return fmt.Errorf("send task spec (the task child ended: %v): %w", c.cmd.ProcessState, err)
	}
	st, err := readStatus(ctx, dec)
	if err != nil || !st.Ready {
		c.kill()
	}
	c.detail = st.Detail
	switch {
	case err != nil:
		return err
	case st.Error != "":
		return errorOf(st.Error, st.Class)
	case !st.Ready:
		return errors.New("task child exited before it was ready")
	}
	return nil
}

func readStatus(ctx context.Context, dec *json.Decoder) (status, error) {
	type result struct {
		st  status
		err error
	}
	done := make(chan result, 1)
	go func() {
		var st status
		err := dec.Decode(&st)
		if errors.Is(err, io.EOF) {
			err = nil // the child died first: st is empty, handled by the caller
		}
		done <- result{st, err}
	}()
	select {
	case res := <-done:
		return res.st, res.err
	case <-ctx.Done():
		return status{}, fmt.Errorf("wait for task child: %w", ctx.Err())
	}
}

// kill ends a child that will never start and reaps it.
func (c *Child) kill() {
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
}

// Detail is what the child said about preparing its module ("" if nothing).
func (c *Child) Detail() string { return c.detail }

// Pid is the child's pid in the shim's pid namespace.
func (c *Child) Pid() int { return c.cmd.Process.Pid }

// Start lets the child call its module's entrypoint, once it has run its
// startContainer hooks and taken the task's identity; an error is the
// child's reason not to run it, and the child then exits.
func (c *Child) Start() error {
	defer c.release()
	if _, err := c.start.Write([]byte{1}); err != nil {
		return fmt.Errorf("start task child: %w", err)
	}
	switch st := <-c.started; {
	case st.Error != "":
		return errorOf(st.Error, st.Class)
	case !st.Started:
		return errors.New("task child exited before it started")
	}
	return nil
}

// release closes the start pipe; a child still waiting on it exits.
func (c *Child) release() {
	if c.start != nil {
		c.start.Close()
		c.start = nil
	}
}

// Signal sends sig to the child.
func (c *Child) Signal(sig syscall.Signal) error {
	return c.cmd.Process.Signal(sig)
}

// Wait reaps the child and returns how it ended. The status is the way
// runc reports one: the exit code, or 128+N when signal N killed it.
func (c *Child) Wait() Result {
	err := c.cmd.Wait()
	c.release()
	res := Result{OutOfMemory: (<-c.outcome).OutOfMemory}
	ps := c.cmd.ProcessState
	ws, ok := ps.Sys().(syscall.WaitStatus)
	switch {
	case ok && ws.Signaled():
		res.Status = 128 + int(ws.Signal())
	case err != nil && ps.ExitCode() < 0:
		res.Status = 255
	default:
		res.Status = ps.ExitCode()
	}
	return res
}
