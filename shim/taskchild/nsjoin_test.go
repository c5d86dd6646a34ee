package taskchild

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestStartInJoinsNetworkNamespace: a child started with a network
// namespace by path lives in it, and no thread of this process is left in
// it afterwards.
func TestStartInJoinsNetworkNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to create a network namespace")
	}
	holder := exec.Command("unshare", "--net", "sleep", "60")
	if err := holder.Start(); err != nil {
		t.Skipf("unshare: %v", err)
	}
	t.Cleanup(func() { _ = holder.Process.Kill(); _ = holder.Wait() })
	nsPath := "/proc/" + strconv.Itoa(holder.Process.Pid) + "/ns/net"
	want := waitForNamespaceChange(t, nsPath)

	child := exec.Command("sleep", "60")
	if err := startIn(child, []Namespace{{Type: syscall.CLONE_NEWNET, Path: nsPath}}); err != nil {
		t.Fatalf("startIn: %v", err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	if got, _ := os.Readlink("/proc/" + strconv.Itoa(child.Process.Pid) + "/ns/net"); got != want {
		t.Fatalf("child's netns %s, want the namespace's %s", got, want)
	}
	own, _ := os.Readlink("/proc/self/ns/net")
	tasks, _ := filepath.Glob("/proc/self/task/*/ns/net")
	for _, task := range tasks {
		if ns, err := os.Readlink(task); err == nil && ns != own {
			t.Errorf("thread %s is still in %s", task, ns)
		}
	}
}

func TestStartInRefusesMissingNamespace(t *testing.T) {
	err := startIn(exec.Command("true"), []Namespace{{Type: syscall.CLONE_NEWNET, Path: "/nonexistent/ns"}})
	if err == nil {
		t.Fatal("no error for a missing namespace")
	}
}

// waitForNamespaceChange waits until unshare has entered its new namespace.
func waitForNamespaceChange(t *testing.T, nsPath string) string {
	own, _ := os.Readlink("/proc/self/ns/net")
	for i := 0; i < 200; i++ {
		if ns, err := os.Readlink(nsPath); err == nil && ns != own {
			return ns
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("unshare did not enter a new network namespace")
	return ""
}

func TestNamespacesOf(t *testing.T) {
	rest, join := NamespacesOf(123, unix.CLONE_NEWNET|unix.CLONE_NEWNS|unix.CLONE_NEWPID)
	if rest != unix.CLONE_NEWNS {
		t.Errorf("rest = %#x, want only CLONE_NEWNS (a mount namespace cannot be joined)", rest)
	}
	got := map[int]string{}
	for _, ns := range join {
		got[ns.Type] = ns.Path
	}
	want := map[int]string{unix.CLONE_NEWNET: "/proc/123/ns/net", unix.CLONE_NEWPID: "/proc/123/ns/pid"}
	if len(got) != len(want) || got[unix.CLONE_NEWNET] != want[unix.CLONE_NEWNET] || got[unix.CLONE_NEWPID] != want[unix.CLONE_NEWPID] {
		t.Errorf("join = %v, want %v", got, want)
	}
}
