package main

import (
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd/errdefs"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/taskchild"
)

// TestEngineServesHTTPProxy: a wasi:http component comes out of the engine
// as a taskchild.Server that serves on the listener it is given, sends
// the guest's output to the given stdout, and returns once stopped.
func TestEngineServesHTTPProxy(t *testing.T) {
	module := filepath.Join("..", "..", "bin", "examples", "http", "http-c.wasm")
	if _, err := os.Stat(module); err != nil {
		if os.Getenv("E2E_REQUIRE_TOOLCHAINS") != "" {
			t.Fatalf("%s: %v (make http-examples)", module, err)
		}
		t.Skipf("%s not built (make http-examples): %v", module, err)
	}
	prog, err := wasmEngine{}.Prepare(taskchild.Spec{ModulePath: module, Args: []string{module}})
	if err != nil {
		t.Fatal(err)
	}
	srv, ok := prog.(taskchild.Server)
	if !ok {
		t.Fatalf("Prepare returned a %T, not a taskchild.Server", prog)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	out := &lockedBuilder{}
	served := make(chan error, 1)
	go func() {
		served <- srv.Serve(l, taskchild.ServeOptions{Stop: stop, Grace: time.Second, Stdout: out, Stderr: io.Discard})
	}()
	resp, err := http.Get("http://" + l.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "hello from wasi:http\n" {
		t.Errorf("GET / = %d %q", resp.StatusCode, body)
	}
	close(stop)
	select {
	case err := <-served:
		if err != nil {
			t.Errorf("Serve after stop: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Serve did not return after the stop")
	}
	if !strings.Contains(out.String(), "http-c: GET /") {
		t.Errorf("the guest's stdout %q lacks its request line", out.String())
	}
}

// lockedBuilder is a strings.Builder for writers on several goroutines.
type lockedBuilder struct {
	mu sync.Mutex // guards b
	b  strings.Builder
}

func (l *lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuilder) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestEngineRefusesUnsupportedImports: a wasi:http component that imports
// what the host lacks is an invalid argument, named in the error.
func TestEngineRefusesUnsupportedImports(t *testing.T) {
	wat := `(component
  (import "wasi:sockets/tcp@0.2.0" (instance (export "tcp-socket" (type (sub resource)))))
  (import "wasi:http/types@0.2.0" (instance $types
    (export "incoming-request" (type (sub resource)))
    (export "response-outparam" (type (sub resource)))))
  (alias export $types "incoming-request" (type $request))
  (alias export $types "response-outparam" (type $response-out))
  (core module $m (func (export "handle") (param i32 i32)))
  (core instance $i (instantiate $m))
  (func $handle (param "request" (own $request)) (param "response-out" (own $response-out))
    (canon lift (core func $i "handle")))
  (instance $handler (export "handle" (func $handle)))
  (export "wasi:http/incoming-handler@0.2.0" (instance $handler)))`
	module := filepath.Join(t.TempDir(), "proxy.wat")
	if err := os.WriteFile(module, []byte(wat), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := wasmEngine{}.Prepare(taskchild.Spec{ModulePath: module, Args: []string{module}})
	if err == nil || !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "wasi:sockets/tcp@0.2.0") {
		t.Fatalf("Prepare error %v (class %v), want InvalidArgument naming wasi:sockets/tcp@0.2.0", err, errdefs.Resolve(err))
	}
}
