package native

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	runc "github.com/containerd/go-runc"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// BinaryEnv names the runc binary to use; without it, runc is found on PATH.
const BinaryEnv = "CONTAINERD_SHIM_WASM_RUNC"

// Config says which runc to run and where it keeps its state.
type Config struct {
	// Binary is the runc binary: a path, or a name looked up on PATH
	// ("" = "runc").
	Binary string
	// Root is runc's state directory (--root), one per containerd namespace.
	Root string
}

// Runtime creates native containers with one runc binary and state root.
type Runtime struct {
	runc *runc.Runc
}

// New finds runc and makes the calling process the subreaper of what runc
// starts, which is what lets Wait reap a container's processes.
func New(cfg Config) (*Runtime, error) {
	bin := cfg.Binary
	if bin == "" {
		bin = "runc"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("find runc for native containers (name it with BinaryName in the runtime's options, or %s): %w", BinaryEnv, err)
	}
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("become the subreaper of native containers: %w", err)
	}
	return &Runtime{runc: &runc.Runc{
		Command:   path,
		Root:      cfg.Root,
		LogFormat: runc.JSON,
		// runc's children die with the shim instead of outliving it
		// unreaped; go-runc locks the OS thread for this.
		PdeathSignal: unix.SIGKILL,
	}}, nil
}

// Stdio are the files a container's process gets as fds 0, 1 and 2; nil
// means /dev/null.
type Stdio struct {
	Stdin, Stdout, Stderr *os.File
}

func (s Stdio) set(cmd *exec.Cmd) {
	if s.Stdin != nil {
		cmd.Stdin = s.Stdin
	}
	if s.Stdout != nil {
		cmd.Stdout = s.Stdout
	}
	if s.Stderr != nil {
		cmd.Stderr = s.Stderr
	}
}

// runcIO hands the process's stdio to the runc command, which passes them
// on to the container's process.
type runcIO struct{ Stdio }

func (runcIO) Close() error                  { return nil }
func (runcIO) Stdin() io.WriteCloser         { return nil }
func (runcIO) Stdout() io.ReadCloser         { return nil }
func (runcIO) Stderr() io.ReadCloser         { return nil }
func (i runcIO) Set(cmd *exec.Cmd)           { i.Stdio.set(cmd) }
func (r *Runtime) logFile(dir string) string { return filepath.Join(dir, "runc-log.json") }

// Create runs `runc create` for the bundle: the container's init process
// is set up and waits for Start.
func (r *Runtime) Create(ctx context.Context, id, bundle string, io Stdio) (*Init, error) {
	pidFile := filepath.Join(bundle, "runc-init.pid")
	rc := *r.runc
	rc.Log = r.logFile(bundle)
	err := rc.Create(ctx, id, bundle, &runc.CreateOpts{IO: runcIO{io}, PidFile: pidFile})
	if err != nil {
		return nil, fmt.Errorf("runc create: %w", runcError(rc.Log, err))
	}
	pid, err := readPid(pidFile)
	if err != nil {
		_ = rc.Delete(context.WithoutCancel(ctx), id, &runc.DeleteOpts{Force: true})
		return nil, err
	}
	return &Init{runc: &rc, id: id, proc: newProc(pid)}, nil
}

// Init is a native container's init process.
type Init struct {
	runc *runc.Runc
	id   string
	*proc
}

// Start runs `runc start`: the container's process execs its entrypoint.
func (c *Init) Start() error {
	if err := c.runc.Start(context.Background(), c.id); err != nil {
		return fmt.Errorf("runc start: %w", runcError(c.runc.Log, err))
	}
	return nil
}

// Signal sends sig to the container's init through runc.
func (c *Init) Signal(sig syscall.Signal) error {
	if err := c.runc.Kill(context.Background(), c.id, int(sig), nil); err != nil {
		if c.exited() {
			return os.ErrProcessDone
		}
		return fmt.Errorf("runc kill: %w", runcError(c.runc.Log, err))
	}
	return nil
}

// Delete runs `runc delete --force`: runc forgets the container and
// removes what it set up for it.
func (c *Init) Delete(ctx context.Context) error {
	if err := c.runc.Delete(ctx, c.id, &runc.DeleteOpts{Force: true}); err != nil {
		return fmt.Errorf("runc delete: %w", runcError(c.runc.Log, err))
	}
	return nil
}

// Exec is a process to run in a native container at Start.
type Exec struct {
	runc   *runc.Runc
	id     string
	bundle string
	spec   specs.Process
	io     Stdio
	execID string
	*proc
}

// Exec prepares spec to run in container id (created from bundle); it
// starts with Start.
func (r *Runtime) Exec(id, bundle, execID string, spec specs.Process, io Stdio) *Exec {
	rc := *r.runc
	rc.Log = r.logFile(bundle)
	return &Exec{runc: &rc, id: id, bundle: bundle, spec: spec, io: io, execID: execID, proc: newProc(0)}
}

// Start runs `runc exec --detach`: the process runs once runc returns.
func (e *Exec) Start() error {
	select {
	case <-e.ready:
		return fmt.Errorf("exec %s was killed before it started", e.execID)
	default:
	}
	pidFile := filepath.Join(e.bundle, "exec-"+e.execID+".pid")
	defer os.Remove(pidFile)
	err := e.runc.Exec(context.Background(), e.id, e.spec, &runc.ExecOpts{IO: runcIO{e.io}, PidFile: pidFile, Detach: true})
	if err != nil {
		e.started(0)
		return fmt.Errorf("runc exec: %w", runcError(e.runc.Log, err))
	}
	pid, err := readPid(pidFile)
	e.started(pid)
	return err
}

// Signal sends sig to the exec's process. An exec that was never started
// will not be: Wait returns at once.
func (e *Exec) Signal(sig syscall.Signal) error {
	if e.started(0); e.exited() || e.Pid() == 0 {
		return os.ErrProcessDone
	}
	return unix.Kill(e.Pid(), sig)
}

func readPid(path string) (int, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("read runc's pid file: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		return 0, fmt.Errorf("runc's pid file %s: %w", path, err)
	}
	return pid, nil
}

// runcError adds the last error that runc logged: its exit status alone
// says nothing.
func runcError(logFile string, err error) error {
	data, rerr := os.ReadFile(logFile)
	if rerr != nil {
		return err
	}
	var last string
	for _, line := range strings.Split(string(data), "\n") {
		var entry struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		if json.Unmarshal([]byte(line), &entry) == nil && (entry.Level == "error" || entry.Level == "fatal") {
			last = entry.Msg
		}
	}
	if last == "" {
		return err
	}
	return fmt.Errorf("%w: %s", err, last)
}

// Delete runs `runc delete --force` for a container whose Init is gone
// with the shim that created it: runc kills what is left and forgets it.
func (r *Runtime) Delete(ctx context.Context, id, bundle string) error {
	rc := *r.runc
	rc.Log = r.logFile(bundle)
	if err := rc.Delete(ctx, id, &runc.DeleteOpts{Force: true}); err != nil {
		return fmt.Errorf("runc delete: %w", runcError(rc.Log, err))
	}
	return nil
}
