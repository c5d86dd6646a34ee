package nettest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// The servers' logic does not depend on WASI: each source also builds for
// Linux, where it serves on the listener it inherits as fd 3 (or the fd that
// WASI_LISTEN_FDS names), just as the shim hands one to the module.

var fileContent = []byte("hello from the image\n")

func repoRoot(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// build compiles one server natively with tool and args, where the
// argument "OUT" stands for the output file; it skips the test if the
// compiler is not installed.
func build(t *testing.T, tool string, args ...string) string {
	if _, err := exec.LookPath(tool); err != nil {
		t.Skipf("%s not installed: %v", tool, err)
	}
	out := filepath.Join(t.TempDir(), "server")
	for i, a := range args {
		if a == "OUT" {
			args[i] = out
		}
	}
	cmd := exec.Command(tool, args...)
	cmd.Dir = repoRoot(t)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", tool, args, err, b)
	}
	return out
}

// serve starts bin with a fresh loopback listener at fd listenFD (fds below
// it are /dev/null), and returns the base URL.
func serve(t *testing.T, bin string, listenFD int, env ...string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lf, err := ln.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	ln.Close() // the child keeps the duplicate in lf
	defer lf.Close()
	devnull, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer devnull.Close()
	dir := t.TempDir()
	file := filepath.Join(dir, "hello.txt")
	if err := os.WriteFile(file, fileContent, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin)
	for fd := 3; fd < listenFD; fd++ {
		cmd.ExtraFiles = append(cmd.ExtraFiles, devnull)
	}
	cmd.ExtraFiles = append(cmd.ExtraFiles, lf)
	cmd.Env = append([]string{"SERVE_FILE=" + file}, env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
		if t.Failed() {
			t.Logf("server stderr:\n%s", stderr.String())
		}
	})
	base := "http://" + ln.Addr().String()
	// The listener exists already, so the first request only waits for
	// the server to reach accept; fail early if the server died instead.
	select {
	case err := <-exited:
		t.Fatalf("server exited at start: %v\n%s", err, stderr.String())
	case <-time.After(50 * time.Millisecond):
	}
	return base
}

func checkNative(t *testing.T, bin, hello string) {
	t.Run("fd3", func(t *testing.T) {
		Check(t, serve(t, bin, 3), Server{Hello: hello, File: fileContent})
	})
	t.Run("WASI_LISTEN_FDS", func(t *testing.T) {
		base := serve(t, bin, 5, "WASI_LISTEN_FDS=5,6")
		CheckHello(t, &http.Client{Timeout: 10 * time.Second}, base, hello)
	})
}

func TestCServerNative(t *testing.T) {
	bin := build(t, "gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", "OUT", "examples/net/c/server.c")
	checkNative(t, bin, "hello from c\n")
}

func TestRustServerNative(t *testing.T) {
	bin := build(t, "/usr/bin/rustc", "--edition", "2021", "-C", "opt-level=2", "-o", "OUT", "examples/net/rust/server.rs")
	checkNative(t, bin, "hello from rust\n")
}

func TestGoServerNative(t *testing.T) {
	bin := build(t, "go", "build", "-o", "OUT", "./examples/net/go")
	checkNative(t, bin, "hello from go\n")
}

// TestClientNative runs the outbound client (built natively, its WasmEdge
// calls standing in as BSD sockets) against a Go server.
func TestClientNative(t *testing.T) {
	bin := build(t, "gcc", "-O2", "-Wall", "-Wextra", "-Werror", "-o", "OUT", "examples/net/client/main.c")
	big := Pattern(1<<20 + 3)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			io.WriteString(w, "hello\n")
		case "/big":
			w.Write(big)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	for _, tc := range []struct {
		url      string
		wantOut  []byte
		wantCode int
	}{
		{url: srv.URL + "/", wantOut: []byte("hello\n")},
		{url: srv.URL, wantOut: []byte("hello\n")},
		{url: srv.URL + "/big", wantOut: big},
		{url: fmt.Sprintf("http://localhost:%d/", port), wantOut: []byte("hello\n")},
		{url: srv.URL + "/missing", wantOut: []byte("404 page not found\n"), wantCode: 1},
		{url: "http://127.0.0.1:1/", wantCode: 1},
		{url: "https://127.0.0.1/", wantCode: 2},
		{url: "http://127.0.0.1/", wantCode: 2},
		{url: "http://127.0.0.1:99999/", wantCode: 2},
	} {
		cmd := exec.Command(bin, tc.url)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.wantCode || (tc.wantOut != nil && !bytes.Equal(stdout.Bytes(), tc.wantOut)) {
			t.Errorf("http-get %s: exit %d, %d bytes of stdout (stderr %q); want exit %d, %d bytes",
				tc.url, code, stdout.Len(), stderr.String(), tc.wantCode, len(tc.wantOut))
		}
	}
}
