package wasmexec

// The Go objects behind wasi:io's pollable, input-stream and
// output-stream (the host functions are in wasip2_io.go), and the two
// ready-made streams: one fed by an io.Reader, one writing to an
// io.Writer.

import (
	"errors"
	"io"
	"sync"
)

// p2ChunkMax bounds what one call moves through a stream: a read, a skip
// or a splice takes at most this much, and check-write permits at most
// this much. A list<u8> costs a 32-byte wasmtime value per byte on its
// way across the C API, so this also bounds what one call allocates.
const p2ChunkMax = 64 << 10

// errStreamClosed is the error of an operation on a stream that was
// closed (the guest sees stream-error.closed).
var errStreamClosed = errors.New("stream closed")

// pollSource is the Go object behind a pollable.
type pollSource interface {
	// ready returns a channel that is closed when the source is ready. A
	// ready source stays ready until the guest consumes what made it
	// ready (then it hands out a new channel).
	ready() <-chan struct{}
}

// pollStopper is a pollSource that holds something (a timer) to let go
// of when its last pollable is dropped.
type pollStopper interface {
	pollSource
	stopPolling()
}

// inputStream is the Go object behind an input-stream.
type inputStream interface {
	pollSource
	// read returns up to n bytes available now without blocking (nil,
	// nil if none yet); io.EOF when the stream ended; another error =
	// last-operation-failed.
	read(n uint64) ([]byte, error)
	// blockingRead waits for at least one byte or the end.
	blockingRead(n uint64) ([]byte, error)
	close() error
}

// outputStream is the Go object behind an output-stream.
type outputStream interface {
	pollSource                   // ready when checkWrite would return > 0 or an error
	checkWrite() (uint64, error) // io.EOF or errStreamClosed = closed
	write(p []byte) error        // at most checkWrite() bytes
	flush() error
	blockingFlush() error
	close() error
}

// readyFlag is the ready channel of a source whose readiness comes and
// goes: set closes the channel, clear replaces a closed one. The owner's
// lock guards it.
type readyFlag struct {
	ch  chan struct{}
	set bool
}

func (f *readyFlag) channel() <-chan struct{} {
	if f.ch == nil {
		f.ch = make(chan struct{})
	}
	return f.ch
}

func (f *readyFlag) mark(ready bool) {
	switch {
	case ready && !f.set:
		if f.ch == nil {
			f.ch = make(chan struct{})
		}
		close(f.ch)
		f.set = true
	case !ready && f.set:
		f.ch = make(chan struct{})
		f.set = false
	}
}

// readerStream is an input stream fed by an io.Reader: a goroutine pumps
// the reader into a buffer of at most p2ChunkMax bytes, so a read takes
// what is there without blocking.
type readerStream struct {
	mu      sync.Mutex // guards everything below
	buf     []byte     // read from r, not yet taken by the guest
	err     error      // how r ended (io.EOF or a failure), once buf is drained
	closed  bool
	readyF  readyFlag
	space   chan struct{} // signalled when the guest took bytes or closed
	closeFn func() error
}

// newReaderStream starts pumping r. close (may be nil) runs when the
// stream is closed; it should make a blocked r.Read return (closing a
// body, a pipe), since the pump goroutine ends only when r.Read returns.
func newReaderStream(r io.Reader, close func() error) inputStream {
	s := &readerStream{space: make(chan struct{}, 1), closeFn: close}
	go s.pump(r)
	return s
}

func (s *readerStream) pump(r io.Reader) {
	chunk := make([]byte, p2ChunkMax)
	for {
		s.mu.Lock()
		for len(s.buf) >= p2ChunkMax && !s.closed {
			s.mu.Unlock()
			<-s.space
			s.mu.Lock()
		}
		if s.closed {
			s.mu.Unlock()
			return
		}
		room := p2ChunkMax - len(s.buf)
		s.mu.Unlock()

		n, err := r.Read(chunk[:room])

		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return
		}
		s.buf = append(s.buf, chunk[:n]...)
		if err != nil {
			s.err = err
		}
		s.readyF.mark(len(s.buf) > 0 || s.err != nil)
		s.mu.Unlock()
		if err != nil {
			return
		}
	}
}

func (s *readerStream) ready() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readyF.channel()
}

func (s *readerStream) read(n uint64) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errStreamClosed
	}
	if len(s.buf) == 0 {
		if s.err != nil {
			return nil, s.err
		}
		return nil, nil
	}
	n = min(n, p2ChunkMax, uint64(len(s.buf)))
	out := make([]byte, n)
	copy(out, s.buf)
	s.buf = s.buf[:copy(s.buf, s.buf[n:])]
	s.readyF.mark(len(s.buf) > 0 || s.err != nil)
	select {
	case s.space <- struct{}{}:
	default:
	}
	return out, nil
}

func (s *readerStream) blockingRead(n uint64) ([]byte, error) {
	return blockingRead(s, n)
}

// blockingRead waits on s until a read of n returns bytes or an error.
func blockingRead(s inputStream, n uint64) ([]byte, error) {
	for {
		b, err := s.read(n)
		if len(b) > 0 || err != nil || n == 0 {
			return b, err
		}
		<-s.ready()
	}
}

func (s *readerStream) close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.buf = nil
	s.readyF.mark(true)
	s.mu.Unlock()
	select {
	case s.space <- struct{}{}:
	default:
	}
	if s.closeFn != nil {
		return s.closeFn()
	}
	return nil
}

// writerStream is an output stream whose writes go straight to an
// io.Writer: check-write permits p2ChunkMax, and a write returns when the
// writer has it.
type writerStream struct {
	mu      sync.Mutex // guards w's use and the fields below
	w       io.Writer
	flushFn func() error
	err     error // the failure that ended the stream, or errStreamClosed
}

// alwaysReady is the channel of a source that is always ready.
var alwaysReady = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

// newWriterStream writes to w; flush (may be nil) runs on flush and
// blocking-flush.
func newWriterStream(w io.Writer, flush func() error) outputStream {
	if w == nil {
		w = io.Discard
	}
	return &writerStream{w: w, flushFn: flush}
}

// ready: a writer stream can always take p2ChunkMax, or has failed.
func (s *writerStream) ready() <-chan struct{} { return alwaysReady }

func (s *writerStream) checkWrite() (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return 0, s.err
	}
	return p2ChunkMax, nil
}

func (s *writerStream) write(p []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if len(p) > p2ChunkMax {
		return errWriteTooLarge
	}
	if _, err := s.w.Write(p); err != nil {
		// After a failure the stream is closed to later operations.
		s.err = errStreamClosed
		return err
	}
	return nil
}

// errWriteTooLarge is a write of more than check-write permitted: the
// guest broke the protocol, which traps it.
var errWriteTooLarge = errors.New("write of more than check-write permitted")

func (s *writerStream) flush() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if s.flushFn != nil {
		if err := s.flushFn(); err != nil {
			s.err = errStreamClosed
			return err
		}
	}
	return nil
}

func (s *writerStream) blockingFlush() error { return s.flush() }

func (s *writerStream) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		s.err = errStreamClosed
	}
	return nil
}

// emptyStream is an input stream that has ended: stdin when there is
// none.
type emptyStream struct{}

func (emptyStream) ready() <-chan struct{}              { return alwaysReady }
func (emptyStream) read(uint64) ([]byte, error)         { return nil, io.EOF }
func (emptyStream) blockingRead(uint64) ([]byte, error) { return nil, io.EOF }
func (emptyStream) close() error                        { return nil }
