package wasmexec

// The bodies of wasi:http: incoming ones (a request that net/http
// received, a response that the client got) read through a wasi:io
// input-stream, outgoing ones (the response the guest sends, the body of
// its outbound request) written through an output-stream. Bodies stream:
// neither side holds more than a bounded buffer.

import (
	"errors"
	"io"
	"net/http"
	"sync"
	"time"
)

// bodySource is an incoming body: the reader net/http gives, read by the
// guest's input-stream and then, after incoming-body.finish, drained for
// the trailers. Reads are serialized (the stream's pump and the drain may
// overlap for a moment); done is closed when the body ended, with the
// trailers (or the error) set.
type bodySource struct {
	r        io.Reader
	closer   func() error       // stops r (nil: net/http owns it)
	trailers func() http.Header // read after the end; may be nil

	rmu      sync.Mutex // serializes Read: the stream's pump and the drain
	mu       sync.Mutex // guards the fields below
	done     chan struct{}
	ended    bool
	err      error
	trailer  http.Header
	draining bool
}

func newBodySource(r io.Reader, closer func() error, trailers func() http.Header) *bodySource {
	return &bodySource{r: r, closer: closer, trailers: trailers, done: make(chan struct{})}
}

func (b *bodySource) Read(p []byte) (int, error) {
	b.rmu.Lock()
	defer b.rmu.Unlock()
	b.mu.Lock()
	ended, err := b.ended, b.err
	b.mu.Unlock()
	if ended {
		if err != nil {
			return 0, err
		}
		return 0, io.EOF
	}
	n, err := b.r.Read(p)
	if err != nil {
		b.mu.Lock()
		b.end(err)
		b.mu.Unlock()
	}
	return n, err
}

// end records how the body ended; b.mu is held.
func (b *bodySource) end(err error) {
	if b.ended {
		return
	}
	b.ended = true
	if err != io.EOF {
		b.err = err
	} else if b.trailers != nil {
		b.trailer = b.trailers()
	}
	close(b.done)
}

// drain reads the rest of the body in the background (the guest finished
// it without reading it all, and waits for the trailers).
func (b *bodySource) drain() {
	b.mu.Lock()
	if b.ended || b.draining {
		b.mu.Unlock()
		return
	}
	b.draining = true
	b.mu.Unlock()
	go func() {
		buf := make([]byte, 32<<10)
		for {
			if _, err := b.Read(buf); err != nil {
				return
			}
		}
	}()
}

// close gives up on the body: reads end, waiters wake, and the reader
// is stopped on the side (a Read in progress may hold it).
func (b *bodySource) close() {
	b.mu.Lock()
	b.end(errStreamClosed)
	b.mu.Unlock()
	if b.closer != nil {
		go b.closer() //nolint:errcheck // nobody is left to tell
	}
}

// result is how the body ended; call it after done is closed.
func (b *bodySource) result() (http.Header, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.trailer, b.err
}

// maxEarlyBody bounds what a guest may write to a response body before
// it has set the response (response-outparam.set): the host must hold it
// until then. Past it, the stream reports closed. 1 MiB: a whole small
// response fits, and a guest that streams a large one sets the response
// first, as every toolchain's glue does.
const maxEarlyBody = 1 << 20

// bodyChunk is the most a check-write permits at once: the size of the
// pieces that cross the component boundary.
const bodyChunk = 64 << 10

// responseSink is where a response body goes: buffered until the
// response is set, then to net/http's ResponseWriter.
//
// A flush the guest asks for is not a write to the connection at once:
// it is done when the guest is about to wait on anything (sendPending,
// from its p2Context's beforeWait), at the latest lateFlushDelay after
// the flush, and otherwise when the handler returns, where net/http
// writes the whole of a small response in one piece, with its length.
// A hello answered with a flush per write took two writes to the socket
// and chunked encoding; this way it takes one, as a native handler's.
//
// The guest's calls run on the request's goroutine; the late-flush timer
// runs on its own, so everything that touches w holds mu.
type responseSink struct {
	mu      sync.Mutex
	w       http.ResponseWriter
	started bool   // the head went out: writes go to w
	early   []byte // what was written before
	err     error  // a write to w failed (the client went away)
	// pending: the guest flushed what w holds, and it is not sent yet.
	pending bool
	late    *time.Timer // sends what is pending; made on the first flush
	// ended: the handler is returning; w is net/http's again.
	ended bool
	// full: the early buffer overflowed and the stream reported closed;
	// it stays closed.
	full bool
}

// lateFlushDelay bounds how long flushed bytes wait for the guest to
// wait or return: a guest that writes and then computes still streams.
const lateFlushDelay = 2 * time.Millisecond

func (s *responseSink) write(p []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if s.full {
		return errStreamClosed
	}
	if !s.started {
		if len(s.early)+len(p) > maxEarlyBody {
			s.full = true
			return errStreamClosed
		}
		s.early = append(s.early, p...)
		return nil
	}
	return s.send(p)
}

// send writes p to w; s.mu is held.
func (s *responseSink) send(p []byte) error {
	if _, err := s.w.Write(p); err != nil {
		s.err = err
		return err
	}
	return nil
}

// failed is the error a write to the client ended with, if one did.
func (s *responseSink) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// room is what check-write permits; 0 means closed.
func (s *responseSink) room() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.full:
		return 0
	case s.started:
		return bodyChunk
	}
	n := uint64(min(bodyChunk, maxEarlyBody-len(s.early)))
	if n == 0 {
		s.full = true
	}
	return n
}

// flush is the guest's flush: what w holds goes to the client before
// the guest waits, or lateFlushDelay from now.
func (s *responseSink) flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil || !s.started || s.ended || s.pending {
		return s.err
	}
	s.pending = true
	if s.late == nil {
		s.late = time.AfterFunc(lateFlushDelay, s.sendPending)
	} else {
		s.late.Reset(lateFlushDelay)
	}
	return nil
}

// sendPending sends what the guest flushed, if anything waits.
func (s *responseSink) sendPending() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.pending || s.ended || s.err != nil {
		return
	}
	s.pending = false
	if err := http.NewResponseController(s.w).Flush(); err != nil {
		s.err = err
	}
}

// end is called when the handler returns: net/http sends what is left,
// and the timer may no longer touch w.
func (s *responseSink) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended = true
	if s.late != nil {
		s.late.Stop()
	}
}

// start is called once the head is written: what was buffered goes out.
func (s *responseSink) start(w http.ResponseWriter) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.w = w
	s.started = true
	early := s.early
	s.early = nil
	if len(early) == 0 {
		return nil
	}
	return s.send(early)
}

// bodyPipe is the body of an outbound request: the guest writes it, the
// HTTP client reads it on its own goroutine. It holds at most
// bodyPipeSize bytes; a writer that has nothing to do waits on ready.
type bodyPipe struct {
	mu       sync.Mutex // guards everything below
	buf      []byte
	finished bool  // the guest finished the body
	werr     error // the guest gave up on it (dropped without finish)
	rerr     error // the client stopped reading (the request failed)
	trailer  http.Header
	changed  chan struct{} // closed (and replaced) at every change
}

const bodyPipeSize = 256 << 10

func newBodyPipe() *bodyPipe { return &bodyPipe{changed: make(chan struct{})} }

// signal wakes the waiters; p.mu is held.
func (p *bodyPipe) signal() {
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *bodyPipe) Read(b []byte) (int, error) {
	p.mu.Lock()
	for {
		switch {
		case len(p.buf) > 0:
			n := copy(b, p.buf)
			p.buf = p.buf[n:]
			if len(p.buf) == 0 {
				p.buf = nil
			}
			p.signal()
			p.mu.Unlock()
			return n, nil
		case p.werr != nil:
			err := p.werr
			p.mu.Unlock()
			return 0, err
		case p.rerr != nil:
			err := p.rerr
			p.mu.Unlock()
			return 0, err
		case p.finished:
			p.mu.Unlock()
			return 0, io.EOF
		}
		wait := p.changed
		p.mu.Unlock()
		<-wait
		p.mu.Lock()
	}
}

// Close is the client's: it reads no more.
func (p *bodyPipe) Close() error {
	p.closeRead(errStreamClosed)
	return nil
}

func (p *bodyPipe) closeRead(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rerr == nil {
		p.rerr = err
		p.signal()
	}
}

func (p *bodyPipe) room() (uint64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rerr != nil || p.finished || p.werr != nil {
		return 0, errStreamClosed
	}
	return uint64(min(bodyChunk, bodyPipeSize-len(p.buf))), nil
}

func (p *bodyPipe) write(b []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rerr != nil || p.finished || p.werr != nil {
		return errStreamClosed
	}
	if len(p.buf)+len(b) > bodyPipeSize {
		return errors.New("write exceeds check-write")
	}
	p.buf = append(p.buf, b...)
	p.signal()
	return nil
}

// writable is ready when room would be > 0 or an error.
func (p *bodyPipe) writable() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rerr != nil || p.finished || p.werr != nil || len(p.buf) < bodyPipeSize {
		return alwaysReady
	}
	return p.changed
}

// finish ends the body; trailers are sent after it (the client reads
// them once it has read the end).
func (p *bodyPipe) finish(trailer http.Header, into http.Header) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, v := range trailer {
		into[k] = v
	}
	p.finished = true
	p.signal()
}

func (p *bodyPipe) abort(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.finished && p.werr == nil {
		p.werr = err
		p.signal()
	}
}

// outgoingBody is the object behind an outgoing-body: a response's
// (sink) or an outbound request's (pipe). Its output-stream may be taken
// once; finish needs that stream dropped first.
type outgoingBody struct {
	sink *responseSink
	pipe *bodyPipe
	// reqTrailer is the outbound request's Trailer map, which net/http
	// writes after the body.
	reqTrailer http.Header

	streamTaken, streamOpen bool
	finished, aborted       bool
	trailers                *httpFields
	written                 int64
}

// bodyStream is the output-stream of an outgoing body.
type bodyStream struct {
	body   *outgoingBody
	closed bool
}

func (s *bodyStream) ready() <-chan struct{} {
	if s.body.pipe != nil {
		return s.body.pipe.writable()
	}
	return alwaysReady
}

func (s *bodyStream) checkWrite() (uint64, error) {
	if s.closed || s.body.finished || s.body.aborted {
		return 0, errStreamClosed
	}
	if s.body.pipe != nil {
		return s.body.pipe.room()
	}
	if err := s.body.sink.failed(); err != nil {
		return 0, err
	}
	n := s.body.sink.room()
	if n == 0 {
		return 0, errStreamClosed
	}
	return n, nil
}

func (s *bodyStream) write(p []byte) error {
	if s.closed || s.body.finished || s.body.aborted {
		return errStreamClosed
	}
	var err error
	if s.body.pipe != nil {
		err = s.body.pipe.write(p)
	} else {
		err = s.body.sink.write(p)
	}
	if err == nil {
		s.body.written += int64(len(p))
	}
	return err
}

func (s *bodyStream) flush() error {
	if s.body.sink != nil {
		return s.body.sink.flush()
	}
	return nil
}

// blockingFlush: what the pipe holds is the client's to send; what the
// response sink holds goes to the connection now.
func (s *bodyStream) blockingFlush() error { return s.flush() }

func (s *bodyStream) close() error {
	if !s.closed {
		s.closed = true
		s.body.streamOpen = false
	}
	return nil
}
