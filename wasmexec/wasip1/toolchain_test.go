package wasip1

import (
	"bufio"
	"fmt"
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
