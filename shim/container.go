package shim

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"

	"github.com/containerd/containerd/api/types"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/cgroups"
	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/hooks"
	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/native"
	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/taskchild"
	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/wasmlayer"
)

// container keeps the books of one task: its bundle, rootfs, init process
// and execs.
type container struct {
	plat    platform
	id      string
	bundle  string
	rootfs  string
	mounted bool // we mounted rootfs and must unmount it
	spec    *specs.Spec
	init    *process
	cgroup  cgroups.Cgroup
	// stopOOMWatch ends the OOM watch when the container is deleted.
	stopOOMWatch context.CancelFunc
	// layers are the wasm layers placed in rootfs, removed with it.
	layers *wasmlayer.Placed
	// native is runc's container when the entrypoint is a Linux program,
	// nil for a wasm task.
	native *native.Init
	// hooks are a wasm task's OCI hooks (runc runs a native container's);
	// nil until the task child exists, and again once poststop ran.
	hooks *hooks.Container

	// mu guards execs; it is taken before an exec's lifecycle lock, never
	// after one.
	mu sync.Mutex
	// execs maps an exec id to its process; nil while it is made.
	execs map[string]*process
}

// createContainer mounts the rootfs and spawns the init process, undoing
// everything if any step fails.
func createContainer(ctx context.Context, plat platform, id, bundle string, mounts []*types.Mount, s stdio, opts runtimeOptions) (_ *container, retErr error) {
	spec, err := readBundleSpec(bundle)
	if err != nil {
		return nil, err
	}
	c := &container{plat: plat, id: id, bundle: bundle, rootfs: rootfsPath(bundle, spec), spec: spec, execs: map[string]*process{}}
	defer func() {
		if retErr != nil {
			c.poststop(ctx) // last: the spec runs them once the container is destroyed
		}
	}()
	if err := c.mountRootfs(mounts); err != nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			c.unmountRootfs(ctx)
		}
	}()
	// A wasm-layer image reaches us with an empty rootfs: its modules are
	// read from containerd's content store.
	if c.layers, err = wasmlayer.Place(ctx, os.Getenv(EnvGRPCAddress), id, c.rootfs, spec.Process); err != nil {
		return nil, err
	}
	if kind, err := classifyEntrypoint(spec.Process, c.rootfs); err != nil {
		return nil, err
	} else if kind == entrypointNative {
		if err := writeRuncBinary(bundle, opts.BinaryName); err != nil {
			return nil, err
		}
		return c, c.createNative(ctx, s)
	}
	childOpts, err := childOptions(spec, spec.Process, c.rootfs)
	if err != nil {
		return nil, err
	}
	if err := hooks.Validate(spec.Hooks); err != nil {
		return nil, err
	}
	ch := &hooks.Container{ID: id, Bundle: bundle, Annotations: spec.Annotations, Hooks: spec.Hooks, Rootfs: c.rootfs}
	childOpts.Spec.Hooks = ch
	childOpts.Spawned = func(pid int) error {
		// From here on, the spec's destroy step ends with poststop.
		c.hooks = ch
		return ch.CreateRuntime(ctx, pid)
	}
	if err := c.createCgroup(ctx); err != nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			c.deleteCgroup(ctx)
		}
	}()
	if c.init, err = c.spawn(ctx, "", childOpts, s); err != nil {
		return nil, fmt.Errorf("create task %s: %w", id, err)
	}
	if err := os.WriteFile(filepath.Join(bundle, initPidFile), []byte(strconv.Itoa(c.init.pid())), 0o600); err != nil {
		_ = c.init.destroy(ctx)
		return nil, fmt.Errorf("write %s: %w", initPidFile, err)
	}
	return c, nil
}

// spawn starts a task child and moves the init child into the container's
// cgroup once its module is compiled: compiling is the engine's cost, not
// the container's, and must not be OOM-killed by a limit sized for the
// module. An exec's child joins the cgroup at its Start (joinCgroup): until
// then it runs nothing of the module, and outside a frozen cgroup it can
// still be killed when it is deleted unstarted from a paused container.
func (c *container) spawn(ctx context.Context, execID string, opts taskchild.Options, s stdio) (*process, error) {
	ioID, parent := execID, (*lifecycle)(nil) // as runc's shim: an exec's logger sees the exec id
	if execID == "" {
		ioID = c.id
	} else {
		parent = c.init.life
	}
	p, err := newProcess(ctx, c.plat, execID, ioID, opts, s, parent)
	if err != nil {
		return nil, err
	}
	log.G(ctx).WithFields(log.Fields{"id": c.id, "exec": execID, "pid": p.pid()}).Infof("module %s ready: %s", opts.Spec.ModulePath, p.child.Detail())
	if execID != "" {
		return p, nil
	}
	if err := c.cgroup.Add(p.pid()); err != nil {
		_ = p.destroy(ctx)
		return nil, err
	}
	return p, nil
}

// joinCgroup moves an exec's child into the container's cgroup before its
// module runs. A child that is gone already joins nothing; starting it
// then fails with the reason its state gives.
func (c *container) joinCgroup(p *process) error {
	if err := c.cgroup.Add(p.pid()); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("exec %s: %w", p.id, err)
	}
	return nil
}

func (c *container) createCgroup(ctx context.Context) error {
	ns, _ := namespaces.Namespace(ctx)
	var cgroupsPath string
	var resources *specs.LinuxResources
	if c.spec.Linux != nil {
		cgroupsPath, resources = c.spec.Linux.CgroupsPath, c.spec.Linux.Resources
	}
	path, err := cgroups.Path(cgroupsPath, ns, c.id)
	if err != nil {
		return fmt.Errorf("%w: %w", err, errdefs.ErrInvalidArgument)
	}
	if c.cgroup, err = c.plat.cgroup(path, resources); err != nil {
		return err
	}
	return nil
}

// poststart runs the poststart hooks of a wasm task whose module started.
func (c *container) poststart(ctx context.Context) error {
	return c.hooks.Poststart(ctx, c.init.pid())
}

// poststop runs the poststop hooks once, after the task is destroyed; the
// spec makes their failures warnings.
func (c *container) poststop(ctx context.Context) {
	h := c.hooks
	c.hooks = nil
	if err := h.Poststop(context.WithoutCancel(ctx)); err != nil {
		log.G(ctx).WithError(err).WithField("id", c.id).Warn("poststop hook failed")
	}
}

// watchOOM reports every OOM kill in the container's cgroup.
func (c *container) watchOOM(ctx context.Context, onOOM func()) {
	ctx, c.stopOOMWatch = context.WithCancel(context.WithoutCancel(ctx))
	if err := c.cgroup.WatchOOM(ctx, onOOM); err != nil {
		log.G(ctx).WithError(err).WithField("id", c.id).Warn("OOM kills of this task will not be reported")
	}
}

// deleteCgroup removes the cgroup once its processes are gone.
func (c *container) deleteCgroup(ctx context.Context) {
	if c.stopOOMWatch != nil {
		c.stopOOMWatch()
	}
	if err := removeCgroupRetrying(c.cgroup.Delete); err != nil {
		log.G(ctx).WithError(err).WithField("id", c.id).Error("delete cgroup")
	}
}

// setFrozen freezes (pause) or thaws (resume) the task's cgroup, which
// holds the init and every exec; onDone queues the event. The init's
// lifecycle refuses a second move while one is under way, and State
// answers while the cgroup changes.
func (c *container) setFrozen(m move, onDone func()) error {
	if err := c.init.life.begin(m); err != nil {
		return err
	}
	change := c.cgroup.Freeze
	if m == moveResume {
		change = c.cgroup.Thaw
	}
	err := change()
	c.init.life.end(err, 0, func(int) { onDone() })
	if m == movePause && c.init.life.snapshot().state == stateStopped {
		// The init ended as the freeze took effect: nothing can resume
		// a stopped task, so its execs must not stay frozen.
		_ = c.cgroup.Thaw()
	}
	return err
}

func (c *container) mountRootfs(mounts []*types.Mount) error {
	if len(mounts) == 0 {
		return nil
	}
	if err := os.MkdirAll(c.rootfs, 0o711); err != nil {
		return fmt.Errorf("create rootfs dir: %w", err)
	}
	var ms []mount.Mount
	for _, m := range mounts {
		ms = append(ms, mount.Mount{Type: m.Type, Source: m.Source, Target: m.Target, Options: m.Options})
	}
	if err := mount.All(ms, c.rootfs); err != nil {
		return fmt.Errorf("mount rootfs: %w", err)
	}
	c.mounted = true
	return nil
}

func (c *container) unmountRootfs(ctx context.Context) {
	c.layers.Remove(ctx)
	if !c.mounted {
		return
	}
	if err := mount.UnmountRecursive(c.rootfs, 0); err != nil {
		log.G(ctx).WithError(err).WithField("rootfs", c.rootfs).Error("unmount rootfs")
		return
	}
	c.mounted = false
}

// process finds the init process ("") or an exec.
func (c *container) process(execID string) (*process, error) {
	if execID == "" {
		return c.init, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.execs[execID]
	if p == nil {
		return nil, fmt.Errorf("exec %s of task %s: %w", execID, c.id, errdefs.ErrNotFound)
	}
	return p, nil
}

// reserveExec claims an exec id before its process is made: a second Exec
// of it is refused before it spawns anything, and no call finds it until
// addExec.
func (c *container) reserveExec(execID string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.execs[execID]; ok || execID == "" {
		return fmt.Errorf("exec %q of task %s: %w", execID, c.id, errdefs.ErrAlreadyExists)
	}
	c.execs[execID] = nil
	return nil
}

// addExec records the exec reserved as execID and announces it (onAdded
// queues its event) before any call can find it; a task being deleted
// refuses it.
func (c *container) addExec(execID string, p *process, onAdded func(pid int), onExit exitHook) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.init.life.isDeleted() {
		return fmt.Errorf("task %s is being deleted: %w", c.id, errdefs.ErrNotFound)
	}
	c.execs[execID] = p
	p.life.announce(onAdded, onExit)
	return nil
}

func (c *container) removeExec(execID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.execs, execID)
}

// processes lists the init process and every exec.
func (c *container) processes() []*process {
	c.mu.Lock()
	defer c.mu.Unlock()
	ps := []*process{c.init}
	for _, p := range c.execs {
		if p != nil {
			ps = append(ps, p)
		}
	}
	return ps
}
