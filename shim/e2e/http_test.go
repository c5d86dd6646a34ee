package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	"github.com/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The wasi:http examples (examples/README.md, "The wasi:http examples")
// come from `make http-examples` as one image, which the suite imports
// with every other archive of the images folder.
const (
	httpImage   = "localhost/wasm/http:latest"
	httpArchive = "http.tar"
	httpScript  = "make http-examples"
	// httpAddrVar is listen.HTTPProxyEnv.
	httpAddrVar = "WASMTIME_HTTP_PROXY_SOCKET_ADDR"
	// httpLarge is the size of the large transfers, each way: 64 MiB of
	// download and of streamed echo, plus 7 bytes on the download for a
	// tail that is no whole chunk.
	httpLargeMiB = 64
	// httpGrace is taskchild.ServeGrace: how long a stopping server may
	// let its requests in flight run.
	httpGrace = 5 * time.Second
	// httpTimeout bounds a test's calls to containerd: a cold compile of
	// the JavaScript handler (12 MiB) and the large transfers through a
	// host that moves bodies a value per byte take minutes on a loaded
	// machine.
	httpTimeout = 10 * time.Minute
)

// httpHandler is one handler of the image and the checks of
// hack/httpcheck that its routes support.
type httpHandler struct {
	name   string
	module string
	// args are the process's args, nil for the image's entrypoint.
	args []string
	// log starts each line the handler prints.
	log    string
	checks string
}

var httpHandlers = []httpHandler{
	{"js", "/http-js-incoming-handler.wasm", nil, "http-js incoming-handler",
		"hello,headers,status,stream,echo,echo-large,concurrent,fetch,trap"},
	{"c", "/http-c.wasm", []string{"/http-c.wasm"}, "http-c",
		"hello,status,stream,echo,echo-large,concurrent,trap"},
}

// httpContext is a context for the Go client that outlasts newClient's.
func httpContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(namespaces.WithNamespace(context.Background(), suite.daemon.ns), httpTimeout)
	t.Cleanup(cancel)
	return ctx
}

// httpCheck runs hack/httpcheck's checks against base and fails t for
// each that fails.
func httpCheck(t *testing.T, base, checks string) {
	t.Helper()
	path := buildGoTool(t, "./hack/httpcheck")
	cmd := exec.Command(path, "-url", base, "-checks", checks, "-timeout", "4m",
		"-echo-mib", strconv.Itoa(httpLargeMiB), "-stream-bytes", strconv.Itoa(httpLargeMiB<<20+7))
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("httpcheck -checks %s (%v):\n%s", checks, time.Since(start).Round(time.Millisecond), out)
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "FAIL") {
			t.Errorf("httpcheck: %s", line)
		}
	}
	if err != nil && !strings.Contains(string(out), "FAIL") {
		t.Errorf("httpcheck: %v", err)
	}
}

// taskOutput collects a task's output and can be read while it grows.
type taskOutput struct {
	mu sync.Mutex // guards b
	b  bytes.Buffer
}

func (o *taskOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *taskOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}

// waitCount waits until s occurs n times in the output.
func (o *taskOutput) waitCount(t *testing.T, s string, n int, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for strings.Count(o.String(), s) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%q is not %d times in the task's output within %v:\n%s", s, n, timeout, clip(o.String()))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// slowEcho sends POST /echo of body to addr in two halves: the first now,
// the second when finish is called, which then reads the answer and
// compares it. The request is in flight in between.
func slowEcho(t *testing.T, addr string, body []byte) (finish func() error) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(time.Minute))
	half := len(body) / 2
	if _, err := fmt.Fprintf(conn, "POST /echo HTTP/1.1\r\nHost: %s\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n%s", addr, len(body), body[:half]); err != nil {
		t.Fatal(err)
	}
	return func() error {
		if _, err := conn.Write(body[half:]); err != nil {
			return fmt.Errorf("send the second half: %w", err)
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			return fmt.Errorf("read the answer: %w", err)
		}
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		if err != nil {
			return fmt.Errorf("read the echo after %d bytes: %w", len(got), err)
		}
		if resp.StatusCode != 200 || !bytes.Equal(got, body) {
			return fmt.Errorf("status %d and %d bytes, want 200 and the %d sent, byte for byte", resp.StatusCode, len(got), len(body))
		}
		return nil
	}
}

// expectStopsAccepting waits until addr refuses connections.
func expectStopsAccepting(t *testing.T, addr string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Errorf("%s still accepts connections %v after SIGTERM", addr, within)
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestHTTPServe: each wasi:http example handler, served on the host's
// network at WASMTIME_HTTP_PROXY_SOCKET_ADDR, passes hack/httpcheck's
// checks (GET with headers, 1 MiB echoed byte for byte, 64 MiB streamed
// down and echoed up, 100 concurrent requests, a trap answered 500 and
// then a good request, an outbound fetch to a server on 127.0.0.1 for the
// JavaScript handler), and prints its lines into the task's output.
// SIGTERM with a request in flight closes the listener, lets the request
// finish and ends the task with 143; SIGKILL ends it with 137; nothing is
// left, the listening socket included. The Go client runs the first,
// ctr run -d (the README's command, the image's entrypoint for the
// JavaScript handler) the second, which also reads ctr task metrics.
func TestHTTPServe(t *testing.T) {
	needDaemon(t)
	for _, h := range httpHandlers {
		t.Run(h.name, func(t *testing.T) {
			needImageModule(t, httpArchive, h.module, httpScript)
			t.Run("client-SIGTERM", func(t *testing.T) {
				c, _ := newClient(t)
				ctx := httpContext(t)
				id := containerID(t)
				before := snapshotLeftovers(id)
				addr := "127.0.0.1:" + strconv.Itoa(netPort(t))
				opts := []oci.SpecOpts{
					oci.WithHostNamespace(specs.NetworkNamespace),
					oci.WithEnv([]string{httpAddrVar + "=" + addr}),
				}
				if h.args != nil {
					opts = append(opts, oci.WithProcessArgs(h.args...))
				}
				ctr := newImageContainer(t, c, ctx, httpImage, id, opts...)
				out := &taskOutput{}
				task, statusC := startGoTask(t, ctx, ctr, out)
				base := "http://" + addr
				waitServing(t, base, func() bool { return len(statusC) == 0 })
				httpCheck(t, base, h.checks)
				// The output travels through the shim's fifos after the
				// answers: the last request's lines may still be on the way.
				for _, line := range []string{h.log + ": GET /", h.log + ": POST /echo", h.log + ": GET / -> 200", h.log + ": trapping on purpose"} {
					out.waitCount(t, line, 1, 10*time.Second)
				}
				expectGracefulStop(t, ctx, task, statusC, addr, out, h.log)
				if err := ctr.Delete(ctx, client.WithSnapshotCleanup); err != nil {
					t.Errorf("delete container: %v", err)
				}
				expectNoLeftovers(t, before, id)
				expectPortFree(t, addr)
			})
			t.Run("ctr-SIGKILL", func(t *testing.T) {
				w := watchEvents(t)
				id := containerID(t)
				before := snapshotLeftovers(id)
				addr := "127.0.0.1:" + strconv.Itoa(netPort(t))
				ctrStartImage(t, id, httpImage, []string{"--net-host", "--env", httpAddrVar + "=" + addr}, h.args...)
				waitServing(t, "http://"+addr, func() bool { _, st := taskRow(t, id); return st == "RUNNING" })
				httpCheck(t, "http://"+addr, "hello")
				// The server's cgroup holds it: its stats come as a module's do.
				if out, errOut, exit := runCtr(t, "task", "metrics", "--format", "json", id); exit != 0 || !strings.Contains(out, `"memory"`) {
					t.Errorf("ctr task metrics of a serving task: exit %d, %s%s", exit, clip(out), errOut)
				}
				stallRequest(t, addr)
				ctrKillNet(t, w, id, "SIGKILL", 137, false)
				ctrDeleteNet(t, id)
				expectNoLeftovers(t, before, id)
				expectPortFree(t, addr)
			})
		})
	}
}

// expectGracefulStop sends SIGTERM to a serving task while a POST /echo is
// in flight (the handler has logged it and waits for the rest of the
// body), expects the listener to close, the request to complete, and then
// the task to exit 143, and deletes the task.
func expectGracefulStop(t *testing.T, ctx context.Context, task client.Task, statusC <-chan client.ExitStatus, addr string, out *taskOutput, log string) {
	t.Helper()
	started := log + ": POST /echo"
	seen := strings.Count(out.String(), started)
	finish := slowEcho(t, addr, bytes.Repeat([]byte("in flight "), 6554))
	out.waitCount(t, started, seen+1, time.Minute)
	start := time.Now()
	if err := task.Kill(ctx, syscall.SIGTERM); err != nil {
		t.Fatalf("kill SIGTERM: %v", err)
	}
	expectStopsAccepting(t, addr, 2*time.Second)
	if err := finish(); err != nil {
		t.Errorf("the request in flight at SIGTERM: %v", err)
	}
	var st client.ExitStatus
	select {
	case st = <-statusC:
	case <-time.After(time.Minute):
		t.Fatal("no exit within a minute of SIGTERM")
	}
	took := time.Since(start)
	t.Logf("SIGTERM: exit status %d after %v, the request in flight completed", st.ExitCode(), took)
	if st.ExitCode() != 143 {
		t.Errorf("exit status %d after SIGTERM, want 143", st.ExitCode())
	}
	if took > httpGrace+killLatency {
		t.Errorf("the exit came %v after SIGTERM, more than the grace of %v (and %v for a loaded machine)", took, httpGrace, killLatency)
	}
	if err := task.Kill(ctx, syscall.SIGTERM); !errdefs.IsNotFound(err) {
		t.Errorf("kill after exit: %v, want a NotFound error", err)
	}
	if _, err := task.Delete(ctx); err != nil {
		t.Errorf("delete task: %v", err)
	}
}

// badImportsComponent exports wasi:http/incoming-handler and imports
// wasi:sockets/tcp, which the host does not provide. The shim translates
// the text format itself.
const badImportsComponent = `(component
  (import "wasi:sockets/tcp@0.2.0" (instance
    (export "tcp-socket" (type (sub resource)))
  ))
  (import "wasi:http/types@0.2.0" (instance $types
    (export "incoming-request" (type (sub resource)))
    (export "response-outparam" (type (sub resource)))
  ))
  (alias export $types "incoming-request" (type $request))
  (alias export $types "response-outparam" (type $response-out))
  (core module $m
    (func (export "handle") (param i32 i32))
  )
  (core instance $i (instantiate $m))
  (func $handle (param "request" (own $request)) (param "response-out" (own $response-out))
    (canon lift (core func $i "handle")))
  (instance $handler (export "handle" (func $handle)))
  (export "wasi:http/incoming-handler@0.2.0" (instance $handler))
)
`

// badImportsImage builds and imports an image holding
// badImportsComponent at /bad-imports.wat and returns its reference.
func badImportsImage(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "bad-imports.wat")
	if err := os.WriteFile(src, []byte(badImportsComponent), 0o644); err != nil {
		t.Fatal(err)
	}
	ref := "localhost/wasm/e2e-http-bad-imports-" + suite.daemon.token + ":v1"
	archive := filepath.Join(dir, "bad-imports.tar")
	importWasmImage(t, archive, ref, src+":/bad-imports.wat")
	return ref
}

// httpBadCase is a wasi:http container that must fail at create with an
// error naming all of want, and leave nothing behind.
type httpBadCase struct {
	name  string
	image string
	args  []string
	env   []string
	user  bool // run as 1000:1000 with ctr's default capabilities
	want  []string
	// free are addresses that must be free again afterwards.
	free []string
}

// TestHTTPBadInputs: a malformed address, an address in use, a privileged
// port for a user who may not bind it, WASI_TCP_LISTEN beside a wasi:http
// component, and a component whose imports the host cannot satisfy each
// fail create, through ctr and the Go client, with an error naming the
// problem, and leave no task, mount, cgroup, process or listening socket.
func TestHTTPBadInputs(t *testing.T) {
	needDaemon(t)
	const module = "/http-c.wasm" // small: the cases fail after it is compiled
	needImageModule(t, httpArchive, module, httpScript)
	held, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(netPort(t)))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	inUse := held.Addr().String()
	httpAddr := "127.0.0.1:" + strconv.Itoa(netPort(t))
	tcpAddr := "127.0.0.1:" + strconv.Itoa(netPort(t))
	badAddr := "127.0.0.1:" + strconv.Itoa(netPort(t))
	c := []string{module}
	cases := []httpBadCase{
		{name: "malformed", args: c, env: []string{httpAddrVar + "=nope"}, want: []string{httpAddrVar, "nope", "host:port"}},
		{name: "in-use", args: c, env: []string{httpAddrVar + "=" + inUse}, want: []string{inUse, "address already in use"}},
		{name: "privileged-port", args: c, env: []string{httpAddrVar + "=127.0.0.1:80"}, user: true, want: []string{"127.0.0.1:80", "permission denied"}},
		{name: "with-wasi-tcp-listen", args: c, env: []string{httpAddrVar + "=" + httpAddr, "WASI_TCP_LISTEN=" + tcpAddr},
			want: []string{"WASI_TCP_LISTEN", httpAddrVar}, free: []string{httpAddr, tcpAddr}},
		{name: "unsatisfiable-import", image: badImportsImage(t), args: []string{"/bad-imports.wat"}, env: []string{httpAddrVar + "=" + badAddr},
			want: []string{"wasi:sockets/tcp@0.2.0"}, free: []string{badAddr}},
	}
	for _, tc := range cases {
		if tc.image == "" {
			tc.image = httpImage
		}
		t.Run(tc.name, func(t *testing.T) {
			t.Run("ctr", func(t *testing.T) {
				var flags []string
				for _, e := range tc.env {
					flags = append(flags, "--env", e)
				}
				flags = append(flags, "--net-host")
				if tc.user {
					if !ctrHasFlag(t, "--user", "run") {
						t.Skipf("ctr %s run has no --user; the client subtest covers the case", suite.daemon.Version)
					}
					flags = append(flags, "--user", "1000:1000")
				}
				id := containerID(t)
				before := snapshotLeftovers(id)
				expectCtrRunFails(t, id, ctrRunImageArgs(tc.image, id, flags, tc.args...), tc.want)
				expectNoLeftovers(t, before, id)
				for _, a := range tc.free {
					expectPortFree(t, a)
				}
			})
			t.Run("client", func(t *testing.T) {
				c, ctx := newClient(t)
				id := containerID(t)
				before := snapshotLeftovers(id)
				opts := []oci.SpecOpts{
					oci.WithHostNamespace(specs.NetworkNamespace),
					oci.WithProcessArgs(tc.args...),
					oci.WithEnv(tc.env),
				}
				if tc.user {
					opts = append(opts, oci.WithUIDGID(1000, 1000))
				}
				ctr := newImageContainer(t, c, ctx, tc.image, id, opts...)
				expectCreateFails(t, ctx, ctr, tc.want)
				expectNoLeftovers(t, before, id)
				for _, a := range tc.free {
					expectPortFree(t, a)
				}
			})
		})
	}
}

// TestHTTPMemoryLimit: under the container's memory limit (64 MiB), each
// request's instance may grow its memory within the limit, one request
// after another (32 MiB twice), is refused past it (100 MiB: memory.grow
// fails, the handler answers 507), and the server serves on; nothing is
// left after a kill.
func TestHTTPMemoryLimit(t *testing.T) {
	needDaemon(t)
	needImageModule(t, httpArchive, "/http-c.wasm", httpScript)
	c, _ := newClient(t)
	ctx := httpContext(t)
	id := containerID(t)
	before := snapshotLeftovers(id)
	addr := "127.0.0.1:" + strconv.Itoa(netPort(t))
	ctr := newImageContainer(t, c, ctx, httpImage, id,
		oci.WithHostNamespace(specs.NetworkNamespace),
		oci.WithEnv([]string{httpAddrVar + "=" + addr}),
		oci.WithProcessArgs("/http-c.wasm"),
		oci.WithMemoryLimit(64<<20))
	task, statusC := startGoTask(t, ctx, ctr, &taskOutput{})
	base := "http://" + addr
	waitServing(t, base, func() bool { return len(statusC) == 0 })
	for _, tc := range []struct {
		path string
		code int
	}{{"/grow?mb=32", 200}, {"/grow?mb=32", 200}, {"/grow?mb=100", 507}, {"/", 200}} {
		resp, err := http.Get(base + tc.path)
		if err != nil {
			t.Fatalf("GET %s: %v", tc.path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.code {
			t.Errorf("GET %s: %d %q, want %d", tc.path, resp.StatusCode, body, tc.code)
		}
	}
	killGoTask(t, ctx, task, statusC, syscall.SIGKILL, 137, false)
	if err := ctr.Delete(ctx, client.WithSnapshotCleanup); err != nil {
		t.Errorf("delete container: %v", err)
	}
	expectNoLeftovers(t, before, id)
	expectPortFree(t, addr)
}
