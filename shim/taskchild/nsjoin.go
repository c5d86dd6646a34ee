package taskchild

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"

	"golang.org/x/sys/unix"
)

// Namespace is an existing namespace that a task child joins, such as its
// Pod's network namespace.
type Namespace struct {
	// Type is the CLONE_NEW* flag of the namespace: net, uts, ipc, pid or
	// cgroup, the kinds that one thread of a running Go program may
	// enter (mount and user namespaces require a single-threaded caller).
	Type int
	Path string
}

// procNames are the /proc/thread-self/ns entries of the joinable kinds.
var procNames = map[int]string{
	unix.CLONE_NEWNET:    "net",
	unix.CLONE_NEWUTS:    "uts",
	unix.CLONE_NEWIPC:    "ipc",
	unix.CLONE_NEWPID:    "pid_for_children",
	unix.CLONE_NEWCGROUP: "cgroup",
}

// Joinable tells whether a namespace of this kind can be joined by path.
func Joinable(flag int) bool { _, ok := procNames[flag]; return ok }

// startIn starts cmd inside the given namespaces without cgo: a new
// process inherits the namespaces of the thread that forks it, so one OS
// thread enters them, forks, and goes back to the shim's own before
// anything else runs on it. The thread must live on after the fork: the
// child's Pdeathsig fires when the thread that forked it exits.
func startIn(cmd *exec.Cmd, join []Namespace) error {
	if len(join) == 0 {
		return cmd.Start()
	}
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		restore, err := enter(join)
		if err == nil {
			err = cmd.Start()
		}
		if rerr := restore(); rerr != nil {
			// A thread stuck in a task's namespaces must never run
			// another goroutine; it stays parked, which also keeps the
			// child's Pdeathsig from firing.
			errc <- errors.Join(err, rerr)
			select {}
		}
		runtime.UnlockOSThread()
		errc <- err
	}()
	return <-errc
}

// enter moves the calling (locked) thread into each namespace and returns
// the function that moves it back.
func enter(join []Namespace) (restore func() error, err error) {
	var back []*os.File
	restore = func() error {
		var errs []error
		for i := len(back) - 1; i >= 0; i-- {
			if err := unix.Setns(int(back[i].Fd()), join[i].Type); err != nil {
				errs = append(errs, fmt.Errorf("return to the shim's %s namespace: %w", procNames[join[i].Type], err))
			}
			back[i].Close()
		}
		return errors.Join(errs...)
	}
	for _, ns := range join {
		name, ok := procNames[ns.Type]
		if !ok {
			return restore, fmt.Errorf("joining a namespace of kind %#x is not supported", ns.Type)
		}
		own, err := os.Open("/proc/thread-self/ns/" + name)
		if err != nil {
			return restore, fmt.Errorf("open the shim's %s namespace: %w", name, err)
		}
		target, err := os.Open(ns.Path)
		if err != nil {
			own.Close()
			return restore, fmt.Errorf("open %s namespace %s: %w", name, ns.Path, err)
		}
		err = unix.Setns(int(target.Fd()), ns.Type)
		target.Close()
		if err != nil {
			own.Close()
			return restore, fmt.Errorf("join %s namespace %s: %w", name, ns.Path, err)
		}
		back = append(back, own)
	}
	return restore, nil
}

// NamespacesOf turns the new namespaces in flags (CLONE_NEW*) into the
// namespaces of the running process pid, for each kind that can be
// joined: an exec enters its task's namespaces, as runc's does. rest are
// the flags of the kinds that cannot be joined (mount), still created anew.
func NamespacesOf(pid int, flags uintptr) (rest uintptr, join []Namespace) {
	for flag := range procNames {
		if flags&uintptr(flag) == 0 {
			continue
		}
		name := procNames[flag]
		if flag == unix.CLONE_NEWPID {
			name = "pid" // the process's own, which its children share
		}
		join = append(join, Namespace{Type: flag, Path: fmt.Sprintf("/proc/%d/ns/%s", pid, name)})
		flags &^= uintptr(flag)
	}
	return flags, join
}
