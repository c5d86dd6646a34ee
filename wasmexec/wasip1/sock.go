package wasip1

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// sockArg is the socket entry of a guest fd: EBADF if none, ENOTSOCK if
// it is not a socket, ENOTCAPABLE without the right.
func (h *Host) sockArg(fd int32, need uint64) (*entry, Errno) {
	e, errno := h.fds.get(fd, 0)
	if errno != ErrnoSuccess {
		return nil, errno
	}
	if e.ftype != filetypeSocketStream && e.ftype != filetypeSocketDgram {
		return nil, ErrnoNotsock
	}
	if e.rightsBase&need != need {
		return nil, ErrnoNotcapable
	}
	return e, ErrnoSuccess
}

// sockAccept takes a connection from a preopened listener. The new
// socket is non-blocking on the host like every socket here; a guest that
// has not asked for NONBLOCK waits in poll(2).
func (h *Host) sockAccept(v view, a args) Errno {
	e, errno := h.sockArg(a.i32(0), rightSockAccept)
	if errno != ErrnoSuccess {
		return errno
	}
	return h.accept(v, e, a.u32(1), a.u32(2))
}

// sockAcceptV1 is WasmEdge's sock_accept of two arguments (fd, ro_fd):
// preview 1's with no flags.
func (h *Host) sockAcceptV1(v view, a args) Errno {
	e, errno := h.sockArg(a.i32(0), rightSockAccept)
	if errno != ErrnoSuccess {
		return errno
	}
	return h.accept(v, e, 0, a.u32(1))
}

// accept takes a connection from e and writes its new fd at out.
func (h *Host) accept(v view, e *entry, flags, out uint32) Errno {
	if flags&^fdflagNonblock != 0 {
		return ErrnoInval
	}
	if _, ok := v.bytes(out, 4); !ok {
		return ErrnoFault
	}
	var nfd int
	for {
		r, _, e2 := unix.Syscall6(unix.SYS_ACCEPT4, uintptr(e.hostFd), 0, 0, unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
		if e2 == unix.EINTR || e2 == unix.ECONNABORTED {
			continue
		}
		if e2 == unix.EAGAIN && e.flags&fdflagNonblock == 0 {
			if errno := waitFdFor(e.hostFd, unix.POLLIN, e.rcvTimeo); errno != ErrnoSuccess {
				return errno
			}
			continue
		}
		if e2 != 0 {
			return errnoOfSys(e2)
		}
		nfd = int(r)
		break
	}
	ne, errno := h.fds.newEntry(nfd, rightsSocket&^rightSockAccept, 0)
	if errno != ErrnoSuccess {
		return errno
	}
	ne.flags, ne.hostNonblock = uint16(flags), true
	gfd, errno := h.fds.insert(ne)
	if errno != ErrnoSuccess {
		h.fds.release(ne)
		return errno
	}
	v.putU32(out, uint32(gfd))
	return ErrnoSuccess
}

// sockRecv is recvmsg(2) into the guest's buffers: (fd, ri_data,
// ri_data_len, ri_flags, ro_datalen, ro_flags).
func (h *Host) sockRecv(v view, a args) Errno {
	e, errno := h.sockArg(a.i32(0), rightFdRead)
	if errno != ErrnoSuccess {
		return errno
	}
	riflags := a.u32(3)
	if riflags&^(riflagRecvPeek|riflagRecvWaitall) != 0 {
		return ErrnoInval
	}
	if _, ok := v.bytes(a.u32(4), 4); !ok {
		return ErrnoFault
	}
	if _, ok := v.bytes(a.u32(5), 2); !ok {
		return ErrnoFault
	}
	iov, errno := h.iovecs(v, a.u32(1), a.u32(2))
	if errno != ErrnoSuccess {
		return errno
	}
	flags := recvFlags(riflags)
	n, msgFlags, _, errno := sockIO(e, unix.SYS_RECVMSG, unix.POLLIN, iov, flags, nil)
	if errno != ErrnoSuccess {
		return errno
	}
	var ro uint16
	if msgFlags&unix.MSG_TRUNC != 0 {
		ro |= roflagDataTruncated
	}
	v.putU32(a.u32(4), uint32(n))
	v.putU16(a.u32(5), ro)
	return ErrnoSuccess
}

// sockSend is sendmsg(2) from the guest's buffers: (fd, si_data,
// si_data_len, si_flags, so_datalen). MSG_NOSIGNAL turns a closed peer
// into EPIPE rather than a signal.
func (h *Host) sockSend(v view, a args) Errno {
	e, errno := h.sockArg(a.i32(0), rightFdWrite)
	if errno != ErrnoSuccess {
		return errno
	}
	if a.u32(3) != 0 {
		return ErrnoInval
	}
	if _, ok := v.bytes(a.u32(4), 4); !ok {
		return ErrnoFault
	}
	iov, errno := h.iovecs(v, a.u32(1), a.u32(2))
	if errno != ErrnoSuccess {
		return errno
	}
	n, _, _, errno := sockIO(e, unix.SYS_SENDMSG, unix.POLLOUT, iov, unix.MSG_NOSIGNAL, nil)
	if errno != ErrnoSuccess {
		return errno
	}
	return v.putU32Result(a.u32(4), uint32(n))
}

// sockIO is recvmsg or sendmsg, waiting in poll(2) for a blocking guest
// (for at most the socket's SO_RCVTIMEO or SO_SNDTIMEO, then EAGAIN as
// Linux answers). name, if not nil, is the peer's address to send to or
// room for the sender's; the kernel's length of it is returned.
func sockIO(e *entry, trap uintptr, events int16, iov []unix.Iovec, flags int, name []byte) (int, int, uint32, Errno) {
	var msg unix.Msghdr
	if len(iov) > 0 {
		msg.Iov = &iov[0]
		msg.SetIovlen(len(iov))
	}
	if len(name) > 0 {
		msg.Name, msg.Namelen = &name[0], uint32(len(name))
	}
	timeout := e.sndTimeo
	if trap == unix.SYS_RECVMSG {
		timeout = e.rcvTimeo
	}
	for {
		n, _, e2 := unix.Syscall(trap, uintptr(e.hostFd), uintptr(unsafe.Pointer(&msg)), uintptr(flags))
		switch {
		case e2 == unix.EINTR:
			continue
		case e2 == unix.EAGAIN && e.flags&fdflagNonblock == 0:
			if errno := waitFdFor(e.hostFd, events, timeout); errno != ErrnoSuccess {
				return 0, 0, 0, errno
			}
			continue
		case e2 != 0:
			return 0, 0, 0, errnoOfSys(e2)
		}
		return int(n), int(msg.Flags), msg.Namelen, ErrnoSuccess
	}
}

// waitFdFor is waitFd for at most timeout nanoseconds (0: no limit); it
// answers EAGAIN when the time is up.
func waitFdFor(fd int, events int16, timeout int64) Errno {
	if timeout <= 0 {
		return waitFd(fd, events)
	}
	fds := [1]unix.PollFd{{Fd: int32(fd), Events: events}}
	n, errno := ppoll(fds[:], timeout, monotonicNow(), systemClock{})
	if errno != ErrnoSuccess {
		return errno
	}
	if n == 0 {
		return ErrnoAgain
	}
	return ErrnoSuccess
}

func monotonicNow() int64 { return systemClock{}.Monotonic() }

func (h *Host) sockShutdown(_ view, a args) Errno {
	e, errno := h.sockArg(a.i32(0), rightSockShutdown)
	if errno != ErrnoSuccess {
		return errno
	}
	var how int
	switch a.u32(1) {
	case sdflagRd:
		how = unix.SHUT_RD
	case sdflagWr:
		how = unix.SHUT_WR
	case sdflagRd | sdflagWr:
		how = unix.SHUT_RDWR
	default:
		return ErrnoInval
	}
	return errnoOf(unix.Shutdown(e.hostFd, how))
}

// recvFlags maps sock_recv's riflags to recvmsg(2)'s flags.
func recvFlags(riflags uint32) int {
	var flags int
	if riflags&riflagRecvPeek != 0 {
		flags |= unix.MSG_PEEK
	}
	if riflags&riflagRecvWaitall != 0 {
		flags |= unix.MSG_WAITALL
	}
	return flags
}
