package taskchild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// File descriptors a child inherits besides stdio.
const (
	specFD   = 3
	statusFD = 4
	startFD  = 5
)

// terminatingSignals end a task the way the kernel's default action would
// end a native process. Pid 1 of a pid namespace gets no default action, so
// without these handlers SIGTERM would be ignored.
var terminatingSignals = []os.Signal{
	syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM,
}

// status is a message a child sends on its status fd: ready (or the
// error that prevents it), then started (or the error that prevents it),
// then, if it gets that far, how the run ended.
type status struct {
	Ready   bool   `json:"ready,omitempty"`
	Started bool   `json:"started,omitempty"`
	Detail  string `json:"detail,omitempty"`
	Error   string `json:"error,omitempty"`
	// Class is the errdefs class of Error (see Classify), "" for none.
	Class       string `json:"class,omitempty"`
	OutOfMemory bool   `json:"outOfMemory,omitempty"`
}

// Main is the task child's main function; it never returns.
func Main(engine Engine) {
	// Set here too for a child that joined a pid namespace, where the
	// shim could not (see parentDeathSignal); a second setting is harmless.
	_ = unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0)
	exitOnSignal()
	os.Exit(run(engine))
}

// exitOnSignal exits from the signal goroutine, so a module spinning in a
// loop without ever calling the host still ends at once.
func exitOnSignal() {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, terminatingSignals...)
	go func() {
		sig := <-sigs
		os.Exit(128 + int(sig.(syscall.Signal)))
	}()
}

func run(engine Engine) int {
	statusPipe := os.NewFile(statusFD, "status")
	defer statusPipe.Close()
	spec, err := readSpec()
	if err != nil {
		return report(statusPipe, err)
	}
	// Hook processes are killed at their timeout; this process itself is
	// killed by the shim if the hooks have none and never end.
	ctx := context.Background()
	if err := spec.Hooks.CreateContainer(ctx, os.Getpid()); err != nil {
		return report(statusPipe, err)
	}
	// After the hooks, which may configure the network the addresses
	// belong to; before the module, which has no way to listen itself.
	if spec.Listeners, err = openListeners(spec); err != nil {
		return report(statusPipe, err)
	}
	prog, err := engine.Prepare(spec)
	closeFiles(spec.Listeners) // the engine holds its own copies
	if err != nil {
		return report(statusPipe, err)
	}
	ready := status{Ready: true}
	if d, ok := prog.(Describer); ok {
		ready.Detail = d.Describe()
	}
	if err := writeStatus(statusPipe, ready); err != nil {
		return 1
	}
	if !waitForStart() {
		return 1
	}
	// The hooks chroot, which only root can do: the child takes the
	// task's identity after them, and gives it to them explicitly.
	if err := spec.Hooks.StartContainer(ctx, os.Getpid(), credential(spec.User), spec.Env); err != nil {
		return report(statusPipe, err)
	}
	if err := becomeUser(spec.User); err != nil {
		return report(statusPipe, err)
	}
	if err := writeStatus(statusPipe, status{Started: true}); err != nil {
		return 1
	}
	res := prog.Run(os.Stderr)
	if res.OutOfMemory {
		_ = writeStatus(statusPipe, status{OutOfMemory: true})
	}
	return res.Status
}

func readSpec() (Spec, error) {
	f := os.NewFile(specFD, "spec")
	defer f.Close()
	var spec Spec
	if err := json.NewDecoder(f).Decode(&spec); err != nil {
		return spec, fmt.Errorf("read task spec: %w", err)
	}
	return spec, nil
}

func report(w *os.File, err error) int {
	_ = writeStatus(w, status{Error: err.Error(), Class: className(err)})
	return 1
}

func writeStatus(w *os.File, s status) error {
	return json.NewEncoder(w).Encode(s)
}

// waitForStart blocks until the shim says start (one byte) or gives up on
// the task (closes the pipe).
func waitForStart() bool {
	f := os.NewFile(startFD, "start")
	defer f.Close()
	var b [1]byte
	_, err := io.ReadFull(f, b[:])
	return !errors.Is(err, io.EOF) && err == nil
}

// credential is the task's identity for a process the child starts as
// root (nil: root's).
func credential(u *User) *syscall.Credential {
	if isRoot(u) {
		return nil
	}
	return &syscall.Credential{Uid: u.UID, Gid: u.GID, Groups: u.AdditionalGids}
}

func isRoot(u *User) bool {
	return u == nil || (u.UID == 0 && u.GID == 0 && len(u.AdditionalGids) == 0)
}

// becomeUser switches to the task's identity after the module is prepared
// and its startContainer hooks ran: as root, the child could read the
// module and open the preopened directories through the shim's private
// state directories; the module itself then runs, and creates files, as
// the spec's user. Go applies
// these calls to every thread of the process.
func becomeUser(u *User) error {
	if isRoot(u) {
		return nil
	}
	groups := make([]int, len(u.AdditionalGids))
	for i, g := range u.AdditionalGids {
		groups[i] = int(g)
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("set additional groups %v: %w", u.AdditionalGids, err)
	}
	if err := syscall.Setgid(int(u.GID)); err != nil {
		return fmt.Errorf("set gid %d: %w", u.GID, err)
	}
	if err := syscall.Setuid(int(u.UID)); err != nil {
		return fmt.Errorf("set uid %d: %w", u.UID, err)
	}
	return nil
}
