package wasip1

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// dirArg is the directory entry a path call starts from, holding need.
func (h *Host) dirArg(fd int32, need uint64) (*entry, Errno) {
	e, errno := h.fds.get(fd, 0)
	if errno != ErrnoSuccess {
		return nil, errno
	}
	if e.ftype != filetypeDirectory {
		return nil, ErrnoNotdir
	}
	if e.rightsBase&need != need {
		return nil, ErrnoNotcapable
	}
	return e, ErrnoSuccess
}

// splitArg is dirArg followed by the split of the path argument at
// (ptr, n) beneath it.
func (h *Host) splitArg(v view, fd int32, need uint64, ptr, n uint32) (at, Errno) {
	d, errno := h.dirArg(fd, need)
	if errno != ErrnoSuccess {
		return at{}, errno
	}
	p, errno := guestPath(v, ptr, n)
	if errno != ErrnoSuccess {
		return at{}, errno
	}
	return h.splitBeneath(d.hostFd, p)
}

func (h *Host) pathOpen(v view, a args) Errno {
	dirflags, oflags, fdflags := a.u32(1), a.u32(4), a.u32(7)
	base, inh := a.u64(5), a.u64(6)
	if oflags&^(oflagCreat|oflagDirectory|oflagExcl|oflagTrunc) != 0 ||
		fdflags&^(fdflagAppend|fdflagDsync|fdflagNonblock|fdflagRsync|fdflagSync) != 0 {
		return ErrnoInval
	}
	need := uint64(rightPathOpen)
	if oflags&oflagCreat != 0 {
		need |= rightPathCreateFile
	}
	if oflags&oflagTrunc != 0 {
		need |= rightPathFilestatSetSize
	}
	d, errno := h.dirArg(a.i32(0), need)
	if errno != ErrnoSuccess {
		return errno
	}
	p, errno := guestPath(v, a.u32(2), a.u32(3))
	if errno != ErrnoSuccess {
		return errno
	}
	if _, ok := v.bytes(a.u32(8), 4); !ok {
		return ErrnoFault
	}
	// A module may ask for any rights; it gets those its directory
	// passes on, and the file is opened for writing only if they allow.
	base &= d.rightsInh
	inh &= d.rightsInh
	flags := openFlags(dirflags, oflags, fdflags, base)
	fd, errno := h.openBeneath(d.hostFd, p, flags, 0o666)
	if errno != ErrnoSuccess {
		return errno
	}
	e, errno := h.fds.newEntry(fd, base, inh)
	if errno != ErrnoSuccess {
		return errno
	}
	e.flags = uint16(fdflags)
	e.hostNonblock = fdflags&fdflagNonblock != 0
	nfd, errno := h.fds.insert(e)
	if errno != ErrnoSuccess {
		h.fds.release(e)
		return errno
	}
	v.putU32(a.u32(8), uint32(nfd))
	return ErrnoSuccess
}

// openFlags are open(2)'s flags for path_open's arguments.
func openFlags(dirflags, oflags, fdflags uint32, base uint64) int {
	flags := unix.O_NOCTTY
	if dirflags&lookupSymlinkFollow == 0 {
		flags |= unix.O_NOFOLLOW
	}
	for _, f := range [...]struct {
		have uint32
		set  int
	}{{oflags & oflagCreat, unix.O_CREAT}, {oflags & oflagDirectory, unix.O_DIRECTORY},
		{oflags & oflagExcl, unix.O_EXCL}, {oflags & oflagTrunc, unix.O_TRUNC},
		{fdflags & fdflagAppend, unix.O_APPEND}, {fdflags & fdflagDsync, unix.O_DSYNC},
		{fdflags & fdflagSync, unix.O_SYNC}, {fdflags & fdflagRsync, unix.O_RSYNC},
		{fdflags & fdflagNonblock, unix.O_NONBLOCK}} {
		if f.have != 0 {
			flags |= f.set
		}
	}
	write := base&(rightFdWrite|rightFdAllocate|rightFdFilestatSetSize) != 0 || oflags&oflagTrunc != 0
	read := base&(rightFdRead|rightFdReaddir) != 0
	switch {
	case !write:
		flags |= unix.O_RDONLY
	case read:
		flags |= unix.O_RDWR
	default:
		flags |= unix.O_WRONLY
	}
	return flags
}

func (h *Host) pathCreateDirectory(v view, a args) Errno {
	p, errno := h.splitArg(v, a.i32(0), rightPathCreateDirectory, a.u32(1), a.u32(2))
	if errno != ErrnoSuccess {
		return errno
	}
	defer p.close()
	return errnoOf(unix.Mkdirat(p.dirfd, p.base, 0o777))
}

func (h *Host) pathRemoveDirectory(v view, a args) Errno {
	p, errno := h.splitArg(v, a.i32(0), rightPathRemoveDirectory, a.u32(1), a.u32(2))
	if errno != ErrnoSuccess {
		return errno
	}
	defer p.close()
	return errnoOf(unix.Unlinkat(p.dirfd, p.base, unix.AT_REMOVEDIR))
}

func (h *Host) pathUnlinkFile(v view, a args) Errno {
	p, errno := h.splitArg(v, a.i32(0), rightPathUnlinkFile, a.u32(1), a.u32(2))
	if errno != ErrnoSuccess {
		return errno
	}
	defer p.close()
	return errnoOf(unix.Unlinkat(p.dirfd, p.base, 0))
}

// pathFilestatGet opens the path itself with O_PATH (the link itself
// without SYMLINK_FOLLOW), confined, and stats that.
func (h *Host) pathFilestatGet(v view, a args) Errno {
	fd, errno := h.openPathArg(v, a, rightPathFilestatGet)
	if errno != ErrnoSuccess {
		return errno
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return errnoOf(err)
	}
	return putFilestat(v, a.u32(4), &st)
}

func (h *Host) pathFilestatSetTimes(v view, a args) Errno {
	ts, errno := utimes(a.u64(4), a.u64(5), a.u32(6))
	if errno != ErrnoSuccess {
		return errno
	}
	fd, errno := h.openPathArg(v, a, rightPathFilestatSetTimes)
	if errno != ErrnoSuccess {
		return errno
	}
	defer unix.Close(fd)
	// utimensat on the O_PATH descriptor itself (AT_EMPTY_PATH), so
	// nothing is looked up again outside the confinement.
	empty := [1]byte{}
	_, _, e := unix.Syscall6(unix.SYS_UTIMENSAT, uintptr(fd), uintptr(unsafe.Pointer(&empty[0])),
		uintptr(unsafe.Pointer(&ts[0])), unix.AT_EMPTY_PATH, 0, 0)
	return errnoOfSys(e)
}

// openPathArg opens (fd, lookupflags, path, path_len) with O_PATH.
func (h *Host) openPathArg(v view, a args, need uint64) (int, Errno) {
	d, errno := h.dirArg(a.i32(0), need)
	if errno != ErrnoSuccess {
		return -1, errno
	}
	p, errno := guestPath(v, a.u32(2), a.u32(3))
	if errno != ErrnoSuccess {
		return -1, errno
	}
	flags := unix.O_PATH
	if a.u32(1)&lookupSymlinkFollow == 0 {
		flags |= unix.O_NOFOLLOW
	}
	return h.openBeneath(d.hostFd, p, flags, 0)
}

// pathLink links without following the source, or, with SYMLINK_FOLLOW,
// links what the confined lookup of the source found.
func (h *Host) pathLink(v view, a args) Errno {
	dst, errno := h.splitArg(v, a.i32(4), rightPathLinkTarget, a.u32(5), a.u32(6))
	if errno != ErrnoSuccess {
		return errno
	}
	defer dst.close()
	if a.u32(1)&lookupSymlinkFollow != 0 {
		d, errno := h.dirArg(a.i32(0), rightPathLinkSource)
		if errno != ErrnoSuccess {
			return errno
		}
		p, errno := guestPath(v, a.u32(2), a.u32(3))
		if errno != ErrnoSuccess {
			return errno
		}
		fd, errno := h.openBeneath(d.hostFd, p, unix.O_PATH, 0)
		if errno != ErrnoSuccess {
			return errno
		}
		defer unix.Close(fd)
		return errnoOf(unix.Linkat(fd, "", dst.dirfd, dst.base, unix.AT_EMPTY_PATH))
	}
	src, errno := h.splitArg(v, a.i32(0), rightPathLinkSource, a.u32(2), a.u32(3))
	if errno != ErrnoSuccess {
		return errno
	}
	defer src.close()
	return errnoOf(unix.Linkat(src.dirfd, src.base, dst.dirfd, dst.base, 0))
}

func (h *Host) pathRename(v view, a args) Errno {
	src, errno := h.splitArg(v, a.i32(0), rightPathRenameSource, a.u32(1), a.u32(2))
	if errno != ErrnoSuccess {
		return errno
	}
	defer src.close()
	dst, errno := h.splitArg(v, a.i32(3), rightPathRenameTarget, a.u32(4), a.u32(5))
	if errno != ErrnoSuccess {
		return errno
	}
	defer dst.close()
	return errnoOf(unix.Renameat(src.dirfd, src.base, dst.dirfd, dst.base))
}

// pathSymlink creates a link whose text is the module's. A later lookup
// through it stays confined; an absolute target is refused outright,
// since it could only ever name the host's root.
func (h *Host) pathSymlink(v view, a args) Errno {
	target, errno := guestPath(v, a.u32(0), a.u32(1))
	if errno != ErrnoSuccess {
		return errno
	}
	if len(target) > 0 && target[0] == '/' {
		return ErrnoNotcapable
	}
	p, errno := h.splitArg(v, a.i32(2), rightPathSymlink, a.u32(3), a.u32(4))
	if errno != ErrnoSuccess {
		return errno
	}
	defer p.close()
	return errnoOf(unix.Symlinkat(string(target), p.dirfd, p.base))
}

func (h *Host) pathReadlink(v view, a args) Errno {
	p, errno := h.splitArg(v, a.i32(0), rightPathReadlink, a.u32(1), a.u32(2))
	if errno != ErrnoSuccess {
		return errno
	}
	defer p.close()
	out, ok := v.bytes(a.u32(3), a.u32(4))
	if !ok {
		return ErrnoFault
	}
	var buf [unix.PathMax]byte
	n, err := unix.Readlinkat(p.dirfd, p.base, buf[:])
	if err != nil {
		return errnoOf(err)
	}
	n = copy(out, buf[:n])
	return v.putU32Result(a.u32(5), uint32(n))
}
