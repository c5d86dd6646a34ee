package shim

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	taskapi "github.com/containerd/containerd/api/runtime/task/v2"
	"github.com/containerd/containerd/v2/core/mount"
	"github.com/containerd/containerd/v2/pkg/protobuf"
	"github.com/containerd/containerd/v2/pkg/protobuf/proto"
	"github.com/containerd/log"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/cgroups"
	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/taskchild"
)

// Files the shim keeps in a bundle.
const (
	initPidFile = "init.pid"
	exitFile    = "exit.json"
)

// deleteBundle is the "delete" action: containerd runs it when a shim died
// without deleting its task. It kills what is left, unmounts the rootfs and
// reports how the task ended.
func deleteBundle(ctx context.Context, f flags) error {
	bundle := f.bundle
	if bundle == "" {
		var err error
		if bundle, err = os.Getwd(); err != nil {
			return fmt.Errorf("find bundle: %w", err)
		}
	}
	pid := killLeftover(ctx, bundle)
	deleteNativeLeftover(ctx, bundle, f.id)
	if err := mount.UnmountRecursive(filepath.Join(bundle, "rootfs"), 0); err != nil {
		log.G(ctx).WithError(err).Warn("unmount rootfs of dead shim")
	}
	removeCgroup(ctx, bundle, f)
	resp := &taskapi.DeleteResponse{
		Pid:        uint32(pid),
		ExitStatus: 128 + uint32(syscall.SIGKILL),
		ExitedAt:   protobuf.ToTimestamp(time.Now()),
	}
	if rec, err := readExitRecord(bundle); err == nil {
		resp.Pid, resp.ExitStatus = uint32(rec.Pid), uint32(rec.Status)
		resp.ExitedAt = protobuf.ToTimestamp(time.Unix(0, rec.ExitedAt))
	}
	data, err := proto.Marshal(resp)
	if err != nil {
		return fmt.Errorf("marshal delete response: %w", err)
	}
	_, err = os.Stdout.Write(data)
	return err
}

// removeCgroup deletes the container's cgroup, which the dead shim would
// have deleted after the task's exit.
func removeCgroup(ctx context.Context, bundle string, f flags) {
	spec, err := readBundleSpec(bundle)
	if err != nil {
		log.G(ctx).WithError(err).Warn("cgroup of dead shim: no spec")
		return
	}
	var cgroupsPath string
	if spec.Linux != nil {
		cgroupsPath = spec.Linux.CgroupsPath
	}
	path, err := cgroups.Path(cgroupsPath, f.namespace, f.id)
	if err != nil {
		log.G(ctx).WithError(err).Warn("cgroup of dead shim")
		return
	}
	if err := removeCgroupRetrying(func() error { return cgroups.Remove(path) }); err != nil {
		log.G(ctx).WithError(err).WithField("cgroup", path).Warn("delete cgroup of dead shim")
	}
}

// removeCgroupRetrying deletes a cgroup whose processes were just killed
// or reaped: the kernel may take a moment to let them go, so a busy
// cgroup is tried again for up to a second.
func removeCgroupRetrying(remove func() error) error {
	var err error
	for range 100 {
		if err = remove(); err == nil {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return err
}

// killLeftover kills the task child recorded in the bundle if it still
// runs, and returns its pid (0 if none was recorded).
func killLeftover(ctx context.Context, bundle string) int {
	data, err := os.ReadFile(filepath.Join(bundle, initPidFile))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0
	}
	if isTaskChild(pid) {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			log.G(ctx).WithError(err).WithField("pid", pid).Warn("kill leftover task")
		}
	}
	return pid
}

// isTaskChild guards against killing a process that reused the pid.
func isTaskChild(pid int) bool {
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return false
	}
	return strings.Contains(string(cmdline), taskchild.ChildArg)
}
