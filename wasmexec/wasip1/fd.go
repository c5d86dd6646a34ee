package wasip1

import (
	"math"
	"unsafe"

	"golang.org/x/sys/unix"
)

func (h *Host) fdClose(_ view, a args) Errno {
	return h.fds.close(a.i32(0))
}

func (h *Host) fdRenumber(_ view, a args) Errno {
	return h.fds.renumber(a.i32(0), a.i32(1))
}

func (h *Host) fdAdvise(_ view, a args) Errno {
	e, errno := h.fds.get(a.i32(0), rightFdAdvise)
	if errno != ErrnoSuccess {
		return errno
	}
	// WASI numbers the advice normal, sequential, random, willneed,
	// dontneed, noreuse; Linux swaps sequential and random.
	advice := [...]int{unix.FADV_NORMAL, unix.FADV_SEQUENTIAL, unix.FADV_RANDOM,
		unix.FADV_WILLNEED, unix.FADV_DONTNEED, unix.FADV_NOREUSE}
	n := a.u32(3)
	off, length := a.u64(1), a.u64(2)
	if n >= uint32(len(advice)) || off > math.MaxInt64 || length > math.MaxInt64 {
		return ErrnoInval
	}
	return errnoOf(unix.Fadvise(e.hostFd, int64(off), int64(length), advice[n]))
}

func (h *Host) fdAllocate(_ view, a args) Errno {
	e, errno := h.fds.get(a.i32(0), rightFdAllocate)
	if errno != ErrnoSuccess {
		return errno
	}
	off, length := a.u64(1), a.u64(2)
	if off > math.MaxInt64 || length > math.MaxInt64 || off+length > math.MaxInt64 {
		return ErrnoInval
	}
	if length == 0 {
		return ErrnoInval
	}
	return errnoOf(unix.Fallocate(e.hostFd, 0, int64(off), int64(length)))
}

func (h *Host) fdDatasync(_ view, a args) Errno {
	e, errno := h.fds.get(a.i32(0), rightFdDatasync)
	if errno != ErrnoSuccess {
		return errno
	}
	return errnoOf(unix.Fdatasync(e.hostFd))
}

func (h *Host) fdSync(_ view, a args) Errno {
	e, errno := h.fds.get(a.i32(0), rightFdSync)
	if errno != ErrnoSuccess {
		return errno
	}
	return errnoOf(unix.Fsync(e.hostFd))
}

func (h *Host) fdFdstatGet(v view, a args) Errno {
	e, errno := h.fds.get(a.i32(0), 0)
	if errno != ErrnoSuccess {
		return errno
	}
	out, ok := v.bytes(a.u32(1), sizeFdstat)
	if !ok {
		return ErrnoFault
	}
	clear(out)
	out[0] = byte(e.ftype)
	view(out).putU16(2, e.flags)
	view(out).putU64(8, e.rightsBase)
	view(out).putU64(16, e.rightsInh)
	return ErrnoSuccess
}

// fdFdstatSetFlags changes APPEND and NONBLOCK. NONBLOCK is the guest's
// view only: a socket's host descriptor is always non-blocking, and other
// descriptors are polled before a non-blocking guest reads or writes.
func (h *Host) fdFdstatSetFlags(_ view, a args) Errno {
	e, errno := h.fds.get(a.i32(0), rightFdFdstatSetFlags)
	if errno != ErrnoSuccess {
		return errno
	}
	flags := uint16(a.u32(1))
	if uint32(flags) != a.u32(1) || flags&^(fdflagAppend|fdflagNonblock|fdflagDsync|fdflagRsync|fdflagSync) != 0 {
		return ErrnoInval
	}
	if flags&(fdflagDsync|fdflagRsync|fdflagSync) != 0 {
		// Linux cannot change the synchronous-I/O flags of an open file.
		return ErrnoNotsup
	}
	if flags&fdflagAppend != e.flags&fdflagAppend {
		fl, err := unix.FcntlInt(uintptr(e.hostFd), unix.F_GETFL, 0)
		if err != nil {
			return errnoOf(err)
		}
		fl &^= unix.O_APPEND
		if flags&fdflagAppend != 0 {
			fl |= unix.O_APPEND
		}
		if _, err := unix.FcntlInt(uintptr(e.hostFd), unix.F_SETFL, fl); err != nil {
			return errnoOf(err)
		}
	}
	e.flags = flags
	return ErrnoSuccess
}

// fdFdstatSetRights only ever drops rights.
func (h *Host) fdFdstatSetRights(_ view, a args) Errno {
	e, errno := h.fds.get(a.i32(0), 0)
	if errno != ErrnoSuccess {
		return errno
	}
	base, inh := a.u64(1), a.u64(2)
	if base&^e.rightsBase != 0 || inh&^e.rightsInh != 0 {
		return ErrnoNotcapable
	}
	e.rightsBase, e.rightsInh = base, inh
	return ErrnoSuccess
}

func (h *Host) fdFilestatGet(v view, a args) Errno {
	e, errno := h.fds.get(a.i32(0), rightFdFilestatGet)
	if errno != ErrnoSuccess {
		return errno
	}
	var st unix.Stat_t
	if err := unix.Fstat(e.hostFd, &st); err != nil {
		return errnoOf(err)
	}
	return putFilestat(v, a.u32(1), &st)
}

func putFilestat(v view, ptr uint32, st *unix.Stat_t) Errno {
	out, ok := v.bytes(ptr, sizeFilestat)
	if !ok {
		return ErrnoFault
	}
	clear(out)
	o := view(out)
	o.putU64(0, st.Dev)
	o.putU64(8, st.Ino)
	o.putU8(16, uint8(filetypeOfMode(st.Mode)))
	o.putU64(24, st.Nlink)
	o.putU64(32, uint64(st.Size))
	o.putU64(40, uint64(st.Atim.Nano()))
	o.putU64(48, uint64(st.Mtim.Nano()))
	o.putU64(56, uint64(st.Ctim.Nano()))
	return ErrnoSuccess
}

func (h *Host) fdFilestatSetSize(_ view, a args) Errno {
	e, errno := h.fds.get(a.i32(0), rightFdFilestatSetSize)
	if errno != ErrnoSuccess {
		return errno
	}
	size := a.u64(1)
	if size > math.MaxInt64 {
		return ErrnoInval
	}
	return errnoOf(unix.Ftruncate(e.hostFd, int64(size)))
}

func (h *Host) fdFilestatSetTimes(_ view, a args) Errno {
	e, errno := h.fds.get(a.i32(0), rightFdFilestatSetTimes)
	if errno != ErrnoSuccess {
		return errno
	}
	ts, errno := utimes(a.u64(1), a.u64(2), a.u32(3))
	if errno != ErrnoSuccess {
		return errno
	}
	// futimens: utimensat with a NULL path, which x/sys does not offer.
	_, _, e2 := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(e.hostFd), 0, uintptr(unsafe.Pointer(&ts[0])), 0, 0, 0)
	return errnoOfSys(e2)
}

// utimes turns WASI's times and fstflags into utimensat's pair.
func utimes(atim, mtim uint64, fst uint32) ([2]unix.Timespec, Errno) {
	var ts [2]unix.Timespec
	if fst&^(fstAtim|fstAtimNow|fstMtim|fstMtimNow) != 0 ||
		fst&(fstAtim|fstAtimNow) == fstAtim|fstAtimNow ||
		fst&(fstMtim|fstMtimNow) == fstMtim|fstMtimNow {
		return ts, ErrnoInval
	}
	one := func(t uint64, set, now uint32) unix.Timespec {
		switch {
		case fst&now != 0:
			return unix.Timespec{Nsec: unix.UTIME_NOW}
		case fst&set != 0:
			return unix.NsecToTimespec(int64(t))
		}
		return unix.Timespec{Nsec: unix.UTIME_OMIT}
	}
	ts[0] = one(atim, fstAtim, fstAtimNow)
	ts[1] = one(mtim, fstMtim, fstMtimNow)
	return ts, ErrnoSuccess
}

// fdPrestatGet describes a preopened directory. Every other fd, the
// preopened sockets included, is EBADF: wasi-libc's preopen scan stops at
// the first EBADF and aborts on any other error, so sockets come after
// the directories (see docs/wasip1-host.md).
func (h *Host) fdPrestatGet(v view, a args) Errno {
	e, errno := h.fds.get(a.i32(0), 0)
	if errno != ErrnoSuccess {
		return errno
	}
	if e.preopen == "" {
		return ErrnoBadf
	}
	out, ok := v.bytes(a.u32(1), 8)
	if !ok {
		return ErrnoFault
	}
	clear(out)
	view(out).putU32(4, uint32(len(e.preopen)))
	return ErrnoSuccess
}

func (h *Host) fdPrestatDirName(v view, a args) Errno {
	e, errno := h.fds.get(a.i32(0), 0)
	if errno != ErrnoSuccess {
		return errno
	}
	if e.preopen == "" {
		return ErrnoBadf
	}
	if a.u32(2) < uint32(len(e.preopen)) {
		return ErrnoNametoolong
	}
	out, ok := v.bytes(a.u32(1), uint32(len(e.preopen)))
	if !ok {
		return ErrnoFault
	}
	copy(out, e.preopen)
	return ErrnoSuccess
}
