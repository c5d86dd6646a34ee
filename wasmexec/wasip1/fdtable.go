package wasip1

import "golang.org/x/sys/unix"

// maxFds bounds the fd table, so that a module opening files in a loop
// gets EMFILE from us before it exhausts the process's descriptors.
const maxFds = 1 << 14

// entry is one open guest fd: a host descriptor owned by the table and
// what the guest may do with it.
type entry struct {
	// hostFd is closed when the guest closes the fd or the host closes.
	hostFd int
	ftype  filetype
	// flags are the WASI fdflags the guest sees. fdflagNonblock is ours:
	// the host descriptor of a socket is always non-blocking and blocking
	// calls wait in poll(2), so that they stay interruptible.
	flags uint16
	// hostNonblock says the host descriptor itself is non-blocking.
	hostNonblock bool
	// rcvTimeo and sndTimeo are a socket's SO_RCVTIMEO and SO_SNDTIMEO
	// in nanoseconds (0: none), which bound our waits in poll(2): the
	// kernel's own apply only to a blocking descriptor.
	rcvTimeo, sndTimeo int64
	rightsBase         uint64
	rightsInh          uint64
	// preopen is the guest path of a preopened directory, "" otherwise.
	preopen string
	// dir caches a directory's entries between fd_readdir calls.
	dir []dirent
}

// fdTable maps guest fds to entries: 0-2 are stdio, then the preopened
// directories, then the preopened sockets, then whatever the guest opens,
// each at the lowest free number as POSIX does.
type fdTable struct {
	entries []*entry
	// free holds closed entries for reuse, so that opening a file in a
	// loop allocates nothing.
	free []*entry
}

// maxFree bounds the entries kept for reuse.
const maxFree = 64

// newEntry makes the entry of a host descriptor from what fstat says it
// is: its rights are those of its type within base, and it inherits inh.
// It takes fd, closing it on failure.
func (t *fdTable) newEntry(fd int, base, inh uint64) (*entry, Errno) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, errnoOf(err)
	}
	var e *entry
	if n := len(t.free); n > 0 {
		e, t.free = t.free[n-1], t.free[:n-1]
		*e = entry{}
	} else {
		e = &entry{}
	}
	e.hostFd, e.ftype = fd, filetypeOfMode(st.Mode)
	if e.ftype == filetypeSocketStream {
		if ty, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TYPE); err == nil && ty == unix.SOCK_DGRAM {
			e.ftype = filetypeSocketDgram
		}
	}
	typeRights := rightsOfType(e.ftype)
	if e.ftype == filetypeCharacterDevice && !isTerminal(fd) {
		// wasi-libc's isatty is "a character device that cannot seek":
		// /dev/null and its kin can seek, so they are no terminals.
		typeRights = rightsFile
	}
	e.rightsBase, e.rightsInh = base&typeRights, inh
	if e.ftype != filetypeDirectory {
		e.rightsInh = 0
	}
	return e, ErrnoSuccess
}

// release closes an entry that is in no slot and keeps it for reuse.
func (t *fdTable) release(e *entry) Errno {
	err := unix.Close(e.hostFd)
	e.dir = nil
	if len(t.free) < maxFree {
		t.free = append(t.free, e)
	}
	return errnoOf(err)
}

// get is the entry of a guest fd that holds every right in need.
func (t *fdTable) get(fd int32, need uint64) (*entry, Errno) {
	if fd < 0 || int(fd) >= len(t.entries) || t.entries[fd] == nil {
		return nil, ErrnoBadf
	}
	e := t.entries[fd]
	if e.rightsBase&need != need {
		return nil, ErrnoNotcapable
	}
	return e, ErrnoSuccess
}

// insert gives e the lowest free guest fd.
func (t *fdTable) insert(e *entry) (int32, Errno) {
	for i, x := range t.entries {
		if x == nil {
			t.entries[i] = e
			return int32(i), ErrnoSuccess
		}
	}
	if len(t.entries) >= maxFds {
		return 0, ErrnoMfile
	}
	t.entries = append(t.entries, e)
	return int32(len(t.entries) - 1), ErrnoSuccess
}

// close closes a guest fd and its host descriptor.
func (t *fdTable) close(fd int32) Errno {
	e, errno := t.get(fd, 0)
	if errno != ErrnoSuccess {
		return errno
	}
	t.entries[fd] = nil
	return t.release(e)
}

// renumber moves from onto to, closing what to held. Both must be open,
// as in wasmtime and wazero.
func (t *fdTable) renumber(from, to int32) Errno {
	src, errno := t.get(from, 0)
	if errno != ErrnoSuccess {
		return errno
	}
	dst, errno := t.get(to, 0)
	if errno != ErrnoSuccess {
		return errno
	}
	if from == to {
		return ErrnoSuccess
	}
	t.entries[to], t.entries[from] = src, nil
	return t.release(dst)
}

// closeAll closes every host descriptor; the table is empty afterwards.
func (t *fdTable) closeAll() {
	for i, e := range t.entries {
		if e != nil {
			unix.Close(e.hostFd)
			t.entries[i] = nil
		}
	}
	t.entries = nil
}

func isTerminal(fd int) bool {
	_, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	return err == nil
}
