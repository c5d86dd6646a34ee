package cgroups

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/containerd/cgroups/v3/cgroup2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/protobuf/proto"
)

const unifiedMountpoint = "/sys/fs/cgroup"

// v2 is a cgroup in the unified hierarchy.
type v2 struct {
	m   *cgroup2.Manager
	dir string
}

func newV2(mountpoint, path string, resources *specs.LinuxResources) (*v2, error) {
	res, files, err := v2Resources(resources)
	if err != nil {
		return nil, fmt.Errorf("create cgroup %s: %w", path, err)
	}
	m, err := cgroup2.NewManager(mountpoint, path, res)
	if err != nil {
		return nil, fmt.Errorf("create cgroup %s: %w", path, err)
	}
	c := &v2{m: m, dir: filepath.Join(mountpoint, path)}
	if err := c.writeFiles(files); err != nil {
		_ = m.Delete()
		return nil, fmt.Errorf("create cgroup %s: %w", path, err)
	}
	return c, nil
}

// writeFiles writes what cgroup2.Resources cannot carry. The names were
// checked to be plain file names of the cgroup's directory.
func (c *v2) writeFiles(files map[string]string) error {
	for name, value := range files {
		if err := writeExisting(filepath.Join(c.dir, name), value); err != nil {
			return fmt.Errorf("set %s to %q: %w", name, value, err)
		}
	}
	return nil
}

// writeExisting writes to a file that must exist: a name the kernel does
// not know fails with ENOENT rather than a refused create.
func writeExisting(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(value); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (c *v2) Add(pid int) error {
	if err := c.m.AddProc(uint64(pid)); err != nil {
		return fmt.Errorf("add %d to cgroup: %w", pid, err)
	}
	return nil
}

func (c *v2) Update(r *specs.LinuxResources) error {
	res, files, err := v2Resources(r)
	if err != nil {
		return fmt.Errorf("update cgroup: %w", err)
	}
	if err := c.m.Update(res); err != nil {
		return fmt.Errorf("update cgroup: %w", err)
	}
	return wrap("update cgroup", c.writeFiles(files))
}

func (c *v2) Stats() (proto.Message, error) {
	m, err := c.m.Stat()
	if err != nil {
		return nil, fmt.Errorf("cgroup stats: %w", err)
	}
	return m, nil
}

func (c *v2) Freeze() error { return wrap("freeze cgroup", c.m.Freeze()) }
func (c *v2) Thaw() error   { return wrap("thaw cgroup", c.m.Thaw()) }

func (c *v2) Pids() ([]int, error) {
	procs, err := c.m.Procs(false)
	if err != nil {
		return nil, fmt.Errorf("list cgroup processes: %w", err)
	}
	pids := make([]int, 0, len(procs))
	for _, p := range procs {
		pids = append(pids, int(p))
	}
	return pids, nil
}

// WatchOOM follows memory.events; a growing oom_kill count is an OOM kill.
func (c *v2) WatchOOM(ctx context.Context, onOOM func()) error {
	events, errs := c.m.EventChan()
	go func() {
		var kills uint64
		for {
			select {
			case e := <-events:
				if e.OOMKill > kills {
					kills = e.OOMKill
					onOOM()
				}
			case <-errs:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return nil
}

func (c *v2) Delete() error {
	return wrap("delete cgroup", c.m.Delete())
}
