package wasip1

import (
	"math"
	"unsafe"

	"golang.org/x/sys/unix"
)

// maxIovs is the kernel's IOV_MAX: more buffers than that are EINVAL.
const maxIovs = 1024

// iovecs turns the guest's iovec array into host iovecs pointing into
// guest memory, in scratch space the host reuses. Each buffer is bounds
// checked; empty ones are dropped.
func (h *Host) iovecs(v view, ptr, n uint32) ([]unix.Iovec, Errno) {
	if n > maxIovs {
		return nil, ErrnoInval
	}
	arr, ok := v.bytes(ptr, n*sizeIovec)
	if !ok {
		return nil, ErrnoFault
	}
	iov := h.iov[:0]
	for i := uint32(0); i < n; i++ {
		buf, _ := view(arr).u32(i * sizeIovec)
		size, _ := view(arr).u32(i*sizeIovec + 4)
		b, ok := v.bytes(buf, size)
		if !ok {
			return nil, ErrnoFault
		}
		if size == 0 {
			continue
		}
		iov = append(iov, unix.Iovec{Base: &b[0], Len: uint64(size)})
	}
	h.iov = iov
	return iov, ErrnoSuccess
}

// vectorIO is readv, writev, preadv or pwritev on guest buffers.
func vectorIO(trap uintptr, fd int, iov []unix.Iovec, off int64) (int, unix.Errno) {
	if len(iov) == 0 {
		return 0, 0
	}
	n, _, e := unix.Syscall6(trap, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)), uintptr(off), 0, 0)
	return int(n), e
}

// streamIO runs a read or write that may block. A descriptor the guest
// sees as blocking waits for readiness in poll(2) when the kernel says
// EAGAIN; one it sees as non-blocking is checked for readiness first if
// the host descriptor itself blocks (a terminal, a pipe we were given).
func streamIO(e *entry, trap uintptr, events int16, iov []unix.Iovec) (int, Errno) {
	if e.flags&fdflagNonblock != 0 && !e.hostNonblock && !readyNow(e.hostFd, events) {
		return 0, ErrnoAgain
	}
	for {
		n, errno := vectorIO(trap, e.hostFd, iov, 0)
		switch {
		case errno == unix.EINTR:
			continue
		case errno == unix.EAGAIN && e.flags&fdflagNonblock == 0:
			timeout := e.rcvTimeo
			if events == unix.POLLOUT {
				timeout = e.sndTimeo
			}
			if errno := waitFdFor(e.hostFd, events, timeout); errno != ErrnoSuccess {
				return 0, errno
			}
			continue
		case errno != 0:
			return 0, errnoOfSys(errno)
		}
		return n, ErrnoSuccess
	}
}

// waitFd blocks in poll(2) until fd has one of events (or an error or
// hang-up, which the retried call then reports).
func waitFd(fd int, events int16) Errno {
	fds := [1]unix.PollFd{{Fd: int32(fd), Events: events}}
	for {
		_, err := unix.Poll(fds[:], -1)
		if err == unix.EINTR {
			continue
		}
		return errnoOf(err)
	}
}

func readyNow(fd int, events int16) bool {
	fds := [1]unix.PollFd{{Fd: int32(fd), Events: events}}
	n, err := unix.Poll(fds[:], 0)
	return err == nil && n > 0
}

func (h *Host) fdRead(v view, a args) Errno {
	return h.vectored(v, a, rightFdRead, unix.SYS_READV, unix.POLLIN)
}

func (h *Host) fdWrite(v view, a args) Errno {
	return h.vectored(v, a, rightFdWrite, unix.SYS_WRITEV, unix.POLLOUT)
}

// vectored is fd_read and fd_write: (fd, iovs, iovs_len, nresult) on the
// fd's current position (or stream), readv or writev by sysno, waiting for
// event on a blocking socket.
func (h *Host) vectored(v view, a args, right uint64, sysno uintptr, event int16) Errno {
	e, errno := h.fds.get(a.i32(0), right)
	if errno != ErrnoSuccess {
		return errno
	}
	iov, errno := h.iovecs(v, a.u32(1), a.u32(2))
	if errno != ErrnoSuccess {
		return errno
	}
	// The count's pointer is checked first: data read or written
	// cannot be taken back.
	if _, ok := v.bytes(a.u32(3), 4); !ok {
		return ErrnoFault
	}
	n, errno := streamIO(e, sysno, event, iov)
	if errno != ErrnoSuccess {
		return errno
	}
	return v.putU32Result(a.u32(3), uint32(n))
}

func (h *Host) fdPread(v view, a args) Errno {
	return h.positioned(v, a, rightFdRead, unix.SYS_PREADV)
}

func (h *Host) fdPwrite(v view, a args) Errno {
	return h.positioned(v, a, rightFdWrite, unix.SYS_PWRITEV)
}

// positioned is fd_pread and fd_pwrite: (fd, iovs, iovs_len, offset, n).
func (h *Host) positioned(v view, a args, right uint64, trap uintptr) Errno {
	e, errno := h.fds.get(a.i32(0), right|rightFdSeek)
	if errno != ErrnoSuccess {
		return errno
	}
	off := a.u64(3)
	if off > math.MaxInt64 {
		return ErrnoInval
	}
	iov, errno := h.iovecs(v, a.u32(1), a.u32(2))
	if errno != ErrnoSuccess {
		return errno
	}
	if _, ok := v.bytes(a.u32(4), 4); !ok {
		return ErrnoFault
	}
	var n int
	for {
		var e2 unix.Errno
		n, e2 = vectorIO(trap, e.hostFd, iov, int64(off))
		if e2 == unix.EINTR {
			continue
		}
		if e2 != 0 {
			return errnoOfSys(e2)
		}
		break
	}
	return v.putU32Result(a.u32(4), uint32(n))
}

func (h *Host) fdSeek(v view, a args) Errno {
	e, errno := h.fds.get(a.i32(0), rightFdSeek)
	if errno != ErrnoSuccess {
		return errno
	}
	var whence int
	switch a.u32(2) {
	case whenceSet:
		whence = unix.SEEK_SET
	case whenceCur:
		whence = unix.SEEK_CUR
	case whenceEnd:
		whence = unix.SEEK_END
	default:
		return ErrnoInval
	}
	if _, ok := v.bytes(a.u32(3), 8); !ok {
		return ErrnoFault
	}
	pos, err := unix.Seek(e.hostFd, int64(a.u64(1)), whence)
	if err != nil {
		return errnoOf(err)
	}
	return v.putU64Result(a.u32(3), uint64(pos))
}

func (h *Host) fdTell(v view, a args) Errno {
	e, errno := h.fds.get(a.i32(0), rightFdTell)
	if errno != ErrnoSuccess {
		return errno
	}
	pos, err := unix.Seek(e.hostFd, 0, unix.SEEK_CUR)
	if err != nil {
		return errnoOf(err)
	}
	return v.putU64Result(a.u32(1), uint64(pos))
}
