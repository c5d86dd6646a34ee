package wasmexec

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// The interfaces of testdata/hostapi.wat.
const (
	testAPI   = "test:host/api@0.1.0"
	testGuest = "test:host/guest@0.1.0"
)

// thing is the Go object behind the test's resource.
type thing struct{ label string }

// thingLog is an instance's record of what happened to its things.
type thingLog struct {
	destroyed, consumed []string
}

// testHost is testdata/hostapi.wat compiled, and a linker that defines
// test:host/api in Go.
type testHost struct {
	cc      *componentCompiler
	comp    *componentArtifact
	linker  *hostLinker
	thing   *resourceType
	other   *resourceType // defined, not imported by the component
	exports map[string]*exportedFunc
}

func newTestHost(t testing.TB) *testHost {
	t.Helper()
	src, err := os.ReadFile("testdata/hostapi.wat")
	if err != nil {
		t.Fatal(err)
	}
	wasm, err := wasmtime.Wat2Wasm(string(src))
	if err != nil {
		t.Fatal(err)
	}
	th := &testHost{cc: newComponentCompiler(defaultSettings), exports: map[string]*exportedFunc{}}
	a, err := th.cc.compile(wasm)
	if err != nil {
		th.cc.close()
		t.Fatal(err)
	}
	th.comp = a.(*componentArtifact)
	th.linker = newHostLinker(th.cc)
	th.define()
	if err := th.linker.build(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"scalars", "bytes", "entries", "opt", "res", "classify", "rec",
		"make-label", "make-consume", "peek", "handle", "keep", "drop-kept"} {
		f, err := lookupExport(th.comp, testGuest, name)
		if err != nil {
			t.Fatal(err)
		}
		th.exports[name] = f
	}
	t.Cleanup(th.close)
	return th
}

func (th *testHost) close() {
	for _, f := range th.exports {
		f.close()
	}
	th.linker.close()
	th.comp.close()
	th.cc.close()
}

func (th *testHost) define() {
	l := th.linker
	th.thing = l.defineResource(testAPI, "thing", func(h *hostInstance, obj any) error {
		log := h.data.(*thingLog)
		log.destroyed = append(log.destroyed, obj.(*thing).label)
		return nil
	})
	th.other = l.defineResource("test:host/other@0.1.0", "other", nil)
	l.defineFunc(testAPI, "[constructor]thing", func(h *hostInstance, p, r []cval) error {
		r[0] = h.own(th.thing, &thing{label: p[0].Str()})
		return nil
	})
	l.defineFunc(testAPI, "[method]thing.label", func(h *hostInstance, p, r []cval) error {
		obj, err := h.get(p[0].Resource(), th.thing)
		if err != nil {
			return err
		}
		r[0] = valString(obj.(*thing).label)
		return nil
	})
	l.defineFunc(testAPI, "[static]thing.consume", func(h *hostInstance, p, r []cval) error {
		obj, err := h.take(p[0].Resource(), th.thing)
		if err != nil {
			return err
		}
		label := obj.(*thing).label
		log := h.data.(*thingLog)
		log.consumed = append(log.consumed, label)
		r[0] = valString("consumed " + label)
		return nil
	})
	l.defineFunc(testAPI, "scalars", func(h *hostInstance, p, r []cval) error {
		r[0] = valTuple(valBool(!p[0].Bool()), valU8(p[1].U8()+1), valU16(p[2].U16()+1), valU32(p[3].U32()+1),
			valU64(p[4].U64()+1), valS32(p[5].S32()-1), valS64(p[6].S64()-1))
		return nil
	})
	l.defineFunc(testAPI, "bytes", func(h *hostInstance, p, r []cval) error {
		b := p[0].Bytes()
		out := make([]byte, len(b))
		for i, c := range b {
			out[len(b)-1-i] = c
		}
		r[0] = valBytes(out)
		return nil
	})
	l.defineFunc(testAPI, "entries", func(h *hostInstance, p, r []cval) error {
		var out []cval
		for _, e := range p[0].Elems() {
			kv := e.Elems()
			out = append(out, valTuple(valString(strings.ToUpper(kv[0].Str())), valBytes(append(kv[1].Bytes(), '!'))))
		}
		r[0] = valList(out...)
		return nil
	})
	l.defineFunc(testAPI, "opt", func(h *hostInstance, p, r []cval) error {
		r[0] = valNone()
		if s, ok := p[0].Payload(); ok {
			r[0] = valSome(valU32(uint32(len(s.Str()))))
		}
		return nil
	})
	l.defineFunc(testAPI, "res", func(h *hostInstance, p, r []cval) error {
		v, _ := p[0].Payload()
		if p[0].IsOk() {
			r[0] = valOk(valString(strconv.Itoa(int(v.U32()))))
		} else {
			r[0] = valErr(valU8(uint8(len(v.Str()))))
		}
		return nil
	})
	l.defineFunc(testAPI, "classify", func(h *hostInstance, p, r []cval) error {
		var m cval
		switch p[0].Case() {
		case "get":
			m = valVariant("post")
		case "post":
			m = valVariant("other", valString("PATCH"))
		default:
			s, _ := p[0].Payload()
			if s.Str() == "trap" {
				return errors.New("classify refuses trap")
			}
			if s.Str() == "panic" {
				panic("classify panics")
			}
			if s.Str() == "bad utf-8" {
				m = valVariant("other", valString("\xff"))
				break
			}
			m = valVariant("get")
		}
		next := map[string]string{"red": "green", "green": "blue", "blue": "red"}
		r[0] = valTuple(m, valEnum(next[p[1].Case()]))
		return nil
	})
	l.defineFunc(testAPI, "rec", func(h *hostInstance, p, r []cval) error {
		pt := p[0]
		r[0] = valRecord(field{"x", valU32(pt.Field("x").U32() * 2)}, field{"name", valString(pt.Field("name").Str() + "!")},
			field{"tags", valBytes(append(pt.Field("tags").Bytes(), 0))})
		return nil
	})
}

func (th *testHost) instantiate(t testing.TB) *hostInstance {
	t.Helper()
	h, err := th.linker.instantiate(th.comp, &thingLog{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (th *testHost) call(t testing.TB, h *hostInstance, name string, args ...cval) []cval {
	t.Helper()
	res, err := h.call(th.exports[name], args...)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return res
}

// format writes a value in a WAVE-like text, to compare values.
func format(v cval) string {
	switch v.kind {
	case kindBool:
		return strconv.FormatBool(v.Bool())
	case kindU8, kindU16, kindU32, kindU64:
		return fmt.Sprintf("%s:%d", v.kind, v.num)
	case kindS8, kindS16, kindS32, kindS64:
		return fmt.Sprintf("%s:%d", v.kind, v.S64())
	case kindString:
		return strconv.Quote(v.str)
	case kindEnum:
		return v.str
	case kindList, kindTuple, kindRecord:
		if v.kind == kindList && v.num == 1 && len(v.bytes) > 0 {
			return fmt.Sprintf("b%q", v.bytes)
		}
		parts := make([]string, len(v.elems))
		for i, e := range v.elems {
			parts[i] = format(e)
			if v.kind == kindRecord {
				parts[i] = v.names[i] + ": " + parts[i]
			}
		}
		open, end := "[", "]"
		if v.kind != kindList {
			open, end = "(", ")"
		}
		return open + strings.Join(parts, ", ") + end
	case kindVariant, kindOption, kindResult:
		name := v.str
		switch {
		case v.kind == kindOption && v.num == 1:
			name = "some"
		case v.kind == kindOption:
			name = "none"
		case v.kind == kindResult && v.num == 1:
			name = "ok"
		case v.kind == kindResult:
			name = "err"
		}
		if p, ok := v.Payload(); ok {
			return name + "(" + format(p) + ")"
		}
		return name
	case kindResource:
		return fmt.Sprintf("%s(%s %d)", map[bool]string{true: "own", false: "borrow"}[v.res.owned], v.res.typ.name, v.res.rep)
	}
	return fmt.Sprintf("<%s>", v.kind)
}

// TestComponentHostValues: each value kind goes from Go to the guest (an
// argument of an exported function), from the guest to a Go host
// function (its parameter), back to the guest (the host's result) and
// to Go (the export's result).
func TestComponentHostValues(t *testing.T) {
	th := newTestHost(t)
	h := th.instantiate(t)
	defer h.close()
	tests := []struct {
		fn   string
		args []cval
		want string
	}{
		{"scalars", []cval{valBool(true), valU8(255), valU16(7), valU32(1 << 31), valU64(1 << 40), valS32(-5), valS64(-1 << 40)},
			"(false, u8:0, u16:8, u32:2147483649, u64:1099511627777, s32:-6, s64:-1099511627777)"},
		{"bytes", []cval{valBytes([]byte("hello\x00\xff"))}, `b"\xff\x00olleh"`},
		{"bytes", []cval{valBytes(nil)}, `[]`},
		{"entries", []cval{valList(valTuple(valString("content-type"), valBytes([]byte("text/plain"))), valTuple(valString("x-empty"), valBytes(nil)))},
			`[("CONTENT-TYPE", b"text/plain!"), ("X-EMPTY", b"!")]`},
		{"entries", []cval{valList()}, `[]`},
		{"opt", []cval{valSome(valString("four"))}, "some(u32:4)"},
		{"opt", []cval{valNone()}, "none"},
		{"res", []cval{valOk(valU32(42))}, `ok("42")`},
		{"res", []cval{valErr(valString("bad"))}, "err(u8:3)"},
		{"classify", []cval{valVariant("get"), valEnum("red")}, "(post, green)"},
		{"classify", []cval{valVariant("post"), valEnum("blue")}, `(other("PATCH"), red)`},
		{"classify", []cval{valVariant("other", valString("QUERY")), valEnum("green")}, "(get, blue)"},
		{"rec", []cval{valRecord(field{"x", valU32(21)}, field{"name", valString("p")}, field{"tags", valBytes([]byte{1, 2})})},
			`(x: u32:42, name: "p!", tags: b"\x01\x02\x00")`},
		{"make-label", []cval{valString("héllo")}, `"héllo"`},
	}
	for _, tc := range tests {
		t.Run(tc.fn+" "+tc.want, func(t *testing.T) {
			res := th.call(t, h, tc.fn, tc.args...)
			if len(res) != 1 {
				t.Fatalf("%d results, want 1", len(res))
			}
			if got := format(res[0]); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// TestComponentHostLargeBytes: a list<u8> of 1 MiB makes the round trip
// intact, and the cost per byte is logged (wasmtime's C API carries a
// list<u8> as one 32-byte value per byte).
func TestComponentHostLargeBytes(t *testing.T) {
	th := newTestHost(t)
	h := th.instantiate(t)
	defer h.close()
	in := make([]byte, 1<<20)
	for i := range in {
		in[i] = byte(i * 7)
	}
	start := time.Now()
	res := th.call(t, h, "bytes", valBytes(in))
	elapsed := time.Since(start)
	out := res[0].Bytes()
	for i := range in {
		if out[len(out)-1-i] != in[i] {
			t.Fatalf("byte %d differs", i)
		}
	}
	t.Logf("1 MiB list<u8> host->guest->host->guest->host: %v (%.1f ns a byte a crossing)", elapsed, float64(elapsed.Nanoseconds())/float64(4*len(in)))
}

// TestComponentHostResources: the handle table follows every way a
// resource moves between host and guest, and destroy runs exactly when
// the guest drops an own handle, or at close for what is left.
func TestComponentHostResources(t *testing.T) {
	th := newTestHost(t)
	for _, tc := range []struct {
		name          string
		run           func(t *testing.T, h *hostInstance) string
		want          string
		liveAfterCall int
		destroyed     string // by the guest during the calls
		consumed      string
		destroyedAll  string // after close
	}{
		{name: "constructed, borrowed, dropped by the guest", run: func(t *testing.T, h *hostInstance) string {
			return th.call(t, h, "make-label", valString("a"))[0].Str()
		}, want: "a", destroyed: "a", destroyedAll: "a"},
		{name: "constructed, given back to the host", run: func(t *testing.T, h *hostInstance) string {
			return th.call(t, h, "make-consume", valString("b"))[0].Str()
		}, want: "consumed b", consumed: "b"},
		{name: "two owns passed into an exported handler", run: func(t *testing.T, h *hostInstance) string {
			th.call(t, h, "handle", h.own(th.thing, &thing{"req"}), h.own(th.thing, &thing{"out"}))
			return ""
		}, destroyed: "req", consumed: "out", destroyedAll: "req"},
		{name: "an own the host keeps, lent as a borrow", run: func(t *testing.T, h *hostInstance) string {
			kept := h.own(th.thing, &thing{"lent"}).Resource()
			return th.call(t, h, "peek", valOwn(kept))[0].Str()
		}, want: "lent", liveAfterCall: 1, destroyedAll: "lent"},
		{name: "a host borrow is refused, not an abort", run: func(t *testing.T, h *hostInstance) string {
			kept := h.own(th.thing, &thing{"lent"}).Resource()
			kept.owned = false
			_, err := h.call(th.exports["peek"], cval{kind: kindResource, res: kept})
			if err == nil || !strings.Contains(err.Error(), "cannot pass a host borrow") {
				t.Fatalf("err = %v, want a refused borrow", err)
			}
			return ""
		}, liveAfterCall: 1, destroyedAll: "lent"},
		{name: "kept by the guest past the call", run: func(t *testing.T, h *hostInstance) string {
			th.call(t, h, "keep", h.own(th.thing, &thing{"kept"}))
			return ""
		}, liveAfterCall: 1, destroyedAll: "kept"},
		{name: "kept, then dropped by a later call", run: func(t *testing.T, h *hostInstance) string {
			th.call(t, h, "keep", h.own(th.thing, &thing{"later"}))
			th.call(t, h, "drop-kept")
			return ""
		}, destroyed: "later", destroyedAll: "later"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := th.instantiate(t)
			log := h.data.(*thingLog)
			if got := tc.run(t, h); got != tc.want {
				t.Fatalf("result %q, want %q", got, tc.want)
			}
			if h.live() != tc.liveAfterCall {
				t.Errorf("%d resources live after the calls, want %d", h.live(), tc.liveAfterCall)
			}
			if got := strings.Join(log.destroyed, ","); got != tc.destroyed {
				t.Errorf("destroyed %q during the calls, want %q", got, tc.destroyed)
			}
			if got := strings.Join(log.consumed, ","); got != tc.consumed {
				t.Errorf("consumed %q, want %q", got, tc.consumed)
			}
			h.close()
			if got := strings.Join(log.destroyed, ","); got != tc.destroyedAll {
				t.Errorf("destroyed %q by close, want %q", got, tc.destroyedAll)
			}
		})
	}
}

// TestComponentHostFailures: a host function that fails, panics or
// returns what wasmtime would abort on traps the call, and the instance's
// store is still usable for closing.
func TestComponentHostFailures(t *testing.T) {
	th := newTestHost(t)
	for _, tc := range []struct{ arg, want string }{
		{"trap", "classify refuses trap"},
		{"panic", "panicked: classify panics"},
		{"bad utf-8", "is not UTF-8"},
	} {
		t.Run(tc.arg, func(t *testing.T) {
			h := th.instantiate(t)
			defer h.close()
			_, err := h.call(th.exports["classify"], valVariant("other", valString(tc.arg)), valEnum("red"))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
	t.Run("invalid UTF-8 argument", func(t *testing.T) {
		h := th.instantiate(t)
		defer h.close()
		_, err := h.call(th.exports["make-label"], valString("\xc3"))
		if err == nil || !strings.Contains(err.Error(), "not UTF-8") {
			t.Fatalf("err = %v, want not UTF-8", err)
		}
	})
	// A failed call may leave the instance unable to be entered again
	// (a trap poisons it), so each case has an instance of its own.
	for _, tc := range []struct {
		name, fn string
		args     func(h *hostInstance) []cval
		want     string
	}{
		{"unknown enum case", "classify", func(*hostInstance) []cval { return []cval{valVariant("get"), valEnum("purple")} }, ""},
		{"u32 for an enum", "classify", func(*hostInstance) []cval { return []cval{valVariant("get"), valU32(1)} }, ""},
		{"unknown variant case", "classify", func(*hostInstance) []cval { return []cval{valVariant("delete"), valEnum("red")} }, ""},
		{"record missing a field", "rec", func(*hostInstance) []cval { return []cval{valRecord(field{"x", valU32(1)})} }, ""},
		{"missing argument", "make-label", func(*hostInstance) []cval { return nil }, ""},
		{"another resource type", "keep", func(h *hostInstance) []cval { return []cval{h.own(th.other, "x")} }, "mismatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := th.instantiate(t)
			defer h.close()
			if _, err := h.call(th.exports[tc.fn], tc.args(h)...); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	t.Run("a rep that is not in the table", func(t *testing.T) {
		h := th.instantiate(t)
		defer h.close()
		_, err := h.call(th.exports["peek"], valOwn(resourceRef{typ: th.thing, rep: 99}))
		if err == nil || !strings.Contains(err.Error(), "no resource with rep 99") {
			t.Fatalf("err = %v, want no resource with rep 99", err)
		}
	})
}

// TestComponentHostLinking: an interface is defined once; a component
// whose imports the linker lacks fails to instantiate, naming them.
func TestComponentHostLinking(t *testing.T) {
	th := newTestHost(t)
	handles := liveHostHandles.Load()
	l := newHostLinker(th.cc)
	l.defineFunc(testAPI, "scalars", func(*hostInstance, []cval, []cval) error { return nil })
	l.defineFunc(testAPI, "scalars", func(*hostInstance, []cval, []cval) error { return nil })
	if err := l.build(); err == nil || !strings.Contains(err.Error(), "scalars") {
		t.Fatalf("build with a function defined twice: %v", err)
	}
	if _, err := l.instantiate(th.comp, nil, 0); err == nil {
		t.Fatal("instantiate with a linker that failed to build")
	}
	l.close()
	empty := newHostLinker(th.cc)
	if err := empty.build(); err != nil {
		t.Fatal(err)
	}
	_, err := empty.instantiate(th.comp, nil, 0)
	if err == nil || !strings.Contains(err.Error(), testAPI) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("instantiate without the imports: %v, want a one-line error naming %s", err, testAPI)
	}
	empty.close()
	if n := liveHostHandles.Load(); n != handles {
		t.Fatalf("%d handles live after the linkers closed, %d before", n, handles)
	}
	if _, err := lookupExport(th.comp, testGuest, "nope"); !errors.Is(err, ErrNoEntrypoint) {
		t.Fatalf("lookupExport of a missing function: %v", err)
	}
}

func TestHandleTable(t *testing.T) {
	a, b := &resourceType{name: "a"}, &resourceType{name: "b"}
	var tab handleTable
	r1, r2 := tab.insert(a, 1), tab.insert(b, 2)
	if r1 == 0 || r2 == 0 || r1 == r2 {
		t.Fatalf("reps %d, %d", r1, r2)
	}
	if _, err := tab.get(r1, b); err == nil {
		t.Fatal("got an a as a b")
	}
	if v, err := tab.remove(r1, a); err != nil || v != 1 {
		t.Fatalf("remove: %v, %v", v, err)
	}
	if _, err := tab.get(r1, a); err == nil {
		t.Fatal("got a removed entry")
	}
	if r3 := tab.insert(a, 3); r3 != r1 {
		t.Fatalf("slot not reused: %d", r3)
	}
	for _, rep := range []uint32{0, 99} {
		if _, err := tab.get(rep, a); err == nil {
			t.Fatalf("got rep %d", rep)
		}
	}
	if tab.live != 2 {
		t.Fatalf("live %d, want 2", tab.live)
	}
}

// TestComponentHostConcurrentInstances: one linker, 1,000
// instantiations on 8 goroutines, each instance serving one "request"
// (the handler with two owns, a constructor and a drop) and closed. Run
// it with -race. It logs the cost of an instantiation, the
// per-request instantiation cost of a wasi:http server.
func TestComponentHostConcurrentInstances(t *testing.T) {
	th := newTestHost(t)
	const goroutines, total = 8, 1000
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	var instantiate, serve, closing [goroutines]time.Duration
	start := time.Now()
	for g := 0; g < goroutines; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := g; i < total; i += goroutines {
				if err := th.request(g, i, &instantiate[g], &serve[g], &closing[g]); err != nil {
					errs <- err
					return
				}
			}
		}(g)
	}
	wg.Wait()
	wall := time.Since(start)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	var in, sv, cl time.Duration
	for g := range instantiate {
		in, sv, cl = in+instantiate[g], sv+serve[g], cl+closing[g]
	}
	t.Logf("%d requests on %d goroutines in %v (%v a request of wall time); per request: instantiate %v, calls %v, close %v",
		total, goroutines, wall, wall/total, in/total, sv/total, cl/total)
}

// request is one request of TestComponentHostConcurrentInstances.
func (th *testHost) request(g, i int, instantiate, serve, closing *time.Duration) error {
	t0 := time.Now()
	log := &thingLog{}
	h, err := th.linker.instantiate(th.comp, log, 0)
	if err != nil {
		return err
	}
	t1 := time.Now()
	req := fmt.Sprintf("req-%d-%d", g, i)
	if _, err := h.call(th.exports["handle"], h.own(th.thing, &thing{req}), h.own(th.thing, &thing{"out"})); err != nil {
		h.close()
		return err
	}
	res, err := h.call(th.exports["make-label"], valString(req))
	if err != nil {
		h.close()
		return err
	}
	t2 := time.Now()
	h.close()
	*instantiate, *serve, *closing = *instantiate+t1.Sub(t0), *serve+t2.Sub(t1), *closing+time.Since(t2)
	if res[0].Str() != req || strings.Join(log.destroyed, ",") != req+","+req || strings.Join(log.consumed, ",") != "out" {
		return fmt.Errorf("request %s: label %q, destroyed %v, consumed %v", req, res[0].Str(), log.destroyed, log.consumed)
	}
	return nil
}

// BenchmarkComponentHostInstantiate is the cost of a store and an
// instance from a linker built once, closed again.
func BenchmarkComponentHostInstantiate(b *testing.B) {
	th := newTestHost(b)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h, err := th.linker.instantiate(th.comp, &thingLog{}, 0)
		if err != nil {
			b.Fatal(err)
		}
		h.close()
	}
}

// BenchmarkComponentHostCall is the cost of a guest export that calls a
// host function with a string and gets one back (make-label: constructor,
// method, drop; four crossings).
func BenchmarkComponentHostCall(b *testing.B) {
	th := newTestHost(b)
	h := th.instantiate(b)
	defer h.close()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		th.call(b, h, "make-label", valString("x"))
	}
}

// TestNoLeakPerHostInstance: 1,000 cycles of instantiate, calls that
// move resources and lists both ways, and close leave the resident set
// where the warm-up left it; so do 1,000 linkers built and closed.
func TestNoLeakPerHostInstance(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 cycles")
	}
	th := newTestHost(t)
	// The test host's linker holds one handle per definition.
	handles := liveHostHandles.Load()
	payload := bytes.Repeat([]byte("x"), 4096)
	for _, tc := range []struct {
		name  string
		cycle func(t *testing.T)
	}{
		{"instance with calls", func(t *testing.T) {
			h := th.instantiate(t)
			defer h.close()
			th.call(t, h, "handle", h.own(th.thing, &thing{"req"}), h.own(th.thing, &thing{"out"}))
			th.call(t, h, "keep", h.own(th.thing, &thing{"kept"}))
			th.call(t, h, "bytes", valBytes(payload))
			th.call(t, h, "entries", valList(valTuple(valString("k"), valBytes(payload))))
			th.call(t, h, "classify", valVariant("other", valString("x")), valEnum("red"))
			if _, err := h.call(th.exports["classify"], valVariant("other", valString("trap")), valEnum("red")); err == nil {
				t.Fatal("no trap")
			}
		}},
		{"linker built and closed", func(t *testing.T) {
			l := newHostLinker(th.cc)
			l.defineResource(testAPI, "thing", nil)
			l.defineFunc(testAPI, "scalars", func(*hostInstance, []cval, []cval) error { return nil })
			if err := l.build(); err != nil {
				t.Fatal(err)
			}
			l.close()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkRSSFlat(t, tc.cycle)
			if n := liveHostHandles.Load(); n != handles {
				t.Fatalf("%d cgo handles live, %d before the cycles: a finalizer or a close is missing", n, handles)
			}
		})
	}
}

// TestComponentHostHandlesReleased: closing the linker and its instances
// releases every handle given to wasmtime (it calls the finalizers).
func TestComponentHostHandlesReleased(t *testing.T) {
	before := liveHostHandles.Load()
	th := newTestHost(t)
	h := th.instantiate(t)
	th.call(t, h, "make-label", valString("x"))
	if liveHostHandles.Load() == before {
		t.Fatal("no handles while a linker and an instance live")
	}
	th.linker.close()
	// The instance keeps the definitions alive past the linker.
	th.call(t, h, "make-label", valString("y"))
	h.close()
	if n := liveHostHandles.Load(); n != before {
		t.Fatalf("%d handles live after close, %d before", n, before)
	}
}

// FuzzComponentHostText: any Go string and bytes either make the round
// trip through the guest and a host function intact, or are refused
// with an error; wasmtime aborts the process on a string that is not
// UTF-8, so none may reach it.
func FuzzComponentHostText(f *testing.F) {
	for _, s := range []string{"", "content-type", "héllo", "\xff", "a\x00b", "\xed\xa0\x80"} {
		f.Add(s, []byte(s))
	}
	th := newTestHost(f)
	h := th.instantiate(f)
	f.Cleanup(h.close)
	f.Fuzz(func(t *testing.T, s string, b []byte) {
		res, err := h.call(th.exports["entries"], valList(valTuple(valString(s), valBytes(b))))
		if !utf8.ValidString(s) {
			if err == nil || !strings.Contains(err.Error(), "not UTF-8") {
				t.Fatalf("%q: err = %v, want not UTF-8", s, err)
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		kv := res[0].Elems()[0].Elems()
		if kv[0].Str() != strings.ToUpper(s) || !bytes.Equal(kv[1].Bytes(), append(append([]byte{}, b...), '!')) {
			t.Fatalf("%q, %q came back as %q, %q", s, b, kv[0].Str(), kv[1].Bytes())
		}
	})
}

// BenchmarkComponentHostInstantiateFile measures instantiation of the
// component in $COMPONENT_HOST_BENCH_WASM (a wasi:http/proxy component,
// say), its imports defined as traps: the floor of the per-request
// instantiation cost of that component.
func BenchmarkComponentHostInstantiateFile(b *testing.B) {
	path := os.Getenv("COMPONENT_HOST_BENCH_WASM")
	if path == "" {
		b.Skip("set COMPONENT_HOST_BENCH_WASM to a component")
	}
	wasm, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	cc := newComponentCompiler(defaultSettings)
	defer cc.close()
	a, err := cc.compile(wasm)
	if err != nil {
		b.Fatal(err)
	}
	comp := a.(*componentArtifact)
	defer comp.close()
	l := newHostLinker(cc)
	defer l.close()
	if err := l.build(); err != nil {
		b.Fatal(err)
	}
	if err := l.trapUnknownImports(comp); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			h, err := l.instantiate(comp, nil, 0)
			if err != nil {
				b.Error(err)
				return
			}
			h.close()
		}
	})
}

// BenchmarkComponentHostBytes: a list<u8> of each size goes Go -> guest
// -> host function -> guest -> Go (four crossings); the MB/s count the
// bytes of one crossing.
func BenchmarkComponentHostBytes(b *testing.B) {
	th := newTestHost(b)
	for _, size := range []int{4 << 10, 64 << 10, 1 << 20} {
		b.Run(strconv.Itoa(size>>10)+"KiB", func(b *testing.B) {
			h := th.instantiate(b)
			defer h.close()
			in := make([]byte, size)
			b.SetBytes(int64(4 * size))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				th.call(b, h, "bytes", valBytes(in))
			}
		})
	}
}
