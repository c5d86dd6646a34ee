package wasip1

import (
	"bytes"
	"unsafe"

	"golang.org/x/sys/unix"
)

// resolveBeneath keeps every lookup under the directory it starts from:
// the kernel refuses `..` above it, absolute paths and absolute symlinks
// (EXDEV), and /proc's magic links (ELOOP), atomically with the lookup.
const resolveBeneath = unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS

// maxOpenRetries bounds openat2's EAGAIN, which it returns when a rename
// races the lookup.
const maxOpenRetries = 64

// guestPath reads a path argument. A NUL inside it would cut the path
// the kernel sees, so it is refused.
func guestPath(v view, ptr, n uint32) ([]byte, Errno) {
	p, ok := v.bytes(ptr, n)
	if !ok {
		return nil, ErrnoFault
	}
	if bytes.IndexByte(p, 0) >= 0 {
		return nil, ErrnoInval
	}
	return p, ErrnoSuccess
}

// openBeneath opens path under dirfd with openat2, confined. It copies
// the path into the host's scratch buffer to NUL-terminate it, so that
// the call allocates nothing.
func (h *Host) openBeneath(dirfd int, path []byte, flags int, mode uint32) (int, Errno) {
	if len(path) == 0 {
		return -1, ErrnoNoent
	}
	if path[0] == '/' {
		return -1, ErrnoNotcapable
	}
	buf := append(append(h.pathBuf[:0], path...), 0)
	h.pathBuf = buf
	how := unix.OpenHow{Flags: uint64(flags) | unix.O_CLOEXEC, Resolve: resolveBeneath}
	if flags&unix.O_CREAT != 0 {
		// openat2 refuses a mode without O_CREAT.
		how.Mode = uint64(mode)
	}
	for i := 0; ; i++ {
		fd, _, e := unix.Syscall6(unix.SYS_OPENAT2, uintptr(dirfd), uintptr(unsafe.Pointer(&buf[0])),
			uintptr(unsafe.Pointer(&how)), unix.SizeofOpenHow, 0, 0)
		switch {
		case e == 0:
			return int(fd), ErrnoSuccess
		case e == unix.EINTR, e == unix.EAGAIN && i < maxOpenRetries:
			continue
		case e == unix.EXDEV:
			// The lookup tried to leave the directory.
			return -1, ErrnoNotcapable
		}
		return -1, errnoOfSys(e)
	}
}

// at is a path split for the *at calls that act on their last component
// without following it: the parent opened beneath the fd (or the fd
// itself) and the last component's name, trailing slashes kept so the
// kernel checks that it names a directory.
type at struct {
	dirfd int
	base  string
	owned bool
}

func (a at) close() {
	if a.owned {
		unix.Close(a.dirfd)
	}
}

// splitBeneath resolves path's parent under dirfd. A last component of
// "." or ".." is resolved with the parent, so the *at call never sees
// ".." (which would name the directory above the preopen).
func (h *Host) splitBeneath(dirfd int, path []byte) (at, Errno) {
	if len(path) == 0 {
		return at{}, ErrnoNoent
	}
	if path[0] == '/' {
		return at{}, ErrnoNotcapable
	}
	trimmed := bytes.TrimRight(path, "/")
	i := bytes.LastIndexByte(trimmed, '/')
	parent, base := trimmed[:max(i, 0)], string(path[i+1:])
	if last := string(trimmed[i+1:]); last == "." || last == ".." {
		parent, base = trimmed, "."
	}
	if len(parent) == 0 {
		return at{dirfd: dirfd, base: base}, ErrnoSuccess
	}
	fd, errno := h.openBeneath(dirfd, parent, unix.O_PATH|unix.O_DIRECTORY, 0)
	if errno != ErrnoSuccess {
		return at{}, errno
	}
	return at{dirfd: fd, base: base, owned: true}, ErrnoSuccess
}
