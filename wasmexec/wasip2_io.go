package wasmexec

// wasi:io/error, wasi:io/poll and wasi:io/streams: the host functions,
// which dispatch on the Go interfaces of wasip2_stream.go, so any Go
// object implementing them (a body of wasi:http) is a stream the guest
// can use.

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
)

const (
	p2IOError   = "wasi:io/error"
	p2IOPoll    = "wasi:io/poll"
	p2IOStreams = "wasi:io/streams"
)

// p2PollMax bounds the pollables one poll call waits on (reflect.Select
// takes at most 65536 cases).
const p2PollMax = 1 << 16

func init() {
	registerP2Interface(p2IOError, defineP2Error)
	registerP2Interface(p2IOPoll, defineP2Poll)
	registerP2Interface(p2IOStreams, defineP2Streams)
}

// newPollable hands the guest a new pollable (own) backed by s.
func (h *hostInstance) newPollable(w *p2World, s pollSource) cval {
	return h.own(w.mustResource(p2IOPoll, "pollable"), s)
}

// newInputStream and newOutputStream hand the guest a new stream (own);
// dropping it closes s.
func (h *hostInstance) newInputStream(w *p2World, s inputStream) cval {
	return h.own(w.mustResource(p2IOStreams, "input-stream"), s)
}

func (h *hostInstance) newOutputStream(w *p2World, s outputStream) cval {
	return h.own(w.mustResource(p2IOStreams, "output-stream"), s)
}

// streamError is the stream-error for err: closed for the end of a
// stream (io.EOF, errStreamClosed), else last-operation-failed with an
// own<error> whose debug string is err's message.
func (h *hostInstance) streamError(w *p2World, err error) cval {
	if errors.Is(err, io.EOF) || errors.Is(err, errStreamClosed) {
		return valVariant("closed")
	}
	return valVariant("last-operation-failed", h.own(w.mustResource(p2IOError, "error"), err))
}

func defineP2Error(w *p2World, name string) {
	rt := w.l.defineResource(name, "error", nil)
	w.l.defineFunc(name, "[method]error.to-debug-string", func(h *hostInstance, p, r []cval) error {
		obj, err := h.get(p[0].Resource(), rt)
		if err != nil {
			return err
		}
		// A string crossing into wasmtime must be UTF-8.
		r[0] = valString(strings.ToValidUTF8(obj.(error).Error(), "\uFFFD"))
		return nil
	})
}

func defineP2Poll(w *p2World, name string) {
	rt := w.l.defineResource(name, "pollable", func(h *hostInstance, obj any) error {
		if s, ok := obj.(pollStopper); ok {
			s.stopPolling()
		}
		return nil
	})
	source := func(h *hostInstance, v cval) (pollSource, error) {
		obj, err := h.get(v.Resource(), rt)
		if err != nil {
			return nil, err
		}
		return obj.(pollSource), nil
	}
	w.l.defineFunc(name, "[method]pollable.ready", func(h *hostInstance, p, r []cval) error {
		s, err := source(h, p[0])
		if err != nil {
			return err
		}
		r[0] = valBool(isReady(s.ready()))
		return nil
	})
	w.l.defineFunc(name, "[method]pollable.block", func(h *hostInstance, p, r []cval) error {
		s, err := source(h, p[0])
		if err != nil {
			return err
		}
		if c := s.ready(); !isReady(c) {
			waitFor(h, func() { <-c })
		}
		return nil
	})
	w.l.defineFunc(name, "poll", func(h *hostInstance, p, r []cval) error {
		in := p[0].Elems()
		sources := make([]pollSource, len(in))
		for i, v := range in {
			s, err := source(h, v)
			if err != nil {
				return fmt.Errorf("poll: pollable %d: %w", i, err)
			}
			sources[i] = s
		}
		ready, err := pollSources(sources, func(block func()) { waitFor(h, block) })
		if err != nil {
			return err
		}
		out := make([]cval, len(ready))
		for i, idx := range ready {
			out[i] = valU32(idx)
		}
		r[0] = valList(out...)
		return nil
	})
}

func isReady(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// pollSources waits until at least one of sources is ready and returns
// the indices of those that are; an empty list, or one too long to wait
// on, is an error (a trap, as in wasmtime). When none is ready yet, the
// wait is passed to wait.
func pollSources(sources []pollSource, wait func(block func())) ([]uint32, error) {
	if len(sources) == 0 {
		return nil, errors.New("poll: empty list of pollables")
	}
	if len(sources) > p2PollMax {
		return nil, fmt.Errorf("poll: %d pollables, more than the %d this host waits on", len(sources), p2PollMax)
	}
	chans := make([]<-chan struct{}, len(sources))
	for i, s := range sources {
		chans[i] = s.ready()
	}
	if ready := readyIndices(chans); len(ready) > 0 {
		return ready, nil
	}
	// Wait on each distinct channel once.
	seen := map[<-chan struct{}]bool{}
	cases := make([]reflect.SelectCase, 0, len(chans))
	for _, c := range chans {
		if !seen[c] {
			seen[c] = true
			cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(c)})
		}
	}
	wait(func() { reflect.Select(cases) })
	return readyIndices(chans), nil
}

// readyIndices says which of chans are closed, looking at each distinct
// channel once, so pollables of one source agree.
func readyIndices(chans []<-chan struct{}) []uint32 {
	var ready []uint32
	seen := map[<-chan struct{}]bool{}
	for i, c := range chans {
		r, ok := seen[c]
		if !ok {
			r = isReady(c)
			seen[c] = r
		}
		if r {
			ready = append(ready, uint32(i))
		}
	}
	return ready
}

// p2Streams is what the stream functions share: the world and the types.
type p2Streams struct {
	w                     *p2World
	input, output, errRes *resourceType
}

func defineP2Streams(w *p2World, name string) {
	w.resource(p2IOError, "error")
	w.resource(p2IOPoll, "pollable")
	st := &p2Streams{w: w}
	st.input = w.l.defineResource(name, "input-stream", func(h *hostInstance, obj any) error {
		return obj.(inputStream).close()
	})
	st.output = w.l.defineResource(name, "output-stream", func(h *hostInstance, obj any) error {
		return obj.(outputStream).close()
	})
	for _, f := range []struct {
		name string
		fn   hostFunc
	}{
		{"[method]input-stream.read", onResource(st.input, st.read)},
		{"[method]input-stream.blocking-read", onResource(st.input, st.blockingRead)},
		{"[method]input-stream.skip", onResource(st.input, st.skip)},
		{"[method]input-stream.blocking-skip", onResource(st.input, st.blockingSkip)},
		{"[method]input-stream.subscribe", onResource(st.input, st.subscribeInput)},
		{"[method]output-stream.check-write", onResource(st.output, st.checkWrite)},
		{"[method]output-stream.write", onResource(st.output, st.write)},
		{"[method]output-stream.blocking-write-and-flush", onResource(st.output, st.blockingWriteAndFlush)},
		{"[method]output-stream.flush", onResource(st.output, st.flush)},
		{"[method]output-stream.blocking-flush", onResource(st.output, st.blockingFlush)},
		{"[method]output-stream.subscribe", onResource(st.output, st.subscribeOutput)},
		{"[method]output-stream.write-zeroes", onResource(st.output, st.writeZeroes)},
		{"[method]output-stream.blocking-write-zeroes-and-flush", onResource(st.output, st.blockingWriteZeroesAndFlush)},
		{"[method]output-stream.splice", onResource(st.output, st.splice)},
		{"[method]output-stream.blocking-splice", onResource(st.output, st.blockingSplice)},
	} {
		w.l.defineFunc(name, f.name, f.fn)
	}
}

// chunk cuts a length the guest asked for to what one call moves.
func chunk(n uint64) uint64 { return min(n, p2ChunkMax) }

// readResult is result<list<u8>, stream-error> of a read.
func (st *p2Streams) readResult(h *hostInstance, b []byte, err error) cval {
	if err != nil && len(b) == 0 {
		return valErr(h.streamError(st.w, err))
	}
	return valOk(valBytes(b))
}

// countResult is result<u64, stream-error>.
func (st *p2Streams) countResult(h *hostInstance, n int, err error) cval {
	if err != nil && n == 0 {
		return valErr(h.streamError(st.w, err))
	}
	return valOk(valU64(uint64(n)))
}

// unitResult is result<_, stream-error>.
func (st *p2Streams) unitResult(h *hostInstance, err error) cval {
	if err != nil {
		return valErr(h.streamError(st.w, err))
	}
	return valOk()
}

func (st *p2Streams) read(h *hostInstance, s inputStream, p, r []cval) error {
	b, err := s.read(chunk(p[1].U64()))
	r[0] = st.readResult(h, b, err)
	return nil
}

// readOrWait is a blocking read of up to n bytes, whose wait, if it has
// to wait, is the instance's (waitFor).
func readOrWait(h *hostInstance, s inputStream, n uint64) ([]byte, error) {
	b, err := s.read(n)
	if len(b) > 0 || err != nil || n == 0 {
		return b, err
	}
	waitFor(h, func() { b, err = s.blockingRead(n) })
	return b, err
}

func (st *p2Streams) blockingRead(h *hostInstance, s inputStream, p, r []cval) error {
	b, err := readOrWait(h, s, chunk(p[1].U64()))
	r[0] = st.readResult(h, b, err)
	return nil
}

func (st *p2Streams) skip(h *hostInstance, s inputStream, p, r []cval) error {
	b, err := s.read(chunk(p[1].U64()))
	r[0] = st.countResult(h, len(b), err)
	return nil
}

func (st *p2Streams) blockingSkip(h *hostInstance, s inputStream, p, r []cval) error {
	b, err := readOrWait(h, s, chunk(p[1].U64()))
	r[0] = st.countResult(h, len(b), err)
	return nil
}

func (st *p2Streams) subscribeInput(h *hostInstance, s inputStream, p, r []cval) error {
	r[0] = h.newPollable(st.w, s)
	return nil
}

func (st *p2Streams) subscribeOutput(h *hostInstance, s outputStream, p, r []cval) error {
	r[0] = h.newPollable(st.w, s)
	return nil
}

func (st *p2Streams) checkWrite(h *hostInstance, s outputStream, p, r []cval) error {
	n, err := s.checkWrite()
	if err != nil {
		r[0] = valErr(h.streamError(st.w, err))
		return nil
	}
	r[0] = valOk(valU64(min(n, p2ChunkMax)))
	return nil
}

// permitted checks a write of n bytes against check-write: more than it
// permits breaks the protocol and traps the guest (as in wasmtime); a
// stream that failed or closed answers with its stream-error instead.
func permitted(s outputStream, n uint64) (streamErr, trap error) {
	allowed, err := s.checkWrite()
	if err != nil {
		return err, nil
	}
	if n > min(allowed, p2ChunkMax) {
		return nil, fmt.Errorf("output-stream: a write of %d bytes, but check-write permits %d", n, min(allowed, p2ChunkMax))
	}
	return nil, nil
}

func (st *p2Streams) write(h *hostInstance, s outputStream, p, r []cval) error {
	b := p[1].Bytes()
	serr, trap := permitted(s, uint64(len(b)))
	if trap != nil {
		return trap
	}
	if serr == nil {
		serr = s.write(b)
	}
	r[0] = st.unitResult(h, serr)
	return nil
}

func (st *p2Streams) writeZeroes(h *hostInstance, s outputStream, p, r []cval) error {
	n := p[1].U64()
	serr, trap := permitted(s, n)
	if trap != nil {
		return trap
	}
	if serr == nil {
		serr = s.write(make([]byte, n))
	}
	r[0] = st.unitResult(h, serr)
	return nil
}

// writeAndFlush writes all of b as check-write permits, waiting for the
// stream when it permits nothing, then flushes and waits for the flush.
func writeAndFlush(h *hostInstance, s outputStream, b []byte) error {
	for len(b) > 0 {
		n, err := s.checkWrite()
		if err != nil {
			return err
		}
		if n == 0 {
			waitFor(h, func() { <-s.ready() })
			continue
		}
		k := min(n, uint64(len(b)), p2ChunkMax)
		if err := s.write(b[:k]); err != nil {
			return err
		}
		b = b[k:]
	}
	if err := s.flush(); err != nil {
		return err
	}
	return s.blockingFlush()
}

// blockingLimit bounds the blocking write-and-flush calls. WASI says
// 4096 bytes; wasmtime traps above that. This host takes up to a chunk,
// and traps above it.
func blockingLimit(fn string, n uint64) error {
	if n > p2ChunkMax {
		return fmt.Errorf("output-stream.%s: %d bytes, more than the %d one call may write", fn, n, p2ChunkMax)
	}
	return nil
}

func (st *p2Streams) blockingWriteAndFlush(h *hostInstance, s outputStream, p, r []cval) error {
	b := p[1].Bytes()
	if err := blockingLimit("blocking-write-and-flush", uint64(len(b))); err != nil {
		return err
	}
	r[0] = st.unitResult(h, writeAndFlush(h, s, b))
	return nil
}

func (st *p2Streams) blockingWriteZeroesAndFlush(h *hostInstance, s outputStream, p, r []cval) error {
	n := p[1].U64()
	if err := blockingLimit("blocking-write-zeroes-and-flush", n); err != nil {
		return err
	}
	r[0] = st.unitResult(h, writeAndFlush(h, s, make([]byte, n)))
	return nil
}

func (st *p2Streams) flush(h *hostInstance, s outputStream, p, r []cval) error {
	r[0] = st.unitResult(h, s.flush())
	return nil
}

func (st *p2Streams) blockingFlush(h *hostInstance, s outputStream, p, r []cval) error {
	r[0] = st.unitResult(h, s.blockingFlush())
	return nil
}

func (st *p2Streams) splice(h *hostInstance, dst outputStream, p, r []cval) error {
	return st.doSplice(h, dst, p, r, false)
}

func (st *p2Streams) blockingSplice(h *hostInstance, dst outputStream, p, r []cval) error {
	return st.doSplice(h, dst, p, r, true)
}

// doSplice moves up to len bytes (at most a chunk, at most what the
// destination permits) from src to the stream; blocking waits for the
// destination to permit a write and for src to have a byte or end.
func (st *p2Streams) doSplice(h *hostInstance, dst outputStream, p, r []cval, blocking bool) error {
	src, err := getAs[inputStream](h, p[1], st.input)
	if err != nil {
		return err
	}
	n, serr := spliceOnce(h, dst, src, p[2].U64(), blocking)
	r[0] = st.countResult(h, n, serr)
	return nil
}

// spliceOnce is one splice: it returns the count moved.
func spliceOnce(h *hostInstance, dst outputStream, src inputStream, want uint64, blocking bool) (int, error) {
	var allowed uint64
	for {
		var err error
		if allowed, err = dst.checkWrite(); err != nil {
			return 0, err
		}
		if allowed > 0 || !blocking {
			break
		}
		waitFor(h, func() { <-dst.ready() })
	}
	k := min(want, allowed, p2ChunkMax)
	if k == 0 {
		return 0, nil
	}
	var b []byte
	var err error
	if blocking {
		b, err = readOrWait(h, src, k)
	} else {
		b, err = src.read(k)
	}
	if len(b) == 0 {
		return 0, err
	}
	if werr := dst.write(b); werr != nil {
		return 0, werr
	}
	return len(b), nil
}
