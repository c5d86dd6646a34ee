package wasmexec

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// prepareProxy prepares an example as an HTTPProxy, closed with t.
func prepareProxy(t testing.TB, name string) *httpProxy {
	t.Helper()
	prog, err := Prepare(Config{ModulePath: httpExample(t, name)})
	if err != nil {
		t.Fatalf("Prepare %s: %v", name, err)
	}
	t.Cleanup(prog.Close)
	return prog.(*httpProxy)
}

// serveOne runs one GET / through sv without the network.
func serveOne(sv *server) (int, string) {
	rec := httptest.NewRecorder()
	sv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	return rec.Code, rec.Body.String()
}

// TestHTTPProxyPoolFits: every example is served from the pooling
// allocator (its core instances, memories and tables fit the
// per-instance bounds), and more concurrent requests than the pool has
// instances all succeed: the slots keep the pool from running out.
func TestHTTPProxyPoolFits(t *testing.T) {
	for _, name := range []string{"http-c.wasm", "http-js-incoming-handler.wasm", "http-js-fetch-event.wasm"} {
		t.Run(name, func(t *testing.T) {
			p := prepareProxy(t, name)
			var stderr bytes.Buffer
			sv := p.newServer(ServeOptions{MaxInFlight: 2, Stderr: &stderr})
			if !sv.sc.pooled {
				t.Fatalf("served without the pool: %s", stderr.String())
			}
			var wg sync.WaitGroup
			for range 8 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if code, body := serveOne(sv); code != 200 || !strings.HasPrefix(body, "hello") {
						t.Errorf("GET /: %d %q", code, body)
					}
				}()
			}
			wg.Wait()
		})
	}
}

// TestHTTPProxyPoolFallback: when the pool cannot be reserved (here: far
// more instances than the address space holds), the server says so and
// serves with the default allocator.
func TestHTTPProxyPoolFallback(t *testing.T) {
	p := prepareProxy(t, "http-c.wasm")
	var stderr bytes.Buffer
	sv := p.newServer(ServeOptions{MaxInFlight: 1 << 22, Stderr: &stderr})
	if sv.sc.pooled || !strings.Contains(stderr.String(), "without the pooling allocator") {
		t.Fatalf("pooled %v, stderr %q", sv.sc.pooled, stderr.String())
	}
	t.Log(strings.TrimSpace(stderr.String()))
	if code, body := serveOne(sv); code != 200 || body != "hello from wasi:http\n" {
		t.Errorf("GET /: %d %q", code, body)
	}
}

// BenchmarkHTTPProxyHandle is a request without the network (the
// handler called directly: instantiate, handle, close), with the pooling
// allocator that Serve uses and with the default one.
func BenchmarkHTTPProxyHandle(b *testing.B) {
	for _, name := range []string{"http-c.wasm", "http-js-incoming-handler.wasm"} {
		for _, pooled := range []bool{true, false} {
			b.Run(fmt.Sprintf("%s/pool=%v", name, pooled), func(b *testing.B) {
				p := prepareProxy(b, name)
				var stderr bytes.Buffer
				sv := p.newServer(ServeOptions{Stderr: &stderr})
				if !sv.sc.pooled {
					b.Fatalf("no pool: %s", stderr.String())
				}
				if !pooled {
					sv.sc = p.servedComponent
				}
				b.ResetTimer()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if code, _ := serveOne(sv); code != 200 {
							b.Errorf("status %d", code)
							return
						}
					}
				})
			})
		}
	}
}

// TestHTTPProxyPoolHalves: under an address-space limit that cannot hold
// the default bound's pool, the default bound halves until its pool
// fits, and the slots are as many as the pool's instances.
func TestHTTPProxyPoolHalves(t *testing.T) {
	p := prepareProxy(t, "http-c.wasm")
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_AS, &old); err != nil {
		t.Fatal(err)
	}
	// What the process has mapped, and 1 TiB more: room for 64
	// instances' pool (about 0.5 TiB), not for 128.
	limit := vmSize(t) + 1<<40
	if old.Cur < limit {
		t.Skipf("RLIMIT_AS is already %d", old.Cur)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: limit, Max: old.Max}); err != nil {
		t.Skipf("set RLIMIT_AS: %v", err)
	}
	var stderr bytes.Buffer
	sv := p.newServer(ServeOptions{Stderr: &stderr})
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &old); err != nil {
		t.Fatal(err)
	}
	if !sv.sc.pooled || cap(sv.slots) != 64 {
		t.Fatalf("pooled %v, %d slots; stderr %q", sv.sc.pooled, cap(sv.slots), stderr.String())
	}
	if code, body := serveOne(sv); code != 200 || body != "hello from wasi:http\n" {
		t.Errorf("GET /: %d %q", code, body)
	}
}

// vmSize is the address space the process has mapped.
func vmSize(t *testing.T) uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmSize:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmSize in /proc/self/status")
	return 0
}
