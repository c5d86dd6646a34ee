// Package hooks runs the OCI runtime hooks of a container's config.json
// the way runc runs them: each hook is a program started with exactly its
// path, args and env, the container's state as JSON on its stdin, bounded
// by its timeout, and a hook that fails is an error that carries what it
// wrote.
//
// Which hooks run when, and in which namespaces, is the caller's part:
//
//	err := hooks.Run(ctx, hooks.CreateRuntime, spec.Hooks.CreateRuntime,
//		hooks.NewState(id, bundle, spec.Annotations, specs.StateCreating, pid),
//		hooks.Options{Dir: bundle})
package hooks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Kind names a list of hooks, as config.json spells it.
type Kind string

// The hook lists, in the order of a container's lifecycle.
const (
	// Prestart is deprecated by the spec in favour of CreateRuntime, and
	// still run, first, as runc does.
	Prestart        Kind = "prestart"
	CreateRuntime   Kind = "createRuntime"
	CreateContainer Kind = "createContainer"
	StartContainer  Kind = "startContainer"
	Poststart       Kind = "poststart"
	Poststop        Kind = "poststop"
)

// Kinds lists every kind in lifecycle order.
var Kinds = []Kind{Prestart, CreateRuntime, CreateContainer, StartContainer, Poststart, Poststop}

// Of returns the hooks of one kind; h may be nil.
func Of(h *specs.Hooks, kind Kind) []specs.Hook {
	if h == nil {
		return nil
	}
	switch kind {
	case Prestart:
		return h.Prestart //nolint:staticcheck // deprecated by the spec, still honoured
	case CreateRuntime:
		return h.CreateRuntime
	case CreateContainer:
		return h.CreateContainer
	case StartContainer:
		return h.StartContainer
	case Poststart:
		return h.Poststart
	case Poststop:
		return h.Poststop
	}
	return nil
}

// Any tells whether h holds at least one hook of the given kinds.
func Any(h *specs.Hooks, kinds ...Kind) bool {
	for _, k := range kinds {
		if len(Of(h, k)) > 0 {
			return true
		}
	}
	return false
}

// Validate checks what the spec requires of every hook: an absolute path
// and, when a timeout is set, a positive one. Checked before anything is
// created, a malformed hook fails the create at once instead of after
// earlier hooks already ran.
func Validate(h *specs.Hooks) error {
	for _, kind := range Kinds {
		for i, hook := range Of(h, kind) {
			switch {
			case !filepath.IsAbs(hook.Path):
				return fmt.Errorf("%s hook #%d: path %q is not absolute: %w", kind, i, hook.Path, errdefs.ErrInvalidArgument)
			case hook.Timeout != nil && *hook.Timeout <= 0:
				return fmt.Errorf("%s hook #%d (%s): timeout %d is not a positive number of seconds: %w", kind, i, hook.Path, *hook.Timeout, errdefs.ErrInvalidArgument)
			}
		}
	}
	return nil
}

// NewState is the state a hook reads on its stdin. pid 0 (a stopped
// container) leaves it out.
func NewState(id, bundle string, annotations map[string]string, status specs.ContainerState, pid int) *specs.State {
	return &specs.State{
		Version:     specs.Version,
		ID:          id,
		Status:      status,
		Pid:         pid,
		Bundle:      bundle,
		Annotations: annotations,
	}
}

// Options say where a hook runs. The zero value runs it where the caller
// is: the runtime namespace, for a shim.
type Options struct {
	// Dir is the hook's working directory ("" = the caller's). Under
	// Root, it is a path inside Root.
	Dir string
	// Root, if set, is the hook's root directory (chroot): its path, and
	// every path it opens, resolve inside it, as for a startContainer
	// hook that runc runs after pivot_root.
	Root string
	// Credential, if set, is the identity the hook runs as.
	Credential *syscall.Credential
	// DefaultEnv is the environment of a hook whose env is empty; nil
	// means an empty environment. runc gives startContainer hooks the
	// container process's environment this way.
	DefaultEnv []string
}

// outputLimit bounds what is kept of each of a hook's output streams for
// its error message; the end is kept, where a failing program says why.
const outputLimit = 4 << 10

// waitDelay bounds the wait for a hook's output once the hook has exited
// or was killed: a process it left behind may hold its stdout open.
const waitDelay = 2 * time.Second

// Run runs hooks in order and stops at the first that fails, whose error
// it returns (a create or start hook failure fails that step).
func Run(ctx context.Context, kind Kind, hooks []specs.Hook, state *specs.State, opts Options) error {
	return run(ctx, kind, hooks, state, opts, true)
}

// RunEach runs every hook, even after one failed, and returns every
// failure: the spec has the remaining poststop hooks run after a failure.
func RunEach(ctx context.Context, kind Kind, hooks []specs.Hook, state *specs.State, opts Options) error {
	return run(ctx, kind, hooks, state, opts, false)
}

func run(ctx context.Context, kind Kind, hooks []specs.Hook, state *specs.State, opts Options, stopAtFailure bool) error {
	input, err := json.Marshal(state)
	if err != nil {
		return fmt.Errorf("encode the state for %s hooks: %w", kind, err)
	}
	var errs []error
	for i, h := range hooks {
		if err := runOne(ctx, h, input, opts); err != nil {
			errs = append(errs, fmt.Errorf("%s hook #%d (%s): %w", kind, i, h.Path, err))
			if stopAtFailure {
				break
			}
		}
	}
	return errors.Join(errs...)
}

func runOne(ctx context.Context, h specs.Hook, input []byte, opts Options) error {
	if !filepath.IsAbs(h.Path) {
		// A bare name would be looked up in our PATH, which the spec
		// does not allow.
		return fmt.Errorf("path is not absolute: %w", errdefs.ErrInvalidArgument)
	}
	hookCtx := ctx
	if h.Timeout != nil {
		var cancel context.CancelFunc
		hookCtx, cancel = context.WithTimeout(ctx, time.Duration(*h.Timeout)*time.Second)
		defer cancel()
	}
	cmd := command(hookCtx, h, input, opts)
	stdout, stderr := &tailBuffer{}, &tailBuffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err := cmd.Run()
	if errors.Is(err, exec.ErrWaitDelay) {
		// The hook itself succeeded; what it left running is not its
		// failure, and no longer delays the container.
		err = nil
	}
	switch {
	case err == nil:
		return nil
	case h.Timeout != nil && ctx.Err() == nil && errors.Is(hookCtx.Err(), context.DeadlineExceeded):
		err = fmt.Errorf("did not finish within its timeout of %ds and was killed", *h.Timeout)
	case ctx.Err() != nil:
		err = fmt.Errorf("killed: %w", ctx.Err())
	}
	return withOutput(err, stdout, stderr)
}

// command prepares a hook. The hook leads a process group of its own, so
// that a timeout kills whatever it started too.
func command(ctx context.Context, h specs.Hook, input []byte, opts Options) *exec.Cmd {
	env := h.Env
	if len(env) == 0 {
		env = opts.DefaultEnv
	}
	if env == nil {
		env = []string{} // nil would hand the hook our own environment
	}
	cmd := exec.CommandContext(ctx, h.Path)
	cmd.Args = h.Args // empty means {path}, as for execv's argv
	cmd.Env = env
	cmd.Dir = opts.Dir
	cmd.Stdin = bytes.NewReader(input)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Chroot: opts.Root, Credential: opts.Credential}
	if opts.Root != "" && cmd.Dir == "" {
		// A chrooted process whose working directory stays outside its
		// root can walk out of it through "..".
		cmd.Dir = "/"
	}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = waitDelay
	return cmd
}

func withOutput(err error, stdout, stderr *tailBuffer) error {
	var parts []string
	if s := stderr.String(); s != "" {
		parts = append(parts, "stderr: "+s)
	}
	if s := stdout.String(); s != "" {
		parts = append(parts, "stdout: "+s)
	}
	if len(parts) == 0 {
		return err
	}
	return fmt.Errorf("%w; %s", err, strings.Join(parts, "; "))
}

// tailBuffer keeps the last outputLimit bytes written to it.
type tailBuffer struct {
	buf       []byte
	truncated bool
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - outputLimit; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
		b.truncated = true
	}
	return n, nil
}

func (b *tailBuffer) String() string {
	s := strings.TrimSpace(string(b.buf))
	if b.truncated {
		s = "..." + s
	}
	return s
}
