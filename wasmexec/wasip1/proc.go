package wasip1

import (
	"io"

	"github.com/bytecodealliance/wasmtime-go/v39"
	"golang.org/x/sys/unix"
)

// procExit records the status and unwinds the module with a trap; the
// caller of the module reads the status from Exited. Any u32 status is
// kept as given, so a module may exit 126 or 255 as a native program can.
func (h *Host) procExit(status uint32) *wasmtime.Trap {
	h.exited, h.exitStatus = true, status
	return wasmtime.NewTrap("wasi proc_exit")
}

// procRaise is refused: a module has no signal handlers to run and the
// witx marks the call for removal.
func (h *Host) procRaise(view, []wasmtime.Val) Errno { return ErrnoNosys }

func (h *Host) schedYield(view, []wasmtime.Val) Errno {
	unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
	return ErrnoSuccess
}

func (h *Host) randomGet(v view, a []wasmtime.Val) Errno {
	buf, ok := v.bytes(argU32(a, 0), argU32(a, 1))
	if !ok {
		return ErrnoFault
	}
	if _, err := io.ReadFull(h.rand, buf); err != nil {
		return ErrnoIo
	}
	return ErrnoSuccess
}
