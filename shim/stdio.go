package shim

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/console"
	"github.com/containerd/errdefs"
	"github.com/containerd/fifo"
	"golang.org/x/sys/unix"
)

// stdio is what containerd asks for a process's streams: fifo paths,
// file:// URIs, or a binary:// URI for stdout (and stderr), and whether the
// process gets a terminal.
type stdio struct {
	stdin, stdout, stderr string
	terminal              bool
}

// processIO connects a task child's fds 0-2 to containerd's streams. Output
// goes through pipes that the shim copies, so that the shim knows when the
// last byte has been handed over and a reader that goes away never kills
// the task with SIGPIPE.
type processIO struct {
	// child holds the ends handed to the child, closed once it started.
	child [3]*os.File

	// The stdin fifo is opened blocking, so reading starts once the
	// client's write end is there, and is read until EOF: the client
	// closed it. CloseIO comes just before that (ctr calls it when its own
	// input ends, then closes the fifo), and is sometimes lost (ctr drops
	// it when input ends before Create returned), so EOF is what ends the
	// child's input; CloseIO only bounds how long we wait for it.
	stdinSrc  io.ReadCloser
	stdinDone chan struct{} // closed when the stdin copy has ended
	stdinOnce sync.Once

	console console.Console
	logger  *logger        // the logging binary of a binary:// URI, or nil
	outputs sync.WaitGroup // stdout and stderr copies
}

const copyBufferSize = 128 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, copyBufferSize); return &b }}

// openIO opens the streams of the process id (the container id for a
// task, or the exec id), which names it to a logging binary.
func openIO(ctx context.Context, id string, s stdio) (_ *processIO, retErr error) {
	pio := &processIO{}
	defer func() {
		if retErr != nil {
			pio.closeChildEnds()
			pio.waitOutput()
			pio.close()
		}
	}()
	// As in runc's shim, stdout's URI decides, and a logging binary takes
	// both streams.
	if isLoggerURI(s.stdout) {
		l, err := startLogger(ctx, s.stdout, id)
		if err != nil {
			return nil, err
		}
		pio.logger = l
	}
	if s.terminal {
		return pio, pio.openTerminal(ctx, s)
	}
	if err := pio.openStdin(ctx, s.stdin); err != nil {
		return nil, fmt.Errorf("open stdin: %w", err)
	}
	for i, path := range []string{s.stdout, s.stderr} {
		if err := pio.openOutput(ctx, i+1, path); err != nil {
			return nil, fmt.Errorf("open %s: %w", [...]string{"stdout", "stderr"}[i], err)
		}
	}
	return pio, nil
}

func (p *processIO) openStdin(ctx context.Context, path string) error {
	if path == "" {
		return p.devNull(0)
	}
	if err := p.openStdinFifo(ctx, path); err != nil {
		return err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	p.child[0] = r
	p.copyStdin(w)
	return nil
}

// openStdinFifo opens the fifo for reading in the background: the open
// completes when the client opens its end, so it must outlive the request
// that asked for it.
func (p *processIO) openStdinFifo(ctx context.Context, path string) error {
	src, err := fifo.OpenFifo(context.WithoutCancel(ctx), path, syscall.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CREAT, 0o700)
	if err != nil {
		return err
	}
	p.stdinSrc = src
	p.stdinDone = make(chan struct{})
	return nil
}

func (p *processIO) copyStdin(dst io.WriteCloser) {
	go func() {
		defer close(p.stdinDone)
		copyStream(dst, p.stdinSrc)
		dst.Close()
	}()
}

func (p *processIO) openOutput(ctx context.Context, fd int, target string) error {
	if target == "" {
		return p.devNull(fd)
	}
	if p.logger != nil {
		return p.pipeOutput(fd, p.logger.pipe(fd))
	}
	dst, err := openOutputTarget(ctx, target)
	if err != nil {
		return err
	}
	if f, ok := dst.(*os.File); ok {
		// A plain file needs no copy: the child appends to it directly.
		p.child[fd] = f
		return nil
	}
	return p.pipeOutput(fd, dst)
}

// pipeOutput gives the child a pipe for fd and copies it to dst.
func (p *processIO) pipeOutput(fd int, dst io.WriteCloser) error {
	r, w, err := os.Pipe()
	if err != nil {
		dst.Close()
		return err
	}
	p.child[fd] = w
	p.copyOutput(r, dst)
	return nil
}

// openOutputTarget opens a fifo path or a file:// URI for writing.
func openOutputTarget(ctx context.Context, target string) (io.WriteCloser, error) {
	u, err := url.Parse(target)
	if err != nil || u.Scheme == "" || u.Scheme == "fifo" {
		return fifo.OpenFifo(ctx, target, syscall.O_WRONLY, 0)
	}
	switch u.Scheme {
	case "file":
		return os.OpenFile(u.Path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	default:
		return nil, fmt.Errorf("stdio URI scheme %q (%s) is not supported yet: %w", u.Scheme, target, errdefs.ErrNotImplemented)
	}
}

func (p *processIO) copyOutput(r io.ReadCloser, dst io.WriteCloser) {
	p.outputs.Add(1)
	go func() {
		defer p.outputs.Done()
		copyStream(dst, r)
		// The reader went away (ctr run -d returned) or failed: keep
		// taking the output, which has nobody to go to now, so that the
		// task never writes into a broken pipe (EPIPE, or SIGPIPE, which
		// ends a Go or C program). runc's shim keeps its fifos open for
		// the same reason.
		copyStream(io.Discard, r)
		r.Close()
		awaitDrained(dst, drainTimeout)
		dst.Close()
	}()
}

// drainTimeout bounds how long the exit waits for a reader to take the
// last output out of its fifo.
const drainTimeout = 2 * time.Second

// awaitDrained waits until the reader has taken everything out of the
// fifo, or timeout. containerd's client cancels a process's IO, closing
// its ends of the fifos, as soon as it has the exit status, so whatever
// is still in a fifo then is lost; reporting the exit only once the fifo
// is empty closes that race. FIONREAD (TIOCINQ on Linux) counts the bytes
// in a pipe from either end. A fifo that nobody has open for reading
// (`ctr run -d` left, nobody attached) will never drain: there is nothing
// to wait for, and waiting would only delay the exit event.
func awaitDrained(w io.Writer, timeout time.Duration) {
	sc, ok := w.(syscall.Conn)
	if !ok {
		return
	}
	deadline := time.Now().Add(timeout)
	for delay := 100 * time.Microsecond; time.Now().Before(deadline); delay = min(2*delay, 20*time.Millisecond) {
		if unreadBytes(sc) == 0 || readerGone(sc) {
			return
		}
		time.Sleep(delay)
	}
}

// readerGone says whether the pipe or fifo that c writes to has no reader
// left: Linux reports POLLERR on the write end then.
func readerGone(c syscall.Conn) bool {
	raw, err := c.SyscallConn()
	if err != nil {
		return false
	}
	gone := false
	_ = raw.Control(func(fd uintptr) {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
		if n, err := unix.Poll(fds, 0); err == nil && n == 1 {
			gone = fds[0].Revents&unix.POLLERR != 0
		}
	})
	return gone
}

// unreadBytes is the number of bytes waiting in a pipe or fifo, asked of
// either end; 0 when the kernel cannot tell.
func unreadBytes(c syscall.Conn) int {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0
	}
	n := 0
	_ = raw.Control(func(fd uintptr) {
		if v, err := unix.IoctlGetInt(int(fd), unix.TIOCINQ); err == nil {
			n = v
		}
	})
	return n
}

func (p *processIO) openTerminal(ctx context.Context, s stdio) error {
	master, slavePath, err := console.NewPty()
	if err != nil {
		return fmt.Errorf("create pty: %w", err)
	}
	p.console = master
	slave, err := os.OpenFile(slavePath, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return fmt.Errorf("open pty %s: %w", slavePath, err)
	}
	p.child = [3]*os.File{slave, slave, slave}
	if s.stdin != "" {
		if err := p.openStdinFifo(ctx, s.stdin); err != nil {
			return fmt.Errorf("open stdin: %w", err)
		}
		p.copyStdin(nopWriteCloser{master})
	}
	if p.logger != nil {
		// A terminal has one stream: the logger's stderr ends at once.
		p.copyOutput(io.NopCloser(master), p.logger.pipe(1))
		return p.logger.pipe(2).Close()
	}
	if s.stdout != "" {
		dst, err := openOutputTarget(ctx, s.stdout)
		if err != nil {
			return fmt.Errorf("open stdout: %w", err)
		}
		p.copyOutput(io.NopCloser(master), dst)
	}
	return nil
}

func (p *processIO) devNull(fd int) error {
	f, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	p.child[fd] = f
	return nil
}

// closeChildEnds drops our copies of the child's fds, so that the child's
// exit is the end of its output.
func (p *processIO) closeChildEnds() {
	closed := map[*os.File]bool{}
	for i, f := range p.child {
		if f != nil && !closed[f] {
			f.Close()
			closed[f] = true
		}
		p.child[i] = nil
	}
}

// stdinGrace is how long CloseIO waits for the client to close the fifo
// before it ends the child's input itself.
const stdinGrace = time.Second

// closeStdin is CloseIO: the child reads what is left in the fifo, then
// EOF when the client closes its end, or after stdinGrace.
func (p *processIO) closeStdin() {
	if p.stdinSrc == nil {
		return
	}
	go func() {
		select {
		case <-p.stdinDone:
		case <-time.After(stdinGrace):
			p.stopStdin()
		}
	}()
}

func (p *processIO) stopStdin() {
	p.stdinOnce.Do(func() { p.stdinSrc.Close() })
}

// waitOutput returns once everything the child wrote has been handed on:
// written into containerd's fifo or the file, or read by the logging
// binary from its pipe (see loggerPipe.Close).
func (p *processIO) waitOutput() {
	p.outputs.Wait()
}

// close releases everything and stops the logging binary; call it after
// waitOutput.
func (p *processIO) close() {
	if p.logger != nil {
		p.logger.stop()
	}
	if p.stdinSrc != nil {
		p.stopStdin()
	}
	if p.console != nil {
		p.console.Close()
	}
}

func (p *processIO) resize(width, height uint32) error {
	if p.console == nil {
		return fmt.Errorf("process has no terminal: %w", errdefs.ErrFailedPrecondition)
	}
	return p.console.Resize(console.WinSize{Width: uint16(width), Height: uint16(height)})
}

func copyStream(dst io.Writer, src io.Reader) {
	buf := bufPool.Get().(*[]byte)
	defer bufPool.Put(buf)
	_, _ = io.CopyBuffer(dst, src, *buf)
}

// nopWriteCloser keeps the pty master open when the stdin copy ends: the
// master is also the output's source.
type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }
