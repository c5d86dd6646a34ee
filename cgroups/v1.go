package cgroups

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"

	"github.com/containerd/cgroups/v3/cgroup1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/protobuf/proto"
)

// v1 is a cgroup in every v1 hierarchy the host mounts.
type v1 struct {
	cg   cgroup1.Cgroup
	path string
}

func newV1(path string, resources *specs.LinuxResources) (*v1, error) {
	lib, ws, err := v1Plan(resources)
	if err != nil {
		return nil, fmt.Errorf("create cgroup %s: %w", path, err)
	}
	cg, err := cgroup1.New(cgroup1.StaticPath(path), lib)
	if err != nil {
		// The library leaves the hierarchies it got through.
		if half, lerr := cgroup1.Load(cgroup1.StaticPath(path)); lerr == nil {
			_ = half.Delete()
		}
		return nil, fmt.Errorf("create cgroup %s: %w", path, err)
	}
	c := &v1{cg: cg, path: path}
	if err := applyWrites(c.dir, ws); err != nil {
		_ = cg.Delete()
		return nil, fmt.Errorf("create cgroup %s: %w", path, err)
	}
	return c, nil
}

// dir is the cgroup's directory in the hierarchy of controller ctrl, if
// the host mounts one.
func (c *v1) dir(ctrl string) (string, bool) {
	for _, s := range c.cg.Subsystems() {
		if p, ok := s.(interface{ Path(string) string }); ok && string(s.Name()) == ctrl {
			return p.Path(c.path), true
		}
	}
	return "", false
}

func (c *v1) Add(pid int) error {
	if err := c.cg.AddProc(uint64(pid)); err != nil {
		return fmt.Errorf("add %d to cgroup: %w", pid, err)
	}
	return nil
}

func (c *v1) Update(r *specs.LinuxResources) error {
	lib, ws, err := v1Plan(r)
	if err != nil {
		return fmt.Errorf("update cgroup: %w", err)
	}
	if err := c.cg.Update(lib); err != nil {
		return fmt.Errorf("update cgroup: %w", err)
	}
	return wrap("update cgroup", applyWrites(c.dir, ws))
}

func (c *v1) Stats() (proto.Message, error) {
	m, err := c.cg.Stat(cgroup1.IgnoreNotExist)
	if err != nil {
		return nil, fmt.Errorf("cgroup stats: %w", err)
	}
	return m, nil
}

func (c *v1) Freeze() error { return wrap("freeze cgroup", c.cg.Freeze()) }
func (c *v1) Thaw() error   { return wrap("thaw cgroup", c.cg.Thaw()) }

func (c *v1) Pids() ([]int, error) {
	procs, err := c.cg.Processes(cgroup1.Devices, false)
	if err != nil {
		// Not every host mounts the devices hierarchy; pids is ours too.
		procs, err = c.cg.Processes(cgroup1.Pids, false)
	}
	if err != nil {
		return nil, fmt.Errorf("list cgroup processes: %w", err)
	}
	pids := make([]int, 0, len(procs))
	for _, p := range procs {
		pids = append(pids, p.Pid)
	}
	return pids, nil
}

// WatchOOM reads the memory controller's OOM eventfd; each read is one or
// more OOM events. Removing the cgroup wakes the eventfd too, which is
// told apart by the cgroup being gone.
func (c *v1) WatchOOM(ctx context.Context, onOOM func()) error {
	fd, err := c.cg.OOMEventFD()
	if errors.Is(err, cgroup1.ErrMemoryNotSupported) {
		return ErrNoMemoryController
	}
	if err != nil {
		return fmt.Errorf("watch OOM: %w", err)
	}
	f := os.NewFile(fd, "oom-eventfd")
	go func() {
		<-ctx.Done()
		f.Close()
	}()
	go func() {
		buf := make([]byte, 8)
		for {
			if _, err := f.Read(buf); err != nil {
				return
			}
			if binary.LittleEndian.Uint64(buf) == 0 || c.cg.State() == cgroup1.Deleted {
				return
			}
			onOOM()
		}
	}()
	return nil
}

func (c *v1) Delete() error {
	return wrap("delete cgroup", c.cg.Delete())
}

func wrap(what string, err error) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
