package wasip1

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// buildGoWasip1 builds a testdata program with Go's wasip1 port, or skips
// the test without a go command.
func buildGoWasip1(t *testing.T, pkg string) []byte {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build a wasip1 module")
	}
	out := filepath.Join(t.TempDir(), "m.wasm")
	cmd := exec.Command(gobin, "build", "-o", out, pkg)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

// TestGoWasip1Listener serves concurrent clients from a Go module on a
// preopened listener placed after a preopened directory: Go's preopen
// scan, net.FileListener, sock_accept and the netpoller on poll_oneoff.
func TestGoWasip1Listener(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and compiles a Go module")
	}
	wasm := buildGoWasip1(t, "./testdata/gonet")
	root := tempTree(t, map[string]string{"greeting.txt": "hello from the preopen"})
	addr, lf := listenerFile(t)
	const clients = 3
	replies := make(chan string, clients)
	for i := 0; i < clients; i++ {
		go func() {
			c, err := net.DialTimeout("tcp", addr, 20*time.Second)
			if err != nil {
				replies <- err.Error()
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			fmt.Fprintf(c, "client %d\n", i)
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil {
				line = err.Error()
			}
			replies <- line
		}()
	}
	out := runModule(t, wasm, Config{
		Args:      []string{"gonet", "4", fmt.Sprint(clients)},
		Dirs:      []Dir{{HostPath: root, GuestPath: "/"}},
		Listeners: []*os.File{lf},
	})
	if out.err != nil || out.status != 0 || out.stdout != fmt.Sprintf("served %d\n", clients) {
		t.Fatalf("status %d, err %v, stdout %q, stderr %q", out.status, out.err, out.stdout, out.stderr)
	}
	seen := map[string]bool{}
	for i := 0; i < clients; i++ {
		seen[<-replies] = true
	}
	for i := 0; i < clients; i++ {
		if want := fmt.Sprintf("hello from the preopen client %d\n", i); !seen[want] {
			t.Errorf("no reply %q among %v", want, seen)
		}
	}
}

// buildWith runs a compiler that writes m.wasm, or skips the test when the
// toolchain is missing.
func buildWith(t *testing.T, tool string, args ...string) []byte {
	t.Helper()
	path, err := exec.LookPath(tool)
	if err != nil {
		t.Skipf("no %s", tool)
	}
	out := filepath.Join(t.TempDir(), "m.wasm")
	if b, err := exec.Command(path, append(args, "-o", out)...).CombinedOutput(); err != nil {
		t.Skipf("%s cannot build for WASI here: %v\n%s", tool, err, b)
	}
	wasm, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

// serveOne runs a module that reads /greeting.txt from its preopened
// directory and answers one client on the listener at fd 4 with the
// greeting and the client's line; it returns what the client got.
func serveOne(t *testing.T, wasm []byte, greeting, line string) string {
	t.Helper()
	root := tempTree(t, map[string]string{"greeting.txt": greeting})
	addr, lf := listenerFile(t)
	reply := make(chan string, 1)
	go func() {
		c, err := net.DialTimeout("tcp", addr, 20*time.Second)
		if err != nil {
			reply <- err.Error()
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(20 * time.Second))
		fmt.Fprint(c, line)
		b, _ := io.ReadAll(c)
		reply <- string(b)
	}()
	res := runModule(t, wasm, Config{Args: []string{"net"}, Dirs: []Dir{{HostPath: root, GuestPath: "/"}}, Listeners: []*os.File{lf}})
	if res.err != nil || res.status != 0 || res.stdout != "served\n" {
		t.Fatalf("status %d, err %v, stdout %q, stderr %q", res.status, res.err, res.stdout, res.stderr)
	}
	return <-reply
}

// TestCWasip1Listener: a C module built with wasi-libc finds its preopened
// directory and accepts on the listener after it.
func TestCWasip1Listener(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a C module")
	}
	wasm := buildWith(t, "clang", "--target=wasm32-wasi", "-O2", "testdata/cnet/main.c")
	if got := serveOne(t, wasm, "hello from C ", "and wasi-libc\n"); got != "hello from C and wasi-libc\n" {
		t.Fatalf("client got %q", got)
	}
}

// TestRustWasip1Listener: Rust's std (Debian's rustc and wasm32-wasi std)
// finds the preopened directory through wasi-libc and accepts with
// TcpListener on the listener after it.
func TestRustWasip1Listener(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a Rust module")
	}
	rustc := "/usr/bin/rustc" // Debian's, whose std is installed for wasm32-wasi
	if _, err := os.Stat(rustc); err != nil {
		rustc = "rustc"
	}
	wasm := buildWith(t, rustc, "--edition", "2021", "--target", "wasm32-wasi", "-C", "opt-level=s",
		"-C", "strip=debuginfo", "testdata/rustnet/main.rs")
	if got := serveOne(t, wasm, "hello from Rust ", "and std\n"); got != "hello from Rust and std\n" {
		t.Fatalf("client got %q", got)
	}
}
