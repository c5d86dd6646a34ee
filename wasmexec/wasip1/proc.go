package wasip1

import (
	"io"

	"golang.org/x/sys/unix"
)

// procExit records the status; the trampoline then unwinds the module
// with a trap, and its caller reads the status from Exited. Any u32
// status is kept as given, so a module may exit 126 or 255 as a native
// program can.
func (h *Host) procExit(status uint32) {
	h.exited, h.exitStatus = true, status
}

// procRaise is refused: a module has no signal handlers to run and the
// witx marks the call for removal.
func (h *Host) procRaise(view, args) Errno { return ErrnoNosys }

func (h *Host) schedYield(view, args) Errno {
	unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
	return ErrnoSuccess
}

func (h *Host) randomGet(v view, a args) Errno {
	buf, ok := v.bytes(a.u32(0), a.u32(1))
	if !ok {
		return ErrnoFault
	}
	if _, err := io.ReadFull(h.rand, buf); err != nil {
		return ErrnoIo
	}
	return ErrnoSuccess
}
