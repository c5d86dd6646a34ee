package wasip1

import (
	"golang.org/x/sys/unix"
)

func (h *Host) clockResGet(v view, a args) Errno {
	id, ok := kernelClock(a.u32(0))
	if !ok {
		return ErrnoInval
	}
	var ts unix.Timespec
	if err := unix.ClockGetres(id, &ts); err != nil {
		return errnoOf(err)
	}
	return v.putU64Result(a.u32(1), uint64(ts.Nano()))
}

func (h *Host) clockTimeGet(v view, a args) Errno {
	t, errno := h.now(a.u32(0))
	if errno != ErrnoSuccess {
		return errno
	}
	return v.putU64Result(a.u32(2), uint64(t))
}

// now reads a WASI clock: realtime and monotonic from the host's Clock,
// the CPU-time clocks from the kernel.
func (h *Host) now(id uint32) (int64, Errno) {
	switch id {
	case clockRealtime:
		return h.clock.Realtime(), ErrnoSuccess
	case clockMonotonic:
		return h.clock.Monotonic(), ErrnoSuccess
	}
	kid, ok := kernelClock(id)
	if !ok {
		return 0, ErrnoInval
	}
	var ts unix.Timespec
	if err := unix.ClockGettime(kid, &ts); err != nil {
		return 0, errnoOf(err)
	}
	return ts.Nano(), ErrnoSuccess
}

func kernelClock(id uint32) (int32, bool) {
	switch id {
	case clockRealtime:
		return unix.CLOCK_REALTIME, true
	case clockMonotonic:
		return unix.CLOCK_MONOTONIC, true
	case clockProcessCputimeID:
		return unix.CLOCK_PROCESS_CPUTIME_ID, true
	case clockThreadCputimeID:
		return unix.CLOCK_THREAD_CPUTIME_ID, true
	}
	return 0, false
}
