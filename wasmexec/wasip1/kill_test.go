package wasip1

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// acceptForever makes its preopened listener (fd 3) blocking, then blocks
// in sock_accept on it.
const acceptForever = `(module
  (import "wasi_snapshot_preview1" "sock_accept" (func $accept (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_fdstat_set_flags" (func $setflags (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (drop (call $setflags (i32.const 3) (i32.const 0)))
    (drop (call $accept (i32.const 3) (i32.const 0) (i32.const 0)))))`

// TestBlockedAcceptIsKillable runs, in a child process, a module blocked
// in sock_accept with no client, and a SIGTERM handler that exits as the
// shim's task child does: the blocked host call must not hold the exit up.
func TestBlockedAcceptIsKillable(t *testing.T) {
	if os.Getenv("WASIP1_BLOCKED_CHILD") == "1" {
		blockedChild(t, acceptForever, true)
		return
	}
	testKillable(t, "TestBlockedAcceptIsKillable")
}

// recvForever connects with WasmEdge's calls to 127.0.0.1 at the port
// given, to a server that never writes, and blocks in sock_recv.
const recvForever = `(module
  (import "wasi_snapshot_preview1" "sock_open" (func $open (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_connect" (func $connect (param i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "sock_recv" (func $recv (param i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0x100) "\00\02\00\00\04\00\00\00\7f\00\00\01")
  (data (i32.const 0x20) "\00\03\00\00\10\00\00\00")
  (func (export "_start")
    (if (call $open (i32.const 1) (i32.const 2) (i32.const 0x10)) (then (call $exit (i32.const 2))))
    (if (call $connect (i32.load (i32.const 0x10)) (i32.const 0x100) (i32.const %d)) (then (call $exit (i32.const 3))))
    (drop (call $recv (i32.load (i32.const 0x10)) (i32.const 0x20) (i32.const 1) (i32.const 0) (i32.const 0x14) (i32.const 0x18)))))`

// TestBlockedWasmEdgeRecvIsKillable: as TestBlockedAcceptIsKillable, for
// a socket the module opened and connected itself.
func TestBlockedWasmEdgeRecvIsKillable(t *testing.T) {
	if os.Getenv("WASIP1_BLOCKED_CHILD") == "1" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				defer c.Close()
			}
		}()
		blockedChild(t, fmt.Sprintf(recvForever, l.Addr().(*net.TCPAddr).Port), false)
		return
	}
	testKillable(t, "TestBlockedWasmEdgeRecvIsKillable")
}

// testKillable runs test in a child process, waits for it to block in
// poll(2), and sends it SIGTERM.
func testKillable(t *testing.T, test string) {
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$")
	cmd.Env = append(os.Environ(), "WASIP1_BLOCKED_CHILD=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "blocking\n" {
		cmd.Process.Kill()
		t.Fatalf("child said %q, %v", line, err)
	}
	if !waitInPoll(cmd.Process.Pid, 10*time.Second) {
		cmd.Process.Kill()
		t.Fatal("the child never blocked in poll(2)")
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 143 {
			t.Fatalf("child ended with %v, want exit status 143", err)
		}
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		t.Fatal("SIGTERM did not end a module blocked in a socket call")
	}
}

// waitInPoll waits until a thread of pid sits in poll or ppoll, which the
// Go runtime itself never calls: that is the blocked sock_accept.
func waitInPoll(pid int, limit time.Duration) bool {
	for end := time.Now().Add(limit); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/syscall", pid))
		for _, task := range tasks {
			b, _ := os.ReadFile(task)
			if nr, _, _ := strings.Cut(string(b), " "); nr == fmt.Sprint(unix.SYS_POLL) || nr == fmt.Sprint(unix.SYS_PPOLL) {
				return true
			}
		}
	}
	return false
}

// blockedChild runs module, with a preopened listener at fd 3 if
// listener, until a SIGTERM ends the process with status 143.
func blockedChild(t *testing.T, module string, listener bool) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM)
	go func() {
		<-sigs
		os.Exit(143)
	}()
	var cfg Config
	if listener {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lf, err := l.(*net.TCPListener).File()
		if err != nil {
			t.Fatal(err)
		}
		cfg.Listeners = []*os.File{lf}
	}
	os.Stdout.WriteString("blocking\n")
	out := runModule(t, wat(t, module), cfg)
	t.Fatalf("the blocking call returned: %+v", out)
}
