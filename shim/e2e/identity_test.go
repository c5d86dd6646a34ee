package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/containers"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestUser: with --user, the module runs as that uid and gid: the files it
// creates belong to them, and what they may not write stays unwritten.
func TestUser(t *testing.T) {
	needDaemon(t)
	open := t.TempDir()
	if err := os.Chmod(open, 0o777); err != nil {
		t.Fatal(err)
	}
	closed := t.TempDir() // 0700, root's
	binds := []specs.Mount{
		{Type: "bind", Source: open, Destination: "/open", Options: []string{"rbind", "rw"}},
		{Type: "bind", Source: closed, Destination: "/closed", Options: []string{"rbind", "rw"}},
	}
	// ctr 1.6 has no run --user; the Go client sets the same spec fields.
	if !ctrHasFlag(t, "--user", "run") {
		write := func(path string) int {
			return int(runGo(t, []string{demoModule, "write", path, "hi"}, nil, nil, oci.WithUIDGID(1234, 2345), oci.WithMounts(binds)).exit)
		}
		if write("/open/f.txt") != 0 {
			t.Fatal("write as 1234:2345 into a world-writable dir failed")
		}
		checkOwner(t, filepath.Join(open, "f.txt"))
		if write("/closed/f.txt") == 0 {
			t.Error("uid 1234 wrote into root's 0700 directory")
		}
		return
	}
	mounts := []string{
		"--user", "1234:2345",
		"--mount", "type=bind,src=" + open + ",dst=/open,options=rbind:rw",
		"--mount", "type=bind,src=" + closed + ",dst=/closed,options=rbind:rw",
	}
	if _, errOut, exit := runCtr(t, ctrRunArgs(containerID(t), mounts, demoModule, "write", "/open/f.txt", "hi")...); exit != 0 {
		t.Fatalf("write as 1234:2345 into a world-writable dir failed: %s", errOut)
	}
	checkOwner(t, filepath.Join(open, "f.txt"))
	if _, _, exit := runCtr(t, ctrRunArgs(containerID(t), mounts, demoModule, "write", "/closed/f.txt", "hi")...); exit == 0 {
		t.Error("uid 1234 wrote into root's 0700 directory")
	}
}

func checkOwner(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if st.Uid != 1234 || st.Gid != 2345 {
		t.Errorf("the module's file belongs to %d:%d, want 1234:2345", st.Uid, st.Gid)
	}
}

// nsFiles are the /proc/<pid>/ns entries of the namespace types an OCI
// spec can ask for.
var nsFiles = map[specs.LinuxNamespaceType]string{
	specs.PIDNamespace:     "pid",
	specs.NetworkNamespace: "net",
	specs.MountNamespace:   "mnt",
	specs.IPCNamespace:     "ipc",
	specs.UTSNamespace:     "uts",
	specs.CgroupNamespace:  "cgroup",
	specs.UserNamespace:    "user",
}

// TestNamespaces: the task child lives in a new namespace of each type its
// spec lists, and shares the host's for every type it does not, as runc
// would place it.
func TestNamespaces(t *testing.T) {
	needDaemon(t)
	id, pid := startSpinning(t, []string{"/busyloop.wasm"})
	data, err := os.ReadFile(filepath.Join(bundleDir(id), "config.json"))
	if err != nil {
		t.Fatalf("read the task's spec: %v", err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatalf("parse the task's spec: %v", err)
	}
	asked := map[string]bool{}
	for _, ns := range spec.Linux.Namespaces {
		if ns.Path != "" {
			t.Fatalf("ctr's default spec joins %s at %s; this test expects new namespaces only", ns.Type, ns.Path)
		}
		asked[nsFiles[ns.Type]] = true
	}
	if len(asked) == 0 {
		t.Fatal("the spec asks for no namespace; nothing to check")
	}
	for _, name := range nsFiles {
		host, err := os.Readlink("/proc/self/ns/" + name)
		if err != nil {
			continue // a kernel without this namespace type
		}
		task, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, name))
		if err != nil {
			t.Fatalf("read the task's %s namespace: %v", name, err)
		}
		switch {
		case asked[name] && task == host:
			t.Errorf("the spec asks for a new %s namespace, but the task shares the host's (%s)", name, host)
		case !asked[name] && task != host:
			t.Errorf("the spec asks for no %s namespace, but the task is in %s, not the host's %s", name, task, host)
		}
	}
}

// TestNoNewPrivs: every thread of a running task child has no_new_privs.
func TestNoNewPrivs(t *testing.T) {
	needDaemon(t)
	_, pid := startSpinning(t, []string{"/busyloop.wasm"})
	threads, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	if err != nil || len(threads) == 0 {
		t.Fatalf("list the threads of task child %d: %v", pid, err)
	}
	for _, p := range threads {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(data), "\nNoNewPrivs:\t1\n") {
			t.Errorf("%s: the thread runs without no_new_privs", p)
		}
	}
}

// TestAdditionalGids: the spec's additional gids are the module's
// supplementary groups: a directory open only to one of them is writable,
// one open to none of them is not.
func TestAdditionalGids(t *testing.T) {
	needDaemon(t)
	groupDir := func(gid int) string {
		dir := t.TempDir()
		if err := os.Chown(dir, 0, gid); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o770); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	member, stranger := groupDir(3456), groupDir(4567)
	binds := oci.WithMounts([]specs.Mount{
		{Type: "bind", Source: member, Destination: "/member", Options: []string{"rbind", "rw"}},
		{Type: "bind", Source: stranger, Destination: "/stranger", Options: []string{"rbind", "rw"}},
	})
	user := func(_ context.Context, _ oci.Client, _ *containers.Container, s *specs.Spec) error {
		s.Process.User = specs.User{UID: 1234, GID: 2345, AdditionalGids: []uint32{3456}}
		return nil
	}
	write := func(path string) goResult {
		return runGo(t, []string{demoModule, "write", path, "hi"}, nil, nil, user, binds)
	}
	if r := write("/member/f.txt"); r.exit != 0 {
		t.Errorf("uid 1234 with additional gid 3456 could not write into a 0770 directory of group 3456: exit %d, %s", r.exit, r.stderr)
	}
	if r := write("/stranger/f.txt"); r.exit == 0 {
		t.Error("uid 1234 wrote into a 0770 directory of group 4567, which it is not in")
	}
}

// TestExecNamespaces: an exec lives in its task's namespaces, as with
// runc: same pid, net, ipc, uts and cgroup namespaces as the init.
func TestExecNamespaces(t *testing.T) {
	needDaemon(t)
	c, ctx := newClient(t)
	ctr := newContainer(t, c, ctx, containerID(t), []string{"/busyloop.wasm"})
	task, err := ctr.NewTask(ctx, goIO(nil, nil, nil))
	if err != nil {
		t.Fatalf("new task: %v", err)
	}
	defer task.Delete(ctx, client.WithProcessKill)
	if err := task.Start(ctx); err != nil {
		t.Fatalf("start: %v", err)
	}
	proc, statusC := startExec(t, ctx, task, "spin", &specs.Process{Args: []string{"/busyloop.wasm"}, Cwd: "/"}, goIO(nil, nil, nil))
	for _, name := range []string{"pid", "net", "ipc", "uts", "cgroup"} {
		initNS, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", task.Pid(), name))
		if err != nil {
			t.Fatal(err)
		}
		execNS, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", proc.Pid(), name))
		if err != nil {
			t.Fatal(err)
		}
		if execNS != initNS {
			t.Errorf("the exec is in %s, the task in %s", execNS, initNS)
		}
	}
	if err := proc.Kill(ctx, syscall.SIGKILL); err != nil {
		t.Errorf("kill the exec: %v", err)
	}
	<-statusC
	if _, err := proc.Delete(ctx); err != nil {
		t.Errorf("exec delete: %v", err)
	}
}
