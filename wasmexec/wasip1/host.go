package wasip1

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"strings"

	"github.com/bytecodealliance/wasmtime-go/v39"
	"golang.org/x/sys/unix"
)

// ModuleName is the import module every call is defined in.
const ModuleName = "wasi_snapshot_preview1"

// Config says what a module may see. Nothing of the host process reaches
// the module unless it is named here. The host duplicates every descriptor
// it is given, so the caller keeps (and closes) its own.
type Config struct {
	// Args is argv, args[0] included.
	Args []string
	// Env holds KEY=VALUE pairs.
	Env []string
	// Stdin, Stdout and Stderr are fds 0-2; nil is /dev/null. Pass a raw
	// descriptor as os.NewFile(uintptr(fd), name).
	Stdin, Stdout, Stderr *os.File
	// Dirs are the preopened directories, fds 3 and up in this order.
	Dirs []Dir
	// Listeners are preopened sockets (listening or connected), given
	// the fds after the directories.
	Listeners []*os.File
	// Clock is the source of clock_time_get and of poll_oneoff's clock
	// subscriptions; nil is the system's clocks.
	Clock Clock
	// Rand is random_get's source; nil is crypto/rand.
	Rand io.Reader
}

// Dir is a preopened directory.
type Dir struct {
	// HostPath is opened when the host is made.
	HostPath string
	// GuestPath is the name the module sees (fd_prestat_dir_name).
	GuestPath string
	// ReadOnly takes every right that changes a file or directory from
	// the preopen and all it opens, and opens files read-only.
	ReadOnly bool
}

// Clock gives the time in nanoseconds.
type Clock interface {
	// Realtime is the time since the Unix epoch.
	Realtime() int64
	// Monotonic never goes back.
	Monotonic() int64
}

// Host is one instance's WASI preview 1: its fd table, args, environment
// and exit status. It serves one instance in one store, from the
// goroutine that calls into the module; it is not safe for concurrent use.
type Host struct {
	store *wasmtime.Store
	// cgo is the C side of the calls Define defines.
	cgo cgoState
	fds fdTable

	args, env  []string
	argsSize   uint32
	envSize    uint32
	clock      Clock
	rand       io.Reader
	exited     bool
	exitStatus uint32
	// scratch space reused by the calls that must not allocate.
	iov        []unix.Iovec
	pathBuf    []byte
	pollFds    []unix.PollFd
	pollSubs   []uint32
	pollClocks []pollClock
	// sa holds the kernel socket address of a socket call.
	sa [unix.SizeofSockaddrAny]byte
	// resolver answers sock_getaddrinfo (addrinfo.go).
	resolver *net.Resolver
}

// New opens what cfg names. Close releases it.
func New(store *wasmtime.Store, cfg Config) (*Host, error) {
	h := &Host{store: store, clock: cfg.Clock, rand: cfg.Rand, resolver: newResolver()}
	if h.clock == nil {
		h.clock = systemClock{}
	}
	if h.rand == nil {
		h.rand = rand.Reader
	}
	var err error
	if h.args, h.argsSize, err = cStrings(cfg.Args); err != nil {
		return nil, fmt.Errorf("args: %w", err)
	}
	if h.env, h.envSize, err = cStrings(cfg.Env); err != nil {
		return nil, fmt.Errorf("env: %w", err)
	}
	if err := h.openAll(cfg); err != nil {
		h.fds.closeAll()
		return nil, err
	}
	return h, nil
}

func (h *Host) openAll(cfg Config) error {
	for i, f := range []*os.File{cfg.Stdin, cfg.Stdout, cfg.Stderr} {
		e, err := stdioEntry(f, i)
		if err != nil {
			return fmt.Errorf("stdio fd %d: %w", i, err)
		}
		h.fds.insert(e)
	}
	for _, d := range cfg.Dirs {
		e, err := dirEntry(d)
		if err != nil {
			return err
		}
		h.fds.insert(e)
	}
	for _, l := range cfg.Listeners {
		e, err := socketEntry(l)
		if err != nil {
			return err
		}
		h.fds.insert(e)
	}
	return nil
}

// cStrings checks strings for the NUL that would cut them and returns
// their size as NUL-terminated C strings.
func cStrings(ss []string) ([]string, uint32, error) {
	var size uint64
	for _, s := range ss {
		if strings.IndexByte(s, 0) >= 0 {
			return nil, 0, fmt.Errorf("%q holds a NUL byte", s)
		}
		size += uint64(len(s)) + 1
	}
	if size > 1<<31 {
		return nil, 0, errors.New("too large")
	}
	return append([]string(nil), ss...), uint32(size), nil
}

// stdioEntry makes fd 0 read-only and 1 and 2 write-only to the guest,
// whatever the descriptor given allows.
func stdioEntry(f *os.File, fd int) (*entry, error) {
	rights := rightsAll &^ rightFdRead
	if fd == 0 {
		rights = rightsAll &^ rightFdWrite
	}
	if f == nil {
		flag := unix.O_RDONLY
		if fd != 0 {
			flag = unix.O_WRONLY
		}
		nfd, err := unix.Open(os.DevNull, flag|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", os.DevNull, err)
		}
		return fileEntry(nfd, rights, 0)
	}
	nfd, err := dupFile(f)
	if err != nil {
		return nil, err
	}
	return fileEntry(nfd, rights, 0)
}

func dirEntry(d Dir) (*entry, error) {
	fd, err := unix.Open(d.HostPath, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("preopen %s: %w", d.HostPath, err)
	}
	rights := rightsAll
	if d.ReadOnly {
		rights &^= rightsWrite
	}
	e, err := fileEntry(fd, rights, rights)
	if err != nil {
		return nil, fmt.Errorf("preopen %s: %w", d.HostPath, err)
	}
	e.preopen = path.Clean("/" + d.GuestPath)
	if d.GuestPath != "" && !strings.HasPrefix(d.GuestPath, "/") {
		e.preopen = path.Clean(d.GuestPath)
	}
	return e, nil
}

func socketEntry(f *os.File) (*entry, error) {
	fd, err := dupFile(f)
	if err != nil {
		return nil, err
	}
	e, err := fileEntry(fd, rightsAll, 0)
	if err != nil {
		return nil, fmt.Errorf("listener %s: %w", f.Name(), err)
	}
	if e.ftype != filetypeSocketStream && e.ftype != filetypeSocketDgram {
		unix.Close(fd)
		return nil, fmt.Errorf("listener %s: not a socket", f.Name())
	}
	// Our copy shares the file description, so this makes the caller's
	// non-blocking too, as Go's net package has it anyway.
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("listener %s: %w", f.Name(), err)
	}
	e.hostNonblock = true
	// The guest sees it non-blocking too, as wasmtime's tcplisten gave
	// it: Go's wasip1 runtime polls only a descriptor that says so, and
	// would otherwise block its only thread in accept. A guest that wants
	// a blocking accept clears the flag (fd_fdstat_set_flags).
	e.flags |= fdflagNonblock
	return e, nil
}

// dupFile duplicates f's descriptor without f.Fd(), which would put a
// non-blocking f into blocking mode.
func dupFile(f *os.File) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return -1, fmt.Errorf("%s: %w", f.Name(), err)
	}
	nfd := -1
	var dupErr error
	err = rc.Control(func(fd uintptr) {
		nfd, dupErr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 3)
	})
	if err == nil {
		err = dupErr
	}
	if err != nil {
		return -1, fmt.Errorf("dup %s: %w", f.Name(), err)
	}
	return nfd, nil
}

// fileEntry is the entry of a descriptor the host was given: as
// fdTable.newEntry, with the flags the descriptor already has.
func fileEntry(fd int, base, inh uint64) (*entry, error) {
	var t fdTable
	e, errno := t.newEntry(fd, base, inh)
	if errno != ErrnoSuccess {
		return nil, fmt.Errorf("fstat: errno %d", errno)
	}
	if fl, err := unix.FcntlInt(uintptr(fd), unix.F_GETFL, 0); err == nil {
		if fl&unix.O_APPEND != 0 {
			e.flags |= fdflagAppend
		}
		e.hostNonblock = fl&unix.O_NONBLOCK != 0
	}
	return e, nil
}

func rightsOfType(t filetype) uint64 {
	switch t {
	case filetypeDirectory:
		return rightsDir
	case filetypeRegularFile:
		return rightsFile
	case filetypeSocketStream, filetypeSocketDgram:
		return rightsSocket
	}
	return rightsStream
}

func filetypeOfMode(mode uint32) filetype {
	switch mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return filetypeDirectory
	case unix.S_IFREG:
		return filetypeRegularFile
	case unix.S_IFLNK:
		return filetypeSymbolicLink
	case unix.S_IFCHR:
		return filetypeCharacterDevice
	case unix.S_IFBLK:
		return filetypeBlockDevice
	case unix.S_IFSOCK:
		return filetypeSocketStream
	}
	return filetypeUnknown
}

// Bind readies the host for inst. The calls resolve the instance's
// "memory" export once, on the first call (from the instance's start
// function if it has one), and read it through that handle from then on;
// Bind makes the next call resolve it again, in case the linker served
// another instance before. A module without a memory export runs, as it
// does under wasmtime's host: only calls that take no pointer work for
// it, the others answer EFAULT.
func (h *Host) Bind(inst *wasmtime.Instance) error {
	h.forgetMemory()
	return nil
}

// Exited reports whether the module called proc_exit, and its status.
// The call that ran the module then returns a trap.
func (h *Host) Exited() (status uint32, ok bool) {
	return h.exitStatus, h.exited
}

// Close closes every descriptor the module holds.
// A call made after Close traps.
func (h *Host) Close() error {
	h.fds.closeAll()
	h.releaseHandle()
	return nil
}

type systemClock struct{}

func (systemClock) Realtime() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_REALTIME, &ts)
	return ts.Nano()
}

func (systemClock) Monotonic() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}
