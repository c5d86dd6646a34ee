package wasmexec

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// waitReady fails t unless c closes within a second.
func waitReady(t *testing.T, what string, c <-chan struct{}) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(time.Second):
		t.Fatalf("%s: not ready after 1s", what)
	}
}

func TestP2ReaderStreamReadiness(t *testing.T) {
	pr, pw := io.Pipe()
	s := newReaderStream(pr, pr.Close)
	defer s.close()
	if isReady(s.ready()) {
		t.Fatal("ready before any data")
	}
	if b, err := s.read(10); b != nil || err != nil {
		t.Fatalf("read with nothing there: %q %v, want nothing and no error", b, err)
	}
	go pw.Write([]byte("abc"))
	waitReady(t, "after a write", s.ready())
	if b, err := s.read(2); string(b) != "ab" || err != nil {
		t.Fatalf("read(2): %q %v", b, err)
	}
	if !isReady(s.ready()) {
		t.Error("not ready with a byte left")
	}
	if b, err := s.read(10); string(b) != "c" || err != nil {
		t.Fatalf("read(10): %q %v", b, err)
	}
	if isReady(s.ready()) {
		t.Error("still ready after the guest took everything")
	}
	pw.Close()
	waitReady(t, "after the end", s.ready())
	if b, err := s.read(10); len(b) != 0 || err != io.EOF {
		t.Fatalf("read at the end: %q %v, want io.EOF", b, err)
	}
	if b, err := s.blockingRead(10); len(b) != 0 || err != io.EOF {
		t.Fatalf("blockingRead at the end: %q %v, want io.EOF", b, err)
	}
}

func TestP2ReaderStreamBlockingRead(t *testing.T) {
	pr, pw := io.Pipe()
	s := newReaderStream(pr, pr.Close)
	defer s.close()
	go func() {
		time.Sleep(20 * time.Millisecond)
		pw.Write([]byte("late"))
	}()
	if b, err := s.blockingRead(100); string(b) != "late" || err != nil {
		t.Fatalf("blockingRead: %q %v", b, err)
	}
	failed := errors.New("the body broke")
	pw.CloseWithError(failed)
	if _, err := s.blockingRead(100); !errors.Is(err, failed) {
		t.Fatalf("blockingRead after a failure: %v, want %v", err, failed)
	}
}

// countingReader hands out as many bytes as asked, forever, and counts.
type countingReader struct{ n atomic.Int64 }

func (r *countingReader) Read(p []byte) (int, error) {
	r.n.Add(int64(len(p)))
	return len(p), nil
}

func TestP2ReaderStreamBoundedBuffer(t *testing.T) {
	src := &countingReader{}
	s := newReaderStream(src, nil)
	defer s.close()
	waitReady(t, "endless source", s.ready())
	time.Sleep(20 * time.Millisecond)
	if n := src.n.Load(); n != p2ChunkMax {
		t.Fatalf("the pump read %d bytes ahead of the guest, want %d", n, p2ChunkMax)
	}
	b, err := s.read(1 << 30)
	if len(b) != p2ChunkMax || err != nil {
		t.Fatalf("read(1 GiB): %d bytes, %v; want %d", len(b), err, p2ChunkMax)
	}
	deadline := time.Now().Add(time.Second)
	for src.n.Load() != 2*p2ChunkMax && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if n := src.n.Load(); n != 2*p2ChunkMax {
		t.Fatalf("after the guest took a chunk, the pump read %d in all, want %d", n, 2*p2ChunkMax)
	}
}

func TestP2ReaderStreamClose(t *testing.T) {
	pr, _ := io.Pipe()
	closes := 0
	s := newReaderStream(pr, func() error { closes++; return pr.Close() })
	if err := s.close(); err != nil {
		t.Fatal(err)
	}
	if err := s.close(); err != nil || closes != 1 {
		t.Fatalf("second close: %v, close func ran %d times", err, closes)
	}
	if !isReady(s.ready()) {
		t.Error("a closed stream is not ready")
	}
	if _, err := s.read(1); !errors.Is(err, errStreamClosed) {
		t.Errorf("read after close: %v, want %v", err, errStreamClosed)
	}
}

// TestP2ReaderStreamNoGoroutineLeak: closing a stream ends its pump,
// whether it waits in Read (the close func unblocks it) or on a full
// buffer.
func TestP2ReaderStreamNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	for i := 0; i < 50; i++ {
		pr, _ := io.Pipe()
		blocked := newReaderStream(pr, pr.Close)
		full := newReaderStream(&countingReader{}, nil)
		waitReady(t, "endless source", full.ready())
		blocked.close()
		full.close()
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines after closing 100 streams, %d before\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestP2WriterStream(t *testing.T) {
	var buf bytes.Buffer
	flushes := 0
	s := newWriterStream(&buf, func() error { flushes++; return nil })
	if n, err := s.checkWrite(); n != p2ChunkMax || err != nil {
		t.Fatalf("checkWrite: %d %v", n, err)
	}
	if !isReady(s.ready()) {
		t.Error("a writer stream is not ready")
	}
	if err := s.write([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	if err := s.write(make([]byte, p2ChunkMax+1)); !errors.Is(err, errWriteTooLarge) {
		t.Errorf("write of a chunk + 1: %v", err)
	}
	if err := s.blockingFlush(); err != nil || flushes != 1 || buf.String() != "hi" {
		t.Errorf("flush: %v, %d flushes, %q written", err, flushes, buf.String())
	}
	s.close()
	if _, err := s.checkWrite(); !errors.Is(err, errStreamClosed) {
		t.Errorf("checkWrite after close: %v", err)
	}
	if err := s.write([]byte("x")); !errors.Is(err, errStreamClosed) || buf.String() != "hi" {
		t.Errorf("write after close: %v, %q written", err, buf.String())
	}

	f := newWriterStream(failingWriter{}, nil)
	if err := f.write([]byte("x")); err == nil || !strings.Contains(err.Error(), "disk on fire") {
		t.Errorf("write to a failing writer: %v", err)
	}
	if _, err := f.checkWrite(); !errors.Is(err, errStreamClosed) {
		t.Errorf("checkWrite after a failed write: %v, want closed", err)
	}
}

// trickleStream permits two bytes at a time, every other check.
type trickleStream struct {
	buf    bytes.Buffer
	checks int
}

func (s *trickleStream) ready() <-chan struct{} { return alwaysReady }
func (s *trickleStream) checkWrite() (uint64, error) {
	s.checks++
	return uint64(2 * (s.checks % 2)), nil
}
func (s *trickleStream) write(p []byte) error {
	if len(p) > 2 {
		return errWriteTooLarge
	}
	s.buf.Write(p)
	return nil
}
func (s *trickleStream) flush() error         { return nil }
func (s *trickleStream) blockingFlush() error { return nil }
func (s *trickleStream) close() error         { return nil }

func TestP2WriteAndFlushFollowsCheckWrite(t *testing.T) {
	s := &trickleStream{}
	if err := writeAndFlush(nil, s, []byte("hello, world")); err != nil {
		t.Fatal(err)
	}
	if s.buf.String() != "hello, world" {
		t.Errorf("wrote %q", s.buf.String())
	}
}

func TestP2Splice(t *testing.T) {
	src := newReaderStream(strings.NewReader("spliced"), nil)
	defer src.close()
	dst := &trickleStream{}
	var got int
	for {
		n, err := spliceOnce(nil, dst, src, math.MaxUint64, true)
		if err != nil {
			if err != io.EOF {
				t.Fatal(err)
			}
			break
		}
		got += n
	}
	if dst.buf.String() != "spliced" || got != 7 {
		t.Errorf("spliced %d bytes: %q", got, dst.buf.String())
	}
}

// chanSource is a pollSource over a channel the test closes.
type chanSource chan struct{}

func (c chanSource) ready() <-chan struct{} { return c }

func TestP2Poll(t *testing.T) {
	if _, err := pollSources(nil, func(block func()) { block() }); err == nil {
		t.Error("poll of no pollables succeeded")
	}
	if _, err := pollSources(make([]pollSource, p2PollMax+1), func(block func()) { block() }); err == nil {
		t.Error("poll of too many pollables succeeded")
	}
	a, b, c := make(chanSource), make(chanSource), make(chanSource)
	close(b)
	waits := 0
	waiting := func(block func()) { waits++; block() }
	if got, err := pollSources([]pollSource{a, b, c, b}, waiting); err != nil || len(got) != 2 || got[0] != 1 || got[1] != 3 {
		t.Errorf("poll with b ready: %v %v, want [1 3]", got, err)
	}
	if waits != 0 {
		t.Errorf("the wait ran %d times for a poll that did not wait", waits)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		close(c)
	}()
	start := time.Now()
	got, err := pollSources([]pollSource{a, c, newTimerSource(p2MonoNow() + uint64(time.Hour))}, waiting)
	if err != nil || len(got) != 1 || got[0] != 1 {
		t.Errorf("poll until c: %v %v, want [1]", got, err)
	}
	if waits != 1 {
		t.Errorf("the wait ran %d times for a poll that waited, want 1", waits)
	}
	if time.Since(start) < 20*time.Millisecond {
		t.Error("poll returned before anything was ready")
	}
}

func TestP2TimerSource(t *testing.T) {
	if !isReady(newTimerSource(0).ready()) {
		t.Error("a past instant is not ready")
	}
	never := newTimerSource(math.MaxUint64)
	if isReady(never.ready()) || never.timer != nil {
		t.Error("the end of time is ready, or holds a timer")
	}
	soon := newTimerSource(p2MonoNow() + uint64(10*time.Millisecond))
	waitReady(t, "10ms timer", soon.ready())
	later := newTimerSource(p2MonoNow() + uint64(time.Hour))
	later.ready()
	later.stopPolling()
	if later.timer.Stop() {
		t.Error("stopPolling left the timer running")
	}
}

// p2GoHost defines wasi:io's interfaces on a linker that is never built,
// to call the host functions from Go with a hostInstance that has a
// table but no store.
type p2GoHost struct {
	w       *p2World
	in, out *resourceType
	funcs   map[string]hostFunc
}

func newP2GoHost(t testing.TB) *p2GoHost {
	t.Helper()
	l := &hostLinker{instances: map[string]*interfaceDefs{}, types: map[uint32]*resourceType{}}
	w := newP2World(l)
	if err := w.defineImports([]string{"wasi:io/error@0.2.0", "wasi:io/poll@0.2.0", "wasi:io/streams@0.2.0"}); err != nil {
		t.Fatal(err)
	}
	g := &p2GoHost{w: w, in: w.resource(p2IOStreams, "input-stream"), out: w.resource(p2IOStreams, "output-stream"),
		funcs: map[string]hostFunc{}}
	for _, d := range l.instances {
		for _, f := range d.funcs {
			g.funcs[f.name] = f.fn
		}
	}
	return g
}

func TestP2StreamErrors(t *testing.T) {
	g := newP2GoHost(t)
	h := &hostInstance{}
	if v := h.streamError(g.w, io.EOF); v.Case() != "closed" {
		t.Errorf("io.EOF: %s", v.Case())
	}
	if v := h.streamError(g.w, errStreamClosed); v.Case() != "closed" {
		t.Errorf("errStreamClosed: %s", v.Case())
	}
	v := h.streamError(g.w, errors.New("broken pipe"))
	p, _ := v.Payload()
	if v.Case() != "last-operation-failed" || p.Resource().typ != g.w.resource(p2IOError, "error") {
		t.Fatalf("a failure: %+v", v)
	}
	r := make([]cval, 1)
	if err := g.funcs["[method]error.to-debug-string"](h, []cval{p}, r); err != nil || r[0].Str() != "broken pipe" {
		t.Errorf("to-debug-string: %v %v", r[0], err)
	}
}

// FuzzP2Streams drives the stream host functions with lengths, byte
// lists and handles as a guest could pass them: a read, skip or splice
// never moves more than p2ChunkMax, a write beyond what check-write
// permits traps, a forged handle is an error, nothing panics, and what
// reaches the output is a prefix of the input, in order.
func FuzzP2Streams(f *testing.F) {
	f.Add([]byte("\x00\x05\x00\x00\x00\x00\x00\x00\x00\x01"), 100)
	f.Add([]byte("\x02\xff\xff\xff\xff\xff\xff\xff\xff\x03\x00\x00\x01\x00\x00\x00\x00\x00"), 70000)
	f.Add([]byte("\x04\x00\x00\x00\x00\x00\x00\x00\x10\x05\x07\x08\x09"), 9)
	f.Fuzz(func(t *testing.T, ops []byte, size int) {
		g := newP2GoHost(t)
		size = min(max(size, 0), 4*p2ChunkMax)
		src := make([]byte, size)
		for i := range src {
			src[i] = byte(i * 7)
		}
		var sink bytes.Buffer
		h := &hostInstance{}
		in := h.own(g.in, newReaderStream(bytes.NewReader(src), nil))
		out := h.own(g.out, newWriterStream(&sink, nil))
		defer h.close()
		var got []byte // what the guest read and passed on
		for len(ops) > 0 {
			op := ops[0]
			ops = ops[1:]
			var n uint64
			if len(ops) >= 8 {
				n = binary.BigEndian.Uint64(ops)
				ops = ops[8:]
			}
			r := make([]cval, 1)
			switch op % 10 {
			case 0, 1: // read, blocking-read
				fn := []string{"[method]input-stream.read", "[method]input-stream.blocking-read"}[op%10]
				if err := g.funcs[fn](h, []cval{in, valU64(n)}, r); err != nil {
					t.Fatalf("%s(%d): %v", fn, n, err)
				}
				if v, _ := r[0].Payload(); r[0].IsOk() {
					b := v.Bytes()
					if uint64(len(b)) > min(n, p2ChunkMax) {
						t.Fatalf("%s(%d) returned %d bytes", fn, n, len(b))
					}
					got = append(got, b...)
					sink.Write(b)
				}
			case 2: // skip: bounded too
				if err := g.funcs["[method]input-stream.skip"](h, []cval{in, valU64(n)}, r); err != nil {
					t.Fatal(err)
				}
				if v, _ := r[0].Payload(); r[0].IsOk() && v.U64() > min(n, p2ChunkMax) {
					t.Fatalf("skip(%d) skipped %d", n, v.U64())
				} else if r[0].IsOk() {
					// Skipped bytes never reach the sink: stop comparing.
					got = nil
					sink.Reset()
					return
				}
			case 3: // write-zeroes: beyond check-write traps
				err := g.funcs["[method]output-stream.write-zeroes"](h, []cval{out, valU64(n)}, r)
				if (err != nil) != (n > p2ChunkMax) {
					t.Fatalf("write-zeroes(%d): %v", n, err)
				}
				if err == nil {
					return // zeroes in the sink: stop comparing
				}
			case 4: // splice
				err := g.funcs["[method]output-stream.splice"](h, []cval{out, in, valU64(n)}, r)
				if err != nil {
					t.Fatal(err)
				}
				if v, _ := r[0].Payload(); r[0].IsOk() {
					if v.U64() > min(n, p2ChunkMax) {
						t.Fatalf("splice(%d) moved %d", n, v.U64())
					}
					got = append(got, sink.Bytes()[len(got):]...)
				}
			case 5: // a forged handle is an error, not a panic
				forged := in
				forged.res.rep = uint32(n)
				if forged.res.rep == in.res.rep {
					continue
				}
				if err := g.funcs["[method]input-stream.read"](h, []cval{forged, valU64(1)}, r); err == nil {
					t.Fatalf("read of forged rep %d succeeded", n)
				}
			case 6: // poll the input's pollable (it always ends: the source is finite)
				if err := g.funcs["[method]input-stream.subscribe"](h, []cval{in}, r); err != nil {
					t.Fatal(err)
				}
				p := r[0]
				if err := g.funcs["poll"](h, []cval{valList(p, p)}, r); err != nil {
					t.Fatal(err)
				}
				if idx := r[0].Elems(); len(idx) != 2 {
					t.Fatalf("poll of a ready pollable twice: %v", idx)
				}
			default: // check-write stays within a chunk
				if err := g.funcs["[method]output-stream.check-write"](h, []cval{out}, r); err != nil {
					t.Fatal(err)
				}
				if v, _ := r[0].Payload(); v.U64() > p2ChunkMax {
					t.Fatalf("check-write permits %d", v.U64())
				}
			}
		}
		if !bytes.Equal(got, src[:len(got)]) || !bytes.Equal(sink.Bytes(), got) {
			t.Fatalf("out of order: read %d bytes, sink %d", len(got), sink.Len())
		}
	})
}

// TestP2StreamLengthBounds: the lengths a guest passes to skip, splice
// and the zero writers are bounded as docs/wasip2-host.md says.
func TestP2StreamLengthBounds(t *testing.T) {
	g := newP2GoHost(t)
	h := &hostInstance{}
	defer h.close()
	in := h.own(g.in, newReaderStream(bytes.NewReader(make([]byte, 4*p2ChunkMax)), nil))
	var sink bytes.Buffer
	out := h.own(g.out, newWriterStream(&sink, nil))
	r := make([]cval, 1)
	call := func(fn string, p ...cval) error { return g.funcs[fn](h, p, r) }

	if err := call("[method]input-stream.blocking-skip", in, valU64(math.MaxUint64)); err != nil {
		t.Fatal(err)
	}
	if v, _ := r[0].Payload(); !r[0].IsOk() || v.U64() == 0 || v.U64() > p2ChunkMax {
		t.Errorf("blocking-skip(2^64-1): %+v, want ok(1..%d)", r[0], p2ChunkMax)
	}
	if err := call("[method]output-stream.blocking-splice", out, in, valU64(math.MaxUint64)); err != nil {
		t.Fatal(err)
	}
	if v, _ := r[0].Payload(); !r[0].IsOk() || v.U64() == 0 || v.U64() > p2ChunkMax || int(v.U64()) != sink.Len() {
		t.Errorf("blocking-splice(2^64-1): %+v, %d bytes in the sink", r[0], sink.Len())
	}
	sink.Reset()
	if err := call("[method]output-stream.write-zeroes", out, valU64(p2ChunkMax)); err != nil || sink.Len() != p2ChunkMax {
		t.Errorf("write-zeroes(64 KiB): %v, %d bytes", err, sink.Len())
	}
	for _, fn := range []string{"[method]output-stream.write-zeroes", "[method]output-stream.blocking-write-zeroes-and-flush"} {
		if err := call(fn, out, valU64(math.MaxUint64)); err == nil {
			t.Errorf("%s(2^64-1) did not trap", fn)
		}
	}
	if err := call("[method]output-stream.write", out, valBytes(make([]byte, p2ChunkMax+1))); err == nil {
		t.Error("write of 64 KiB + 1 did not trap")
	}
}
