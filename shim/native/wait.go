package native

import (
	"errors"
	"sync"
	"syscall"
)

// proc is one process that runc set up and left to the shim to reap.
type proc struct {
	mu  sync.Mutex // guards pid
	pid int
	// ready is closed once pid is known (or known never to come).
	ready    chan struct{}
	readyOne sync.Once
	done     chan struct{} // closed once the process is reaped
	status   int
	waitOnce sync.Once
}

// newProc is a process whose pid is known (pid > 0) or will be given by
// started.
func newProc(pid int) *proc {
	p := &proc{pid: pid, ready: make(chan struct{}), done: make(chan struct{})}
	if pid > 0 {
		p.started(pid)
	}
	return p
}

// started gives the pid once; later calls change nothing.
func (p *proc) started(pid int) {
	p.readyOne.Do(func() {
		p.mu.Lock()
		p.pid = pid
		p.mu.Unlock()
		close(p.ready)
	})
}

// Pid is the process's pid, 0 before it started.
func (p *proc) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.pid
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Wait reaps the process and returns its status the way runc's shim
// reports one: the exit code, or 128+N when signal N killed it. A process
// that never started reports 255.
func (p *proc) Wait() int {
	p.waitOnce.Do(func() {
		<-p.ready
		p.status = reap(p.Pid())
		close(p.done)
	})
	<-p.done
	return p.status
}

// reap waits for one child by pid; the process is the shim's child because
// the shim is its subreaper.
func reap(pid int) int {
	if pid <= 0 {
		return 255
	}
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(pid, &ws, 0, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return 255
		}
		break
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
