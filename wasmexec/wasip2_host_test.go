package wasmexec

import (
	"bytes"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

const p2Guest = "test:p2/guest@0.1.0"

// p2TestHost is testdata/wasip2.wat on a linker that defineImports built.
type p2TestHost struct {
	comp    *componentArtifact
	linker  *hostLinker
	exports map[string]*exportedFunc
}

func watComponent(t testing.TB, src string) []byte {
	t.Helper()
	wasm, err := wasmtime.Wat2Wasm(src)
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

// compileP2Testdata compiles testdata/wasip2.wat.
func compileP2Testdata(t testing.TB) (*componentCompiler, *componentArtifact) {
	t.Helper()
	src, err := os.ReadFile("testdata/wasip2.wat")
	if err != nil {
		t.Fatal(err)
	}
	return compileComponent(t, watComponent(t, string(src)))
}

// p2LinkerFor makes a linker for comp and defines every interface comp
// imports on it; the error is defineImports'.
func p2LinkerFor(t testing.TB, cc *componentCompiler, comp *componentArtifact) (*hostLinker, error) {
	t.Helper()
	imports, err := componentImports(comp)
	if err != nil {
		t.Fatal(err)
	}
	l := newHostLinker(cc)
	t.Cleanup(l.close)
	return l, newP2World(l).defineImports(imports)
}

func newP2TestHost(t testing.TB) *p2TestHost {
	t.Helper()
	cc, comp := compileP2Testdata(t)
	l, err := p2LinkerFor(t, cc, comp)
	if err != nil {
		t.Fatal(err)
	}
	th := &p2TestHost{comp: comp, linker: l, exports: map[string]*exportedFunc{}}
	if err := th.linker.build(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"say", "random", "read", "wait", "exit"} {
		f, err := lookupExport(comp, p2Guest, name)
		if err != nil {
			t.Fatal(err)
		}
		th.exports[name] = f
	}
	// Registered after p2LinkerFor's and compileComponent's cleanups, so
	// it runs before them.
	t.Cleanup(func() {
		for _, f := range th.exports {
			f.close()
		}
	})
	return th
}

func (th *p2TestHost) instantiate(t testing.TB, c *p2Context) *hostInstance {
	t.Helper()
	h, err := th.linker.instantiate(th.comp, c, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.close)
	return h
}

func TestP2ComponentImports(t *testing.T) {
	_, comp := compileP2Testdata(t)
	got, err := componentImports(comp)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"wasi:io/error@0.2.0", "wasi:io/poll@0.2.0", "wasi:io/streams@0.2.0", "wasi:cli/stdout@0.2.3",
		"wasi:cli/stdin@0.2.3", "wasi:cli/exit@0.2.3", "wasi:random/random@0.2.12", "wasi:clocks/monotonic-clock@0.2.5"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("imports %q, want %q", got, want)
	}
}

func TestP2StdoutRandomStdinRoundTrip(t *testing.T) {
	th := newP2TestHost(t)
	var stdout bytes.Buffer
	c := &p2Context{stdout: &stdout, stdin: strings.NewReader("from stdin")}
	h := th.instantiate(t, c)

	res, err := h.call(th.exports["say"], valBytes([]byte("hello")))
	if err != nil {
		t.Fatal(err)
	}
	if !res[0].Bool() || stdout.String() != "hello" {
		t.Errorf("say: ok %v, stdout %q; want true, \"hello\"", res[0].Bool(), stdout.String())
	}

	res, err = h.call(th.exports["random"], valU64(32))
	if err != nil {
		t.Fatal(err)
	}
	a := res[0].Bytes()
	res, err = h.call(th.exports["random"], valU64(32))
	if err != nil {
		t.Fatal(err)
	}
	if b := res[0].Bytes(); len(a) != 32 || len(b) != 32 || bytes.Equal(a, b) {
		t.Errorf("random: %x then %x, want two different 32-byte values", a, b)
	}

	res, err = h.call(th.exports["read"], valU64(100))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := res[0].Payload(); !ok || string(got.Bytes()) != "from stdin" {
		t.Errorf("read: %+v, want some(\"from stdin\")", res[0])
	}
	// Every get-stdin reads the one stdin: after its end, closed.
	res, err = h.call(th.exports["read"], valU64(100))
	if err != nil {
		t.Fatal(err)
	}
	if res[0].IsSome() {
		t.Errorf("read after the end: %+v, want none (stream-error closed)", res[0])
	}
}

func TestP2NoStdinIsClosed(t *testing.T) {
	th := newP2TestHost(t)
	h := th.instantiate(t, &p2Context{})
	res, err := h.call(th.exports["read"], valU64(1))
	if err != nil {
		t.Fatal(err)
	}
	if res[0].IsSome() {
		t.Errorf("read of no stdin: %+v, want none", res[0])
	}
	// Without a writer, stdout is discarded, and writing succeeds.
	res, err = h.call(th.exports["say"], valBytes([]byte("into the void")))
	if err != nil || !res[0].Bool() {
		t.Errorf("say without stdout: %v %v", res, err)
	}
}

func TestP2MonotonicClockPollable(t *testing.T) {
	th := newP2TestHost(t)
	h := th.instantiate(t, &p2Context{})
	start := time.Now()
	if _, err := h.call(th.exports["wait"], valU64(uint64(20*time.Millisecond))); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("wait(20ms) returned after %v", d)
	}
	if h.live() != 0 {
		t.Errorf("%d resources left after the guest dropped its pollable", h.live())
	}
}

func TestP2ExitStatus(t *testing.T) {
	th := newP2TestHost(t)
	for _, ok := range []bool{true, false} {
		c := &p2Context{}
		h := th.instantiate(t, c)
		_, err := h.call(th.exports["exit"], valBool(ok))
		if err == nil || !strings.Contains(err.Error(), p2ExitMessage) {
			t.Fatalf("exit(%v): error %v, want the exit trap", ok, err)
		}
		want := 0
		if !ok {
			want = 1
		}
		if status, exited := c.exited(); !exited || status != want {
			t.Errorf("exit(%v): exited() = %d, %v; want %d, true", ok, status, exited, want)
		}
	}
}

// TestP2GuestLengthBounds: lengths the guest passes are bounded: a read
// is cut to p2ChunkMax, a blocking write of more traps, and so does a
// request for more random bytes than p2RandomMax.
func TestP2GuestLengthBounds(t *testing.T) {
	th := newP2TestHost(t)
	c := &p2Context{stdin: bytes.NewReader(make([]byte, 3*p2ChunkMax))}
	h := th.instantiate(t, c)
	res, err := h.call(th.exports["read"], valU64(1<<40))
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := res[0].Payload(); !ok || len(got.Bytes()) == 0 || len(got.Bytes()) > p2ChunkMax {
		t.Errorf("read(2^40): %d bytes, want 1..%d", len(got.Bytes()), p2ChunkMax)
	}

	h = th.instantiate(t, &p2Context{})
	_, err = h.call(th.exports["say"], valBytes(make([]byte, p2ChunkMax+1)))
	if err == nil || !strings.Contains(err.Error(), "more than the 65536 one call may write") {
		t.Errorf("say(64 KiB + 1): %v, want a trap naming the bound", err)
	}

	h = th.instantiate(t, &p2Context{})
	_, err = h.call(th.exports["random"], valU64(1<<62))
	if err == nil || !strings.Contains(err.Error(), "more than the 1048576 this host hands out") {
		t.Errorf("random(2^62): %v, want a trap naming the bound", err)
	}
}

// TestP2UnknownImportsAreNamed: an import outside WASI 0.2.0..0.2.12
// fails defineImports with an error that names it.
func TestP2UnknownImportsAreNamed(t *testing.T) {
	cc, comp := compileComponent(t, watComponent(t, `(component
  (import "wasi:sockets/tcp@0.2.0" (instance))
  (import "wasi:io/streams@0.3.0" (instance))
  (import "wasi:io/poll@0.2.13" (instance))
  (import "wasi:random/random@0.2.0" (instance)))`))
	_, err := p2LinkerFor(t, cc, comp)
	if err == nil {
		t.Fatal("defineImports accepted wasi:sockets/tcp and wasi:io/streams@0.3.0")
	}
	for _, want := range []string{
		"the component imports wasi:sockets/tcp@0.2.0, which this host does not provide",
		"the component imports wasi:io/streams@0.3.0, which this host does not provide: version 0.3.0 is not 0.2.x",
		"the component imports wasi:io/poll@0.2.13, which this host does not provide: version 0.2.13 is newer than 0.2.12",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if strings.Contains(err.Error(), "wasi:random") {
		t.Errorf("error %q names wasi:random/random@0.2.0, which the host provides", err)
	}
}

// TestP2ItemOutsideWITFailsInstantiation: the host defines what WASI's
// WIT has, and wasmtime checks every item an import lists, so a
// component that wants more fails to instantiate, naming the item.
func TestP2ItemOutsideWITFailsInstantiation(t *testing.T) {
	cc, comp := compileComponent(t, watComponent(t, `(component
  (import "wasi:io/poll@0.2.0" (instance
    (export "pollable" (type $p (sub resource)))
    (export "[method]pollable.bogus" (func (param "self" (borrow $p)))))))`))
	l, err := p2LinkerFor(t, cc, comp)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.build(); err != nil {
		t.Fatal(err)
	}
	h, err := l.instantiate(comp, &p2Context{}, 0)
	if err == nil {
		h.close()
		t.Fatal("a component importing [method]pollable.bogus instantiated")
	}
	if !strings.Contains(err.Error(), "pollable.bogus") {
		t.Errorf("error %q does not name [method]pollable.bogus", err)
	}
}

// TestP2TwoPatchVersionsOneDefinition: a component that imports one
// interface at two 0.2.x versions gets one definition, at the newer
// name, and wasmtime's linker resolves the older import to it (its
// semver matching); a single import is defined under its exact name.
func TestP2TwoPatchVersionsOneDefinition(t *testing.T) {
	cc, comp := compileComponent(t, watComponent(t, `(component
  (import "wasi:random/random@0.2.0" (instance (export "get-random-u64" (func (result u64)))))
  (import "wasi:random/random@0.2.12" (instance (export "get-random-bytes" (func (param "len" u64) (result (list u8))))))
  (import "wasi:random/insecure@0.2.3" (instance (export "get-insecure-random-u64" (func (result u64))))))`))
	l, err := p2LinkerFor(t, cc, comp)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(l.order, " "); got != "wasi:random/insecure@0.2.3 wasi:random/random@0.2.12" {
		t.Errorf("defined %s", got)
	}
	if err := l.build(); err != nil {
		t.Fatal(err)
	}
	h, err := l.instantiate(comp, &p2Context{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	h.close()
}

// TestP2ConcurrentInstances: one linker, instances on 8 goroutines, each
// writing to a shared stdout and reading random bytes (run with -race).
func TestP2ConcurrentInstances(t *testing.T) {
	th := newP2TestHost(t)
	out := &syncBuffer{} // shared, as a container log is
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				h, err := th.linker.instantiate(th.comp, &p2Context{stdout: out}, 0)
				if err != nil {
					errs <- err
					return
				}
				_, err = h.call(th.exports["say"], valBytes([]byte("x")))
				if err == nil {
					_, err = h.call(th.exports["random"], valU64(16))
				}
				h.close()
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(out.String()); n != 200 {
		t.Errorf("stdout has %d bytes, want 200", n)
	}
}
