package taskchild

import (
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// ServeGrace bounds how long a Server that got SIGTERM or SIGINT lets
// its requests in flight finish before the child exits anyway: a few
// seconds, well inside Kubernetes' default termination grace period
// (30 s), so that a stopping server is never ended by the kubelet's
// SIGKILL instead of by its own exit.
const ServeGrace = 5 * time.Second

// terminatingSignals end a task the way the kernel's default action would
// end a native process. Pid 1 of a pid namespace gets no default action, so
// without these handlers SIGTERM would be ignored.
var terminatingSignals = []os.Signal{
	syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGTERM,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM,
}

// signals ends the child on a terminating signal with 128+signal, the
// status runc shows for a process the signal killed. It exits from the
// signal goroutine, so a module spinning in a loop without ever calling
// the host still ends at once. While a Server serves, the first SIGTERM
// or SIGINT asks it to stop instead (a graceful stop), and the child
// exits when it has stopped, on the next signal, or when grace has
// passed, whichever comes first.
type signals struct {
	exit  func(status int)
	grace time.Duration

	mu sync.Mutex // guards stop and stopping
	// stop is non-nil while a Server serves; closing it asks it to stop.
	stop chan struct{}
	// stopping is the signal that closed stop, 0 before.
	stopping syscall.Signal
}

// exitOnSignal starts the handling of the terminating signals.
func exitOnSignal() *signals {
	s := &signals{exit: os.Exit, grace: ServeGrace}
	c := make(chan os.Signal, 1)
	signal.Notify(c, terminatingSignals...)
	go func() {
		for sig := range c {
			s.handle(sig.(syscall.Signal))
		}
	}()
	return s
}

func (s *signals) handle(sig syscall.Signal) {
	if s.beginStop(sig) {
		time.AfterFunc(s.grace, func() { s.exit(128 + int(sig)) })
		return
	}
	s.exit(128 + int(sig))
}

// beginStop closes stop for the first SIGTERM or SIGINT of a serving
// Server; false means the signal ends the child now.
func (s *signals) beginStop(sig syscall.Signal) bool {
	if sig != syscall.SIGTERM && sig != syscall.SIGINT {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stop == nil || s.stopping != 0 {
		return false
	}
	s.stopping = sig
	close(s.stop)
	return true
}

// serving makes the next SIGTERM or SIGINT a graceful stop, signalled by
// closing the channel it returns.
func (s *signals) serving() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stop = make(chan struct{})
	return s.stop
}

// stoppedBy is the signal that stopped the Server, 0 if none did.
func (s *signals) stoppedBy() syscall.Signal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopping
}
