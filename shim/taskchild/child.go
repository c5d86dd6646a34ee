package taskchild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// File descriptors a child inherits besides stdio.
const (
	specFD   = 3
	statusFD = 4
	startFD  = 5
)

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
	sigs := exitOnSignal()
	os.Exit(run(engine, sigs))
}

func run(engine Engine, sigs *signals) int {
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
	// A server's listener, like the others, is opened as root in the
	// task's namespace, and before the ready status, so that an address
	// in use fails Create.
	srv, isServer := prog.(Server)
	var l net.Listener
	if isServer {
		if l, err = openHTTPListener(spec); err != nil {
			return report(statusPipe, err)
		}
		ready.Detail = strings.TrimPrefix(ready.Detail+"; serving wasi:http on "+l.Addr().String(), "; ")
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
	if isServer {
		return serve(srv, l, sigs, spec.HTTPMaxInFlight)
	}
	res := prog.Run(os.Stderr)
	if res.OutOfMemory {
		_ = writeStatus(statusPipe, status{OutOfMemory: true})
	}
	return res.Status
}

// serve runs a Server until a signal stops it, and returns the status of
// the task: 128+signal after a graceful stop, as after a kill; 1, with
// the reason on stderr, if it could not serve on.
func serve(srv Server, l net.Listener, sigs *signals, maxInFlight int) int {
	// A Go program that writes to a broken stdout or stderr dies of
	// SIGPIPE: as pid 1 of its pid namespace, where the signal is
	// ignored, the runtime exits with 2 instead. The shim keeps taking
	// output whose reader went away (ctr run -d), but a server must
	// outlive any reader of its log, so its writes fail with EPIPE
	// instead, as they would for a native server that ignores SIGPIPE.
	signal.Ignore(syscall.SIGPIPE)
	err := srv.Serve(l, ServeOptions{Stop: sigs.serving(), Grace: ServeGrace, Stdout: os.Stdout, Stderr: os.Stderr, MaxInFlight: maxInFlight})
	if sig := sigs.stoppedBy(); sig != 0 {
		return 128 + int(sig)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "serve wasi:http on %s: %v\n", l.Addr(), err)
		return 1
	}
	return 0
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
