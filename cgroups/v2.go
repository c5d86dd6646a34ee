package cgroups

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"github.com/containerd/cgroups/v3/cgroup2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/protobuf/proto"
)

const unifiedMountpoint = "/sys/fs/cgroup"

// v2 is a cgroup in the unified hierarchy.
type v2 struct {
	m   *cgroup2.Manager
	dir string
	// devices are the rules of the device filter attached last: the
	// library attaches one more program on every call, and each must
	// allow an access, so the same rules are not attached twice.
	devices []specs.LinuxDeviceCgroup
}

func newV2(mountpoint, path string, resources *specs.LinuxResources) (*v2, error) {
	plan, err := newV2Plan(resources)
	if err != nil {
		return nil, fmt.Errorf("create cgroup %s: %w", path, err)
	}
	m, err := cgroup2.NewManager(mountpoint, path, &cgroup2.Resources{Devices: plan.devices})
	if err != nil {
		return nil, fmt.Errorf("create cgroup %s: %w", path, err)
	}
	c := &v2{m: m, dir: filepath.Join(mountpoint, path), devices: plan.devices}
	if err := c.apply(plan); err != nil {
		_ = m.Delete()
		return nil, fmt.Errorf("create cgroup %s: %w", path, err)
	}
	return c, nil
}

// apply enables the controllers the plan's files belong to in the
// cgroup's parents, best effort as runc does (a controller that cannot be
// enabled shows as its file missing), then writes the files.
func (c *v2) apply(plan *v2Plan) error {
	for _, ctrl := range plan.controllers() {
		_ = c.m.ToggleControllers([]string{ctrl}, cgroup2.Enable)
	}
	if err := plan.usage.check(c.dir); err != nil {
		return err
	}
	return applyWrites(func(string) (string, bool) { return c.dir, true }, plan.writes)
}

// check refuses limits at or below the memory the cgroup uses now, as
// runc does for memory.checkBeforeUpdate; a usage it cannot read passes.
func (mc *memoryCheck) check(dir string) error {
	if mc == nil {
		return nil
	}
	data, err := os.ReadFile(filepath.Join(dir, "memory.current"))
	if err != nil {
		return nil
	}
	usage, err := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	if err != nil {
		return nil
	}
	if mc.swap > 0 && mc.swap <= usage {
		return fmt.Errorf("memory+swap limit %d is at or below the usage %d", mc.swap, usage)
	}
	if mc.limit > 0 && mc.limit <= usage {
		return fmt.Errorf("memory limit %d is at or below the usage %d", mc.limit, usage)
	}
	return nil
}

func (c *v2) Add(pid int) error {
	if err := c.m.AddProc(uint64(pid)); err != nil {
		return fmt.Errorf("add %d to cgroup: %w", pid, err)
	}
	return nil
}

func (c *v2) Update(r *specs.LinuxResources) error {
	plan, err := newV2Plan(r)
	if err != nil {
		return fmt.Errorf("update cgroup: %w", err)
	}
	if len(plan.devices) > 0 && !reflect.DeepEqual(plan.devices, c.devices) {
		if err := c.m.Update(&cgroup2.Resources{Devices: plan.devices}); err != nil {
			return fmt.Errorf("update cgroup: %w", err)
		}
		c.devices = plan.devices
	}
	return wrap("update cgroup", c.apply(plan))
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
