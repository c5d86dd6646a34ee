package shim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"sort"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
	"github.com/containerd/log"
)

// A logger is the logging binary of a binary:// (or binary-v2://) stdio
// URI, started as containerd's runc shim starts it (process.NewBinaryIO):
// the URI's path, its query as arguments, an environment of only
// CONTAINER_ID and CONTAINER_NAMESPACE, the container's stdout and stderr
// as its fds 3 and 4, and a readiness pipe as fd 5, which it closes
// (binary://) or writes a byte to and closes (binary-v2://, where the byte
// is required) once it is ready for the container to start.
//
// The shim copies the child's output into the logger's pipes, as it copies
// into fifos: the shim alone knows when the child's last byte has left. A
// stream is handed over when the logger has read every byte of its pipe
// (see loggerPipe.Close), and only then is the exit published; then the
// logger gets loggerExitGrace to exit on its own (it has EOF on both fds),
// SIGTERM (as runc's shim sends, to flush and exit), and SIGKILL after
// loggerTermTimeout. So a client that sees the exit also sees the logger's
// work done.
type logger struct {
	path           string
	cmd            *exec.Cmd
	stdout, stderr *os.File      // our write ends of its fds 3 and 4
	exited         chan struct{} // closed once the logger is reaped
}

const (
	// loggerReadyTimeout bounds the wait for readiness; runc's shim waits
	// forever, which hangs Create on a broken logger.
	loggerReadyTimeout = 10 * time.Second
	// loggerDrainTimeout bounds the wait for a live logger to read what is
	// left in a pipe after the child's last byte.
	loggerDrainTimeout = 10 * time.Second
	loggerExitGrace    = time.Second
	loggerTermTimeout  = 12 * time.Second // runc's binaryIOProcTermTimeout
)

// isLoggerURI reports whether a stdio target names a logging binary.
func isLoggerURI(target string) bool {
	u, err := url.Parse(target)
	return err == nil && (u.Scheme == "binary" || u.Scheme == "binary-v2")
}

// loggerCmd is runc's NewBinaryCmd, with the arguments in a stable order.
func loggerCmd(u *url.URL, id, ns string) *exec.Cmd {
	q := u.Query()
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var args []string
	for _, k := range keys {
		args = append(args, k)
		if len(q[k]) > 0 {
			args = append(args, q[k][0])
		}
	}
	cmd := exec.Command(u.Path, args...)
	cmd.Env = []string{"CONTAINER_ID=" + id, "CONTAINER_NAMESPACE=" + ns}
	return cmd
}

// startLogger starts the logging binary named by target for the process
// id (the container id, or the exec id) and returns once it is ready.
func startLogger(ctx context.Context, target, id string) (*logger, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("parse stdio URI %q: %w", target, err)
	}
	ns, _ := namespaces.Namespace(ctx)
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	closers = append(closers, outR)
	errR, errW, err := os.Pipe()
	if err != nil {
		outW.Close()
		return nil, err
	}
	closers = append(closers, errR)
	readyR, readyW, err := os.Pipe()
	if err != nil {
		outW.Close()
		errW.Close()
		return nil, err
	}
	closers = append(closers, readyR, readyW)

	l := &logger{path: u.Path, cmd: loggerCmd(u, id, ns), stdout: outW, stderr: errW, exited: make(chan struct{})}
	l.cmd.ExtraFiles = []*os.File{outR, errR, readyW}
	if err := l.cmd.Start(); err != nil {
		l.closeWriteEnds()
		return nil, fmt.Errorf("start logging binary %s: %w", u.Path, err)
	}
	go func() {
		err := l.cmd.Wait()
		log.G(ctx).WithFields(log.Fields{"id": id, "logger": u.Path}).WithError(err).Debug("logging binary exited")
		close(l.exited)
	}()
	readyW.Close()
	if err := l.waitReady(ctx, readyR, u.Scheme == "binary-v2"); err != nil {
		l.closeWriteEnds()
		l.kill()
		return nil, err
	}
	log.G(ctx).WithFields(log.Fields{"id": id, "logger": u.Path, "pid": l.cmd.Process.Pid}).Debug("logging binary ready")
	return l, nil
}

// waitReady reads the readiness pipe: a byte, or EOF when the byte is not
// required, means ready.
func (l *logger) waitReady(ctx context.Context, ready *os.File, needByte bool) error {
	deadline := time.Now().Add(loggerReadyTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	wait := time.Until(deadline).Round(time.Second)
	if err := ready.SetReadDeadline(deadline); err != nil {
		return fmt.Errorf("logging binary %s: readiness pipe: %w", l.path, err)
	}
	n, err := ready.Read(make([]byte, 1))
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("logging binary %s did not signal readiness within %s (it must close fd 5, or write a byte to it for binary-v2): %w",
			l.path, wait, errdefs.ErrUnavailable)
	case err != nil && err != io.EOF:
		return fmt.Errorf("read readiness of logging binary %s: %w", l.path, err)
	case n == 0 && needByte:
		return fmt.Errorf("logging binary %s did not call ready (it may have crashed or exited prematurely)", l.path)
	}
	return nil
}

func (l *logger) closeWriteEnds() {
	l.stdout.Close()
	l.stderr.Close()
}

// kill stops a logger that will not be used and reaps it.
func (l *logger) kill() {
	_ = l.cmd.Process.Kill()
	<-l.exited
}

// stop lets the logger finish after its pipes were closed and reaps it.
func (l *logger) stop() {
	select {
	case <-l.exited:
		return
	case <-time.After(loggerExitGrace):
	}
	_ = l.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-l.exited:
		return
	case <-time.After(loggerTermTimeout):
		log.L.WithField("logger", l.path).Warn("logging binary did not exit after SIGTERM, killing it")
		l.kill()
	}
}

// pipe returns the write end for fd 1 or 2, which hands over its stream
// completely when closed.
func (l *logger) pipe(fd int) io.WriteCloser {
	return &loggerPipe{File: [...]*os.File{nil, l.stdout, l.stderr}[fd], l: l}
}

// loggerPipe is our write end of one of the logger's pipes.
type loggerPipe struct {
	*os.File
	l *logger
}

// Close waits until the logger has read everything in the pipe (the
// pipe's byte count, FIONREAD, drops to 0), has exited, or
// loggerDrainTimeout passed; then it closes the write end, which is the
// logger's EOF.
func (p *loggerPipe) Close() error {
	deadline := time.Now().Add(loggerDrainTimeout)
	for p.unread() > 0 && time.Now().Before(deadline) {
		select {
		case <-p.l.exited:
			return p.File.Close()
		case <-time.After(5 * time.Millisecond):
		}
	}
	if n := p.unread(); n > 0 {
		log.L.WithField("logger", p.l.path).Warnf("logging binary left %d bytes unread after %s", n, loggerDrainTimeout)
	}
	return p.File.Close()
}

// unread is the number of bytes still in the pipe.
func (p *loggerPipe) unread() int { return unreadBytes(p.File) }
