package cgroups

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/containerd/cgroups/v3"
	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/containerd/cgroups/v3/cgroup2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/protobuf/proto"
)

// Cgroup is one container's cgroup.
type Cgroup interface {
	// Add moves a process into the cgroup.
	Add(pid int) error
	// Update applies new resources to the cgroup.
	Update(*specs.LinuxResources) error
	// Stats returns the cgroup's metrics: a cgroup1 stats v1.Metrics or a
	// cgroup2 stats v2.Metrics, the types containerd's clients decode.
	Stats() (proto.Message, error)
	Freeze() error
	Thaw() error
	// Pids lists the processes in the cgroup.
	Pids() ([]int, error)
	// WatchOOM calls onOOM for every OOM kill in the cgroup until ctx ends
	// or the cgroup is deleted.
	WatchOOM(ctx context.Context, onOOM func()) error
	// Delete removes the cgroup; it must be empty.
	Delete() error
}

// ErrNoMemoryController means OOM kills cannot be watched on this host.
var ErrNoMemoryController = errors.New("no memory cgroup controller")

// New creates the cgroup at path (from Path) with resources applied, on
// v2 when the host is unified and on v1 otherwise, as runc chooses.
func New(path string, resources *specs.LinuxResources) (Cgroup, error) {
	if cgroups.Mode() == cgroups.Unified {
		return newV2(unifiedMountpoint, path, resources)
	}
	return newV1(path, resources)
}

// Remove deletes the cgroup at path (from Path) if it exists, without
// creating it: the shim's delete action cleans up with it after a shim
// died. The cgroup must be empty.
func Remove(path string) error {
	if cgroups.Mode() == cgroups.Unified {
		if _, err := os.Stat(filepath.Join(unifiedMountpoint, path)); errors.Is(err, os.ErrNotExist) {
			return nil
		}
		m, err := cgroup2.Load(path, cgroup2.WithMountpoint(unifiedMountpoint))
		if err != nil {
			return fmt.Errorf("load cgroup %s: %w", path, err)
		}
		return wrap("delete cgroup", m.Delete())
	}
	cg, err := cgroup1.Load(cgroup1.StaticPath(path))
	if errors.Is(err, cgroup1.ErrCgroupDeleted) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("load cgroup %s: %w", path, err)
	}
	return wrap("delete cgroup", cg.Delete())
}
