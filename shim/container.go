package shim

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"github.com/containerd/containerd/api/types"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/errdefs"
	"github.com/containerd/log"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// container keeps the books of one task: its bundle, rootfs, init process
// and execs.
type container struct {
	id      string
	bundle  string
	rootfs  string
	mounted bool // we mounted rootfs and must unmount it
	spec    *specs.Spec
	init    *process

	mu    sync.Mutex // guards execs
	execs map[string]*process
}

// createContainer mounts the rootfs and spawns the init process, undoing
// everything if any step fails.
func createContainer(ctx context.Context, id, bundle string, mounts []*types.Mount, s stdio) (_ *container, retErr error) {
	spec, err := readBundleSpec(bundle)
	if err != nil {
		return nil, err
	}
	c := &container{id: id, bundle: bundle, rootfs: rootfsPath(bundle, spec), spec: spec, execs: map[string]*process{}}
	if err := c.mountRootfs(mounts); err != nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			c.unmountRootfs(ctx)
		}
	}()
	opts, err := childOptions(spec, spec.Process, c.rootfs)
	if err != nil {
		return nil, err
	}
	if c.init, err = newProcess(ctx, "", opts, s); err != nil {
		return nil, fmt.Errorf("create task %s: %w", id, err)
	}
	if err := os.WriteFile(filepath.Join(bundle, initPidFile), []byte(strconv.Itoa(c.init.pid)), 0o600); err != nil {
		_ = c.init.destroy(ctx)
		return nil, fmt.Errorf("write %s: %w", initPidFile, err)
	}
	return c, nil
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
	p, ok := c.execs[execID]
	if !ok {
		return nil, fmt.Errorf("exec %s of task %s: %w", execID, c.id, errdefs.ErrNotFound)
	}
	return p, nil
}

// addExec records an exec; an id already in use is refused.
func (c *container) addExec(execID string, p *process) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.execs[execID]; ok {
		return fmt.Errorf("exec %s of task %s: %w", execID, c.id, errdefs.ErrAlreadyExists)
	}
	c.execs[execID] = p
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
		ps = append(ps, p)
	}
	return ps
}
