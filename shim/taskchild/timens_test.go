package taskchild

import (
	"context"
	"os"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// A time namespace cannot be asked of clone (its flag is among clone's
// exit-signal bits); the child unshares it before its exec, which moves
// the child itself into it.
func TestUnshareTimeNamespace(t *testing.T) {
	self, err := os.Readlink("/proc/self/ns/time")
	if err != nil {
		t.Skip("the kernel has no time namespaces")
	}
	if os.Geteuid() != 0 {
		t.Skip("a new time namespace needs root")
	}
	c, err := Spawn(context.Background(), Options{
		Spec:         Spec{ModulePath: "ok", Args: []string{"/m.wasm", "exit", "0"}},
		Unshareflags: unix.CLONE_NEWTIME,
	})
	if err != nil {
		t.Fatalf("spawn: %v", err)
	}
	t.Cleanup(func() { _ = c.Signal(syscall.SIGKILL) })
	child, err := os.Readlink("/proc/" + strconv.Itoa(c.Pid()) + "/ns/time")
	if err != nil {
		t.Fatal(err)
	}
	if child == self {
		t.Fatalf("the child is in the shim's time namespace %s", self)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	if st := c.Wait().Status; st != 0 {
		t.Fatalf("exit status %d", st)
	}
}
