package shim

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/containerd/containerd/api/types/runc/options"
	"github.com/containerd/containerd/api/types/task"
	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	"github.com/containerd/typeurl/v2"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/native"
	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/taskchild"
)

// runcRoot is runc's state directory for a task: inside its bundle, so
// that it is private to the containerd that made the bundle and goes away
// with it, and the delete action finds it after a shim died.
func runcRoot(bundle string) string { return filepath.Join(bundle, "runc") }

func nativeRuntime(bundle string) (*native.Runtime, error) {
	return native.New(native.Config{Binary: runcBinary(bundle), Root: runcRoot(bundle)})
}

// nativeRunner adapts a runc process to the runner that a process uses.
type nativeRunner struct {
	proc interface {
		Pid() int
		Start() error
		Signal(sig syscall.Signal) error
		Wait() int
	}
}

func (r nativeRunner) Pid() int                        { return r.proc.Pid() }
func (r nativeRunner) Start() error                    { return r.proc.Start() }
func (r nativeRunner) Signal(sig syscall.Signal) error { return r.proc.Signal(sig) }
func (r nativeRunner) Detail() string                  { return "native container (runc)" }
func (r nativeRunner) Wait() taskchild.Result          { return taskchild.Result{Status: r.proc.Wait()} }

// createNative creates the task as a native Linux container with runc: the
// entrypoint is an ELF binary or a script. runc sets up the cgroup from the
// spec; the shim opens the same cgroup for stats, freezing and OOM events.
func (c *container) createNative(ctx context.Context, s stdio) (retErr error) {
	if s.terminal {
		return fmt.Errorf("a terminal for a native container: %w", errdefs.ErrNotImplemented)
	}
	rt, err := nativeRuntime(c.bundle)
	if err != nil {
		return err
	}
	pio, err := openIO(ctx, c.id, s)
	if err != nil {
		return err
	}
	init, err := rt.Create(ctx, c.id, c.bundle, native.Stdio{Stdin: pio.child[0], Stdout: pio.child[1], Stderr: pio.child[2]})
	pio.closeChildEnds()
	if err != nil {
		pio.waitOutput()
		pio.close()
		return fmt.Errorf("create native task %s: %w", c.id, err)
	}
	c.native = init
	c.init = watch(&process{stdio: s, io: pio, child: nativeRunner{init}}, nil)
	defer func() {
		if retErr != nil {
			_ = c.init.destroy(context.WithoutCancel(ctx))
			c.deleteNative(ctx)
		}
	}()
	if c.spec.Linux != nil && c.spec.Linux.CgroupsPath == "" {
		// runc's own default, so that the shim opens runc's cgroup
		c.spec.Linux.CgroupsPath = "/" + c.id
	}
	if err := c.createCgroup(ctx); err != nil {
		return err
	}
	log.G(ctx).WithFields(log.Fields{"id": c.id, "pid": init.Pid()}).Info("native container created with runc")
	return os.WriteFile(filepath.Join(c.bundle, initPidFile), []byte(strconv.Itoa(init.Pid())), 0o600)
}

// exec prepares an exec: in a native container runc runs it at Start,
// otherwise a task child prepares its module now.
func (c *container) exec(ctx context.Context, execID string, proc *specs.Process, s stdio) (*process, error) {
	if c.native == nil {
		opts, err := childOptions(c.spec, proc, c.rootfs)
		if err != nil {
			return nil, err
		}
		// Like runc's, an exec lives in its task's namespaces, which
		// exist only while the task runs.
		init := c.init.life.snapshot()
		if init.state == stateStopped {
			return nil, fmt.Errorf("cannot exec in a stopped task: %w", errdefs.ErrFailedPrecondition)
		}
		var join []taskchild.Namespace
		opts.Cloneflags, join = taskchild.NamespacesOf(init.pid, opts.Cloneflags)
		opts.Join = append(opts.Join, join...)
		return c.spawn(ctx, execID, opts, s)
	}
	if s.terminal {
		return nil, fmt.Errorf("a terminal for an exec in a native container: %w", errdefs.ErrNotImplemented)
	}
	rt, err := nativeRuntime(c.bundle)
	if err != nil {
		return nil, err
	}
	pio, err := openIO(ctx, execID, s)
	if err != nil {
		return nil, err
	}
	e := rt.Exec(c.id, c.bundle, execID, *proc, native.Stdio{Stdin: pio.child[0], Stdout: pio.child[1], Stderr: pio.child[2]})
	return watch(&process{id: execID, stdio: s, io: pio, child: &nativeExec{nativeRunner{e}, pio}}, c.init.life), nil
}

// nativeExec closes the shim's copies of the exec's stdio once runc has
// handed them on, so that output ends when the process ends.
type nativeExec struct {
	nativeRunner
	pio *processIO
}

func (e *nativeExec) Start() error {
	defer e.pio.closeChildEnds()
	return e.nativeRunner.Start()
}

func (e *nativeExec) Signal(sig syscall.Signal) error {
	err := e.nativeRunner.Signal(sig)
	if e.Pid() == 0 {
		e.pio.closeChildEnds() // never started: its output ends now
	}
	return err
}

// pids lists the task's processes, an exec's id beside its pid: for a
// native container every process in its cgroup, as runc's shim lists
// them; for a wasm task its task children.
func (c *container) pids() ([]*task.ProcessInfo, error) {
	var pids []int
	execs := map[int]string{}
	for _, p := range c.processes() {
		if snap := p.life.snapshot(); snap.state != stateStopped && snap.pid != 0 {
			pids = append(pids, snap.pid)
			execs[snap.pid] = p.id
		}
	}
	if c.native != nil {
		var err error
		if pids, err = c.cgroup.Pids(); err != nil {
			return nil, fmt.Errorf("list processes of task %s: %w", c.id, err)
		}
	}
	infos := make([]*task.ProcessInfo, 0, len(pids))
	for _, pid := range pids {
		infos = append(infos, processInfo(pid, execs[pid]))
	}
	return infos, nil
}

// processInfo is one line of Pids; an exec's carries its id, as runc's
// shim reports it.
func processInfo(pid int, execID string) *task.ProcessInfo {
	info := &task.ProcessInfo{Pid: uint32(pid)}
	if execID != "" {
		if d, err := typeurl.MarshalAnyToProto(&options.ProcessDetails{ExecID: execID}); err == nil {
			info.Info = d
		}
	}
	return info
}

// deleteNative has runc forget a native container and remove what it set
// up for it; a wasm task has nothing to do.
func (c *container) deleteNative(ctx context.Context) {
	if c.native == nil {
		return
	}
	if err := c.native.Delete(context.WithoutCancel(ctx)); err != nil {
		log.G(ctx).WithError(err).WithField("id", c.id).Error("delete native container")
	}
}

// deleteNativeLeftover has runc kill and forget a native container whose
// shim died: runc kept its state in the bundle.
func deleteNativeLeftover(ctx context.Context, bundle, id string) {
	if _, err := os.Stat(runcRoot(bundle)); err != nil {
		return
	}
	rt, err := nativeRuntime(bundle)
	if err == nil {
		err = rt.Delete(ctx, id, bundle)
	}
	if err != nil {
		log.G(ctx).WithError(err).WithField("id", id).Warn("delete native container of dead shim")
	}
}
