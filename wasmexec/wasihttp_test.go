package wasmexec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/wasmexec/internal/capilayout"
)

// The wasi:http examples (make http-examples), served in process.
const httpExamples = "../bin/examples/http"

func httpExample(t testing.TB, name string) string {
	t.Helper()
	path := filepath.Join(httpExamples, name)
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("E2E_REQUIRE_TOOLCHAINS") != "" {
			t.Fatalf("%s: %v (make http-examples)", path, err)
		}
		t.Skipf("%s not built (make http-examples): %v", path, err)
	}
	return path
}

// testServer is an HTTPProxy serving on 127.0.0.1.
type testServer struct {
	url            string
	stop           chan struct{}
	served         chan error
	stdout, stderr *syncBuffer
}

// syncBuffer is a writer several goroutines share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func serveHTTPProxy(t testing.TB, path string, grace time.Duration) *testServer {
	t.Helper()
	prog, err := Prepare(Config{ModulePath: path, Args: []string{"handler"}, Env: []string{"A=1"}})
	if err != nil {
		t.Fatalf("Prepare %s: %v", path, err)
	}
	proxy, ok := prog.(HTTPProxy)
	if !ok {
		prog.Close()
		t.Fatalf("Prepare %s: a %T, not an HTTPProxy", path, prog)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{url: "http://" + l.Addr().String(), stop: make(chan struct{}), served: make(chan error, 1),
		stdout: &syncBuffer{}, stderr: &syncBuffer{}}
	go func() {
		ts.served <- proxy.Serve(l, ServeOptions{Stop: ts.stop, Grace: grace, Stdout: ts.stdout, Stderr: ts.stderr})
	}()
	t.Cleanup(func() {
		ts.shutdown(t)
		proxy.Close()
		l.Close()
		if t.Failed() {
			t.Logf("stdout:\n%s\nstderr:\n%s", clipLog(ts.stdout.String()), clipLog(ts.stderr.String()))
		}
	})
	return ts
}

func clipLog(s string) string {
	if len(s) > 4000 {
		return s[:2000] + "\n...\n" + s[len(s)-2000:]
	}
	return s
}

func (ts *testServer) shutdown(t testing.TB) {
	select {
	case <-ts.stop:
		return
	default:
	}
	close(ts.stop)
	select {
	case err := <-ts.served:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(time.Minute):
		t.Error("Serve did not return after Stop")
	}
}

func get(t testing.TB, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: body: %v", url, err)
	}
	return resp.StatusCode, string(b)
}

// httpcheck builds hack/httpcheck once and runs checks against url.
var buildHTTPCheck = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "httpcheck")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "httpcheck")
	out, err := exec.Command("go", "build", "-o", bin, "../hack/httpcheck").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build httpcheck: %v\n%s", err, out)
	}
	return bin, nil
})

func runHTTPCheck(t *testing.T, url string, checks ...string) {
	t.Helper()
	bin, err := buildHTTPCheck()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-url", url, "-checks", strings.Join(checks, ","), "-timeout", "5m").CombinedOutput()
	t.Logf("httpcheck %s:\n%s", strings.Join(checks, ","), out)
	if err != nil {
		t.Fatalf("httpcheck: %v", err)
	}
}

func TestHTTPProxyC(t *testing.T) {
	ts := serveHTTPProxy(t, httpExample(t, "http-c.wasm"), 5*time.Second)
	runHTTPCheck(t, ts.url, "hello", "status", "stream", "echo", "concurrent", "trap")
	if code, body := get(t, ts.url+"/nowhere"); code != 404 || body != "not found\n" {
		t.Errorf("GET /nowhere: %d %q", code, body)
	}
	if code, body := get(t, ts.url+"/hello"); code != 200 || body != "hello from wasi:http\n" {
		t.Errorf("GET /hello: %d %q", code, body)
	}
	// The guest's stdout and stderr arrive as whole lines, all of them
	// once Serve returned.
	ts.shutdown(t)
	for _, line := range strings.Split(strings.TrimSpace(ts.stdout.String()), "\n") {
		if !strings.HasPrefix(line, "http-c: ") {
			t.Errorf("stdout line %q", line)
		}
	}
	if !strings.Contains(ts.stderr.String(), "http-c: GET /nowhere -> 404") {
		t.Errorf("stderr lacks the handler's line:\n%s", ts.stderr.String())
	}
	if !strings.Contains(ts.stderr.String(), "wasm trap") {
		t.Errorf("stderr lacks the trap:\n%s", ts.stderr.String())
	}
	if strings.Contains(ts.stdout.String()+ts.stderr.String(), "/hello") {
		t.Errorf("GET /hello printed a line:\n%s\n%s", ts.stdout.String(), ts.stderr.String())
	}
}

// TestHTTPProxyJSIncomingHandler serves the componentize-js handler,
// whose 12 MiB engine makes it slow under -race: run it with
// `go test -run HTTPProxyJS ./wasmexec/` (no -race) when in a hurry.
func TestHTTPProxyJSIncomingHandler(t *testing.T) {
	ts := serveHTTPProxy(t, httpExample(t, "http-js-incoming-handler.wasm"), 5*time.Second)
	runHTTPCheck(t, ts.url, "hello", "headers", "status", "stream", "echo", "concurrent", "fetch", "trap")
}

func TestHTTPProxyJSFetchEvent(t *testing.T) {
	ts := serveHTTPProxy(t, httpExample(t, "http-js-fetch-event.wasm"), 5*time.Second)
	runHTTPCheck(t, ts.url, "hello", "headers", "status", "stream", "echo", "concurrent", "fetch", "trap")
}

// residentBytes is the process's resident set now (no GC first, unlike
// rssBytes: it samples a peak).
func residentBytes(t testing.TB) int64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skipf("no /proc/self/statm: %v", err)
	}
	f := strings.Fields(string(b))
	pages, _ := strconv.ParseInt(f[1], 10, 64)
	return pages * int64(os.Getpagesize())
}

// peakRSS samples the resident set while fn runs and returns how far it
// rose above where it started.
func peakRSS(t testing.TB, fn func()) int64 {
	base := residentBytes(t)
	peak := base
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				peak = max(peak, residentBytes(t))
			}
		}
	}()
	fn()
	close(done)
	wg.Wait()
	return peak - base
}

// TestHTTPProxyLargeBodies streams 64 MiB each way through the C
// handler: the server's memory must not grow by anything like it.
func TestHTTPProxyLargeBodies(t *testing.T) {
	ts := serveHTTPProxy(t, httpExample(t, "http-c.wasm"), 5*time.Second)
	// Warm up (the first instance, the buffers of the first requests).
	runHTTPCheck(t, ts.url, "echo", "stream")
	const size = 64 << 20
	grew := peakRSS(t, func() {
		resp, err := http.Get(ts.url + "/stream?bytes=" + strconv.Itoa(size))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		buf := make([]byte, 64<<10)
		n := 0
		for {
			k, err := resp.Body.Read(buf)
			for i := 0; i < k; i++ {
				if buf[i] != byte((n+i)%251) {
					t.Fatalf("byte %d is %d, want %d", n+i, buf[i], (n+i)%251)
				}
			}
			n += k
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("after %d bytes: %v", n, err)
			}
		}
		if n != size {
			t.Fatalf("/stream: %d bytes, want %d", n, size)
		}
	})
	t.Logf("GET /stream of 64 MiB: RSS rose by %d MiB", grew>>20)
	if grew > 32<<20 {
		t.Errorf("GET /stream of 64 MiB: RSS rose by %d MiB", grew>>20)
	}
	grew = peakRSS(t, func() { runHTTPCheck(t, ts.url, "echo-large") })
	t.Logf("POST /echo of 64 MiB: RSS rose by %d MiB", grew>>20)
	if grew > 32<<20 {
		t.Errorf("POST /echo of 64 MiB: RSS rose by %d MiB", grew>>20)
	}
}

// TestHTTPProxyFetch: the JS handler fetches from an upstream on
// loopback through wasi:http/outgoing-handler; a refused connection is
// the handler's 502 with error-code connection-refused; a redirect is
// not followed.
func TestHTTPProxyFetch(t *testing.T) {
	ts := serveHTTPProxy(t, httpExample(t, "http-js-incoming-handler.wasm"), 5*time.Second)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/moved" {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return
		}
		if r.Header.Get("Accept-Encoding") != "" || r.Header.Get("User-Agent") != "" {
			http.Error(w, "the host added headers", 400)
			return
		}
		fmt.Fprintf(w, "upstream saw %s %s", r.Method, r.URL.RequestURI())
	}))
	defer upstream.Close()
	code, body := get(t, ts.url+"/fetch?url="+url.QueryEscape(upstream.URL+"/a?b=c"))
	if code != 200 || body != "upstream saw GET /a?b=c" {
		t.Errorf("fetch: %d %q", code, body)
	}
	code, _ = get(t, ts.url+"/fetch?url="+url.QueryEscape(upstream.URL+"/moved"))
	if code != http.StatusFound {
		t.Errorf("fetch of a redirect: %d, want 302", code)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/"
	l.Close()
	code, body = get(t, ts.url+"/fetch?url="+url.QueryEscape(closed))
	if code != 502 || !strings.Contains(body, "connection-refused") {
		t.Errorf("fetch of a closed port: %d %q", code, body)
	}
}

// TestHTTPProxyGracefulStop: a request in flight when Stop closes
// completes; new connections are refused after.
func TestHTTPProxyGracefulStop(t *testing.T) {
	ts := serveHTTPProxy(t, httpExample(t, "http-c.wasm"), 30*time.Second)
	pr, pw := io.Pipe()
	type result struct {
		code int
		body []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := http.Post(ts.url+"/echo", "application/octet-stream", pr)
		if err != nil {
			done <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		done <- result{code: resp.StatusCode, body: b, err: err}
	}()
	if _, err := pw.Write([]byte("first half, ")); err != nil {
		t.Fatal(err)
	}
	// The request is in flight: its head was answered (set before the
	// echo loop), the body still coming.
	time.Sleep(300 * time.Millisecond)
	close(ts.stop)
	time.Sleep(200 * time.Millisecond)
	if _, err := pw.Write([]byte("second half")); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	r := <-done
	if r.err != nil || r.code != 200 || string(r.body) != "first half, second half" {
		t.Fatalf("in-flight request: %d %q %v", r.code, r.body, r.err)
	}
	select {
	case err := <-ts.served:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Serve did not return")
	}
	if _, err := http.Get(ts.url + "/"); err == nil {
		t.Error("a request after the stop was answered")
	}
}

// TestHTTPProxyBadRequests: what cannot become a string for the guest
// is refused before it reaches wasmtime.
func TestHTTPProxyBadRequests(t *testing.T) {
	ts := serveHTTPProxy(t, httpExample(t, "http-c.wasm"), 5*time.Second)
	addr := strings.TrimPrefix(ts.url, "http://")
	for _, raw := range []string{
		"GET /caf\xe9 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: caf\xe9\r\nConnection: close\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: x\r\nX-Caf\xe9: 1\r\nConnection: close\r\n\r\n",
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := io.WriteString(c, raw); err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(io.LimitReader(c, 4096))
		c.Close()
		if !bytes.HasPrefix(b, []byte("HTTP/1.1 400")) {
			t.Errorf("%q: answered %q", raw, b)
		}
	}
	// The server still serves.
	if code, body := get(t, ts.url+"/"); code != 200 || body != "hello from wasi:http\n" {
		t.Errorf("GET / after bad requests: %d %q", code, body)
	}
}

func TestHTTPProxyRunAndDetection(t *testing.T) {
	prog, err := Prepare(Config{ModulePath: httpExample(t, "http-c.wasm")})
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if status := prog.Run(&stderr); status != 1 || !strings.Contains(stderr.String(), "Serve") {
		t.Errorf("Run: %d %q", status, stderr.String())
	}
	prog.Close()
	if got := httpHandlerExport([]string{"wasi:http/incoming-handler@0.2.3", "wasi:cli/run@0.2.3"}); got != "" {
		t.Errorf("a command that also handles HTTP is served: %q", got)
	}
	if got := httpHandlerExport([]string{"wasi:http/incoming-handler@0.3.0"}); got != "" {
		t.Errorf("0.3 is served: %q", got)
	}
}

// proxyWAT is a wasi:http proxy component whose handle runs body (core
// wasm of (param i32 i32)), importing imports besides wasi:http/types.
func proxyWAT(imports, body string) string {
	return `(component
  ` + imports + `
  (import "wasi:http/types@0.2.0" (instance $types
    (export "incoming-request" (type (sub resource)))
    (export "response-outparam" (type (sub resource)))))
  (alias export $types "incoming-request" (type $ir))
  (alias export $types "response-outparam" (type $ro))
  (core module $m (func (export "handle") (param i32 i32) ` + body + `))
  (core instance $i (instantiate $m))
  (func $handle (param "request" (own $ir)) (param "response-out" (own $ro))
    (canon lift (core func $i "handle")))
  (instance $h (export "handle" (func $handle)))
  (export "wasi:http/incoming-handler@0.2.0" (instance $h)))`
}

func writeWAT(t *testing.T, wat string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "proxy.wat")
	if err := os.WriteFile(path, []byte(wat), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestHTTPProxyUnknownImport: a proxy component importing something
// this host lacks fails Prepare with the import's name.
func TestHTTPProxyUnknownImport(t *testing.T) {
	path := writeWAT(t, proxyWAT(`(import "wasi:sockets/tcp@0.2.0" (instance))`, ""))
	prog, err := Prepare(Config{ModulePath: path})
	if err == nil {
		prog.Close()
		t.Fatal("Prepare accepted a component importing wasi:sockets/tcp")
	}
	if !strings.Contains(err.Error(), "wasi:sockets/tcp@0.2.0") || !errors.Is(err, ErrUnsupportedImport) {
		t.Errorf("error does not name the import: %v", err)
	}
	t.Log(err)
}

// TestHTTPProxyNoResponse: a handle that returns without setting the
// response, and one that traps, are answered 500, and the server goes on.
func TestHTTPProxyNoResponse(t *testing.T) {
	for _, tc := range []struct{ name, body, log string }{
		{"returns", "", "did not set a response"},
		{"traps", "unreachable", "wasm trap"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := serveHTTPProxy(t, writeWAT(t, proxyWAT("", tc.body)), 5*time.Second)
			for range 3 {
				if code, _ := get(t, ts.url+"/"); code != 500 {
					t.Errorf("status %d, want 500", code)
				}
			}
			ts.shutdown(t)
			if !strings.Contains(ts.stderr.String(), tc.log) {
				t.Errorf("stderr %q lacks %q", ts.stderr.String(), tc.log)
			}
		})
	}
}

// TestHTTPProxyMaxInFlight: with one slot, requests wait their turn
// instead of failing.
func TestHTTPProxyMaxInFlight(t *testing.T) {
	url := serveC(t, Config{}, ServeOptions{Grace: time.Second, MaxInFlight: 1})
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, body := get(t, url+"/"); code != 200 || body != "hello from wasi:http\n" {
				t.Errorf("GET /: %d %q", code, body)
			}
		}()
	}
	wg.Wait()
}

func TestHTTPDeclarationsMatchHeaders(t *testing.T) {
	capilayout.Check(t, httpDeclaredLayout())
}

func BenchmarkHTTPProxyHello(b *testing.B) {
	for _, name := range []string{"http-c.wasm", "http-js-incoming-handler.wasm"} {
		b.Run(name, func(b *testing.B) {
			ts := serveHTTPProxy(b, httpExample(b, name), 5*time.Second)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					resp, err := client.Get(ts.url + "/")
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						b.Errorf("status %d", resp.StatusCode)
					}
				}
			})
		})
	}
}

// TestHTTPProxyMemoryLimit: Config.MaxMemoryBytes bounds each
// instance; a component that cannot fit fails Prepare (whose check
// instance is made with the same limit), not its requests.
func TestHTTPProxyMemoryLimit(t *testing.T) {
	path := httpExample(t, "http-c.wasm")
	prog, err := Prepare(Config{ModulePath: path, MaxMemoryBytes: 64 << 10})
	if err == nil {
		prog.Close()
		t.Fatal("http-c (more than 64 KiB of memory) prepared under a 64 KiB limit")
	}
	t.Log(err)
	prog, err = Prepare(Config{ModulePath: path, MaxMemoryBytes: 64 << 20})
	if err != nil {
		t.Fatalf("http-c under a 64 MiB limit: %v", err)
	}
	prog.Close()

	// Each instance has the whole limit: 32 MiB more fits, one request
	// after another, 100 MiB does not, and the server serves on.
	url := serveC(t, Config{MaxMemoryBytes: 64 << 20}, ServeOptions{Grace: time.Second})
	for _, tc := range []struct {
		path string
		code int
	}{{"/grow?mb=32", 200}, {"/grow?mb=32", 200}, {"/grow?mb=100", 507}, {"/", 200}} {
		if code, body := get(t, url+tc.path); code != tc.code {
			t.Errorf("GET %s: %d %q, want %d", tc.path, code, body, tc.code)
		}
	}
	// Without a limit, the same 100 MiB is granted.
	if code, body := get(t, serveC(t, Config{}, ServeOptions{Grace: time.Second})+"/grow?mb=100"); code != 200 {
		t.Errorf("GET /grow?mb=100 without a limit: %d %q", code, body)
	}
}

// TestHTTPProxyWholeResponse: a small response the guest writes,
// flushes and finishes goes out whole, with its length, as a native
// handler's does, not as chunks flushed one write at a time.
func TestHTTPProxyWholeResponse(t *testing.T) {
	for _, name := range []string{"http-c.wasm", "http-js-incoming-handler.wasm"} {
		t.Run(name, func(t *testing.T) {
			ts := serveHTTPProxy(t, httpExample(t, name), 5*time.Second)
			resp, err := http.Get(ts.url + "/")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if string(body) != "hello from wasi:http\n" || resp.ContentLength != int64(len(body)) || len(resp.TransferEncoding) != 0 {
				t.Errorf("GET /: %q, content-length %d, transfer-encoding %v; want the body with its length, not chunked",
					body, resp.ContentLength, resp.TransferEncoding)
			}
		})
	}
}

// TestHTTPProxyFlushReachesClient: a line the guest flushes reaches the
// client while the guest waits on a pollable (it goes out before the
// wait) and while it spins without waiting (it goes out after
// lateFlushDelay), not when the response ends.
func TestHTTPProxyFlushReachesClient(t *testing.T) {
	ts := serveHTTPProxy(t, httpExample(t, "http-c.wasm"), 5*time.Second)
	const hold = 1500 * time.Millisecond
	for _, route := range []string{"/ticks", "/busy-ticks"} {
		t.Run(route, func(t *testing.T) {
			start := time.Now()
			resp, err := http.Get(fmt.Sprintf("%s%s?ms=%d", ts.url, route, hold.Milliseconds()))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			buf := make([]byte, 7)
			if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "tick 1\n" {
				t.Fatalf("first line: %q, %v", buf, err)
			}
			first := time.Since(start)
			rest, err := io.ReadAll(resp.Body)
			all := time.Since(start)
			if err != nil || string(rest) != "tick 2\n" {
				t.Fatalf("second line: %q, %v", rest, err)
			}
			t.Logf("first line after %v, the response after %v", first, all)
			if all < hold {
				t.Errorf("the response ended after %v, before the guest's %v", all, hold)
			}
			if first > hold/2 {
				t.Errorf("the first line arrived after %v: it waited for the guest's %v", first, hold)
			}
		})
	}
}

// slowWriter counts its writes and takes a while for each, as a pipe
// whose reader is busy does.
type slowWriter struct {
	mu     sync.Mutex
	writes int
	buf    bytes.Buffer
}

func (w *slowWriter) Write(p []byte) (int, error) {
	time.Sleep(time.Millisecond)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	return w.buf.Write(p)
}

func (w *slowWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestSharedOutput: the lines of concurrent writers arrive whole and in
// each writer's order, those written close together go out in one
// write, a line goes out without waiting for more, and a writer that
// failed fails every later write.
func TestSharedOutput(t *testing.T) {
	w := &slowWriter{}
	o := newSharedOutput(w)
	fmt.Fprintf(o, "alone\n")
	for deadline := time.Now().Add(5 * time.Second); w.String() != "alone\n"; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("a lone line did not go out: %q", w.String())
		}
	}
	w.buf.Reset()
	w.writes = 0
	const writers, lines = 16, 50
	var wg sync.WaitGroup
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range lines {
				if _, err := fmt.Fprintf(o, "writer %d line %d\n", i, j); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	o.close()
	if _, err := fmt.Fprintf(o, "after close\n"); err != nil || !strings.HasSuffix(w.String(), "after close\n") {
		t.Errorf("a write after close: %v, output ends %q", err, w.String()[max(0, len(w.String())-20):])
	}
	w.buf.Truncate(w.buf.Len() - len("after close\n"))
	w.writes--
	next := make([]int, writers)
	for _, line := range strings.Split(strings.TrimSuffix(w.buf.String(), "\n"), "\n") {
		var i, j int
		if _, err := fmt.Sscanf(line, "writer %d line %d", &i, &j); err != nil || i < 0 || i >= writers {
			t.Fatalf("line %q: %v", line, err)
		}
		if j != next[i] {
			t.Fatalf("writer %d: line %d after %d", i, j, next[i]-1)
		}
		next[i]++
	}
	for i, n := range next {
		if n != lines {
			t.Errorf("writer %d: %d lines arrived, want %d", i, n, lines)
		}
	}
	t.Logf("%d lines in %d writes", writers*lines, w.writes)
	if w.writes >= writers*lines/2 {
		t.Errorf("%d lines took %d writes: the lines written during a write did not go out together", writers*lines, w.writes)
	}

	broken := newSharedOutput(errWriter{})
	defer broken.close()
	broken.Write([]byte("a\n"))
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if _, err := broken.Write([]byte("b\n")); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("writes go on succeeding after the writer failed")
		}
	}
}

type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

// TestHTTPProxyRunningBound: with room for one running instance, guests
// that wait on a pollable do not hold it (two waiting requests and a
// hello all end in about one wait), while guests that spin do (two
// spinning requests take turns), but only for the turn's budget (a
// hello gets through beside a guest that spins for long).
func TestHTTPProxyRunningBound(t *testing.T) {
	const hold = time.Second
	ms := hold.Milliseconds()
	url := serveC(t, Config{}, ServeOptions{Grace: 5 * time.Second, maxRunning: 1, turnBudget: time.Minute})
	if took := getAll(t, url, fmt.Sprintf("/ticks?ms=%d", ms), fmt.Sprintf("/ticks?ms=%d", ms), "/"); took >= 2*hold {
		t.Errorf("two waiting guests and a hello took %v: a waiting guest held the running slot", took)
	}
	if took := getAll(t, url, fmt.Sprintf("/busy-ticks?ms=%d", ms), fmt.Sprintf("/busy-ticks?ms=%d", ms)); took < 2*hold {
		t.Errorf("two spinning guests took %v with one running slot: they ran at once", took)
	}

	url = serveC(t, Config{}, ServeOptions{Grace: 5 * time.Second, maxRunning: 1, turnBudget: 100 * time.Millisecond})
	spun := make(chan time.Duration, 1)
	go func() { spun <- getAll(t, url, fmt.Sprintf("/busy-ticks?ms=%d", 3*ms)) }()
	time.Sleep(hold / 4)
	if took := getAll(t, url, "/"); took > hold {
		t.Errorf("a hello beside a guest that spins took %v: the spinning guest kept the running slot past its budget", took)
	}
	<-spun
}

// serveC serves http-c prepared with cfg (its ModulePath set here) and
// opts (Stop is the test's end), and returns its URL.
func serveC(t *testing.T, cfg Config, opts ServeOptions) string {
	cfg.ModulePath = httpExample(t, "http-c.wasm")
	prog, err := Prepare(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	opts.Stop = stop
	served := make(chan error, 1)
	go func() { served <- prog.(HTTPProxy).Serve(l, opts) }()
	t.Cleanup(func() {
		close(stop)
		if err := <-served; err != nil {
			t.Error(err)
		}
		l.Close()
		prog.Close()
	})
	return "http://" + l.Addr().String()
}

// getAll sends GETs of paths at once and returns how long the last took.
func getAll(t *testing.T, url string, paths ...string) time.Duration {
	start := time.Now()
	var wg sync.WaitGroup
	for _, path := range paths {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, body := get(t, url+path); code != 200 {
				t.Errorf("GET %s: %d %q", path, code, body)
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}
