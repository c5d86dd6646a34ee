package hooks

import (
	"context"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Container is one container's hooks and what their state says of it. Its
// methods run one step's hooks with the status that the spec gives the
// state at that step. A nil Container has no hooks.
//
// Where each step runs is the caller's part: CreateRuntime, Poststart and
// Poststop in the runtime's namespaces (the shim's); CreateContainer and
// StartContainer from a process already in the container's namespaces
// (the task child), with pid as that process sees itself there.
type Container struct {
	ID          string            `json:"id"`
	Bundle      string            `json:"bundle"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Hooks       *specs.Hooks      `json:"hooks,omitempty"`
	// Rootfs is the container's root directory on the host.
	Rootfs string `json:"rootfs"`
}

func (c *Container) state(status specs.ContainerState, pid int) *specs.State {
	return NewState(c.ID, c.Bundle, c.Annotations, status, pid)
}

// inRuntime is where hooks of the runtime namespace start: in the bundle,
// as under runc, whose working directory containerd sets to the bundle.
func (c *Container) inRuntime() Options { return Options{Dir: c.Bundle} }

// CreateRuntime runs the (deprecated) prestart hooks and then the
// createRuntime ones, once the container process pid and its namespaces
// exist and before it runs anything of the container's.
func (c *Container) CreateRuntime(ctx context.Context, pid int) error {
	if c == nil {
		return nil
	}
	st := c.state(specs.StateCreating, pid)
	if err := Run(ctx, Prestart, Of(c.Hooks, Prestart), st, c.inRuntime()); err != nil {
		return err
	}
	return Run(ctx, CreateRuntime, Of(c.Hooks, CreateRuntime), st, c.inRuntime())
}

// CreateContainer runs the createContainer hooks. They start in the rootfs,
// as runc's do, whose paths still resolve as on the host then.
func (c *Container) CreateContainer(ctx context.Context, pid int) error {
	if c == nil {
		return nil
	}
	return Run(ctx, CreateContainer, Of(c.Hooks, CreateContainer), c.state(specs.StateCreating, pid), Options{Dir: c.Rootfs})
}

// StartContainer runs the startContainer hooks confined to the rootfs,
// where their paths resolve, as cred (nil: the caller's identity); a hook
// without env gets env, the container process's, as runc gives it.
//
// The confinement is a chroot, not runc's pivot_root with the spec's
// capabilities and seccomp filter: a hook that runs as root keeps root's
// capabilities, with which a program of the image could leave the chroot.
// The hook's path comes from the spec's author, its program from the image.
func (c *Container) StartContainer(ctx context.Context, pid int, cred *syscall.Credential, env []string) error {
	if c == nil {
		return nil
	}
	opts := Options{Root: c.Rootfs, Credential: cred, DefaultEnv: env}
	return Run(ctx, StartContainer, Of(c.Hooks, StartContainer), c.state(specs.StateCreated, pid), opts)
}

// Poststart runs the poststart hooks once the container process pid runs
// its program; a failure fails the start, and the caller kills the
// container, as runc does.
func (c *Container) Poststart(ctx context.Context, pid int) error {
	if c == nil {
		return nil
	}
	return Run(ctx, Poststart, Of(c.Hooks, Poststart), c.state(specs.StateRunning, pid), c.inRuntime())
}

// Poststop runs every poststop hook once the container is destroyed, and
// returns their failures, which the spec makes warnings.
func (c *Container) Poststop(ctx context.Context) error {
	if c == nil {
		return nil
	}
	return RunEach(ctx, Poststop, Of(c.Hooks, Poststop), c.state(specs.StateStopped, 0), c.inRuntime())
}
