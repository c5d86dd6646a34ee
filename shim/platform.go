package shim

import (
	"context"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/cgroups"
	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/taskchild"
)

// platform makes what a wasm task runs on: its task children and its
// cgroup. The service is given the host's; its unit tests give it a stub,
// so that the service's books and state machine run without real children.
type platform interface {
	// spawn starts a task child and returns once its module is ready to
	// run, or with the reason it is not.
	spawn(ctx context.Context, opts taskchild.Options) (runner, error)
	// cgroup creates the cgroup at path (from cgroups.Path) with resources.
	cgroup(path string, resources *specs.LinuxResources) (cgroups.Cgroup, error)
}

// hostPlatform runs task children of this binary in real cgroups.
type hostPlatform struct{}

func (hostPlatform) spawn(ctx context.Context, opts taskchild.Options) (runner, error) {
	c, err := taskchild.Spawn(ctx, opts)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func (hostPlatform) cgroup(path string, resources *specs.LinuxResources) (cgroups.Cgroup, error) {
	return cgroups.New(path, resources)
}
