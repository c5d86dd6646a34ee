package wasip1

import (
	"encoding/binary"
	"math"
	"unsafe"

	"golang.org/x/sys/unix"
)

// WasmEdge's socket extension to preview 1 (docs/wasmedge-sockets.md):
// modules written for WasmEdge's networking open, bind, connect and
// listen on sockets of their own. Every socket lives in the network
// namespace the host runs in (the task's), is close-on-exec and
// non-blocking on the host; a guest that has not asked for NONBLOCK waits
// in poll(2), so that a signal always ends the task.

// sockOpen is (af, socktype, ro_fd).
func (h *Host) sockOpen(v view, a args) Errno {
	var domain, typ int
	switch a.u32(0) {
	case afInet4:
		domain = unix.AF_INET
	case afInet6:
		domain = unix.AF_INET6
	case afUnix:
		// A Unix socket reaches the file system by path, outside the
		// preopens: refused, as WasmEdge does unless allowed.
		return ErrnoNosys
	default:
		return ErrnoInval
	}
	switch a.u32(1) {
	case socktypeDgram:
		typ = unix.SOCK_DGRAM
	case socktypeStream:
		typ = unix.SOCK_STREAM
	default:
		return ErrnoInval
	}
	if _, ok := v.bytes(a.u32(2), 4); !ok {
		return ErrnoFault
	}
	fd, err := unix.Socket(domain, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return errnoOf(err)
	}
	e, errno := h.fds.newEntry(fd, rightsSocket, 0)
	if errno != ErrnoSuccess {
		return errno
	}
	e.hostNonblock = true
	gfd, errno := h.fds.insert(e)
	if errno != ErrnoSuccess {
		h.fds.release(e)
		return errno
	}
	v.putU32(a.u32(2), uint32(gfd))
	return ErrnoSuccess
}

// addressRecord is the buffer an address record {u32 buf; u32 buf_len}
// at ptr names, or false if the record or the buffer is outside memory.
func addressRecord(v view, ptr uint32) ([]byte, bool) {
	rec, ok := v.bytes(ptr, sizeAddress)
	if !ok {
		return nil, false
	}
	return v.bytes(binary.LittleEndian.Uint32(rec), binary.LittleEndian.Uint32(rec[4:]))
}

// guestAddr reads the address record at ptr and the port into h.sa as a
// kernel socket address, and returns its length. An address of 4 bytes is
// IPv4, of 16 IPv6; v2 also takes the 128-byte storage form.
func (h *Host) guestAddr(v view, ptr, port uint32, v2 bool) (uint32, Errno) {
	b, ok := addressRecord(v, ptr)
	if !ok {
		return 0, ErrnoFault
	}
	n := uint32(len(b))
	family := afUnspec
	switch {
	case n == 4:
		family = afInet4
	case n == 16:
		family = afInet6
	case n == sizeAddrStorage && v2:
		family = int(binary.LittleEndian.Uint16(b))
		b = b[2:]
		switch family {
		case afInet4:
			b = b[:4]
		case afInet6:
			b = b[:16]
		case afUnix:
			return 0, ErrnoNosys
		default:
			return 0, ErrnoAfnosupport
		}
	default:
		return 0, ErrnoInval
	}
	clear(h.sa[:])
	binary.BigEndian.PutUint16(h.sa[2:], uint16(port))
	if family == afInet4 {
		binary.NativeEndian.PutUint16(h.sa[0:], unix.AF_INET)
		copy(h.sa[4:8], b)
		return unix.SizeofSockaddrInet4, ErrnoSuccess
	}
	binary.NativeEndian.PutUint16(h.sa[0:], unix.AF_INET6)
	copy(h.sa[8:24], b)
	return unix.SizeofSockaddrInet6, ErrnoSuccess
}

// kernelAddr splits the kernel socket address in h.sa into WasmEdge's
// family, address bytes and port; false for a family other than IPv4 and
// IPv6 (or a short address: an unconnected datagram's empty one).
func (h *Host) kernelAddr(n uint32) (family int, addr []byte, port uint32, ok bool) {
	if n < 2 {
		return 0, nil, 0, false
	}
	switch binary.NativeEndian.Uint16(h.sa[0:]) {
	case unix.AF_INET:
		if n < unix.SizeofSockaddrInet4 {
			return 0, nil, 0, false
		}
		return afInet4, h.sa[4:8], uint32(binary.BigEndian.Uint16(h.sa[2:])), true
	case unix.AF_INET6:
		if n < unix.SizeofSockaddrInet6 {
			return 0, nil, 0, false
		}
		return afInet6, h.sa[8:24], uint32(binary.BigEndian.Uint16(h.sa[2:])), true
	}
	return 0, nil, 0, false
}

// sockAddrCall is bind(2) or connect(2) on (fd, addr, port).
func (h *Host) sockAddrCall(v view, a args, trap uintptr, v2 bool) Errno {
	e, errno := h.sockArg(a.i32(0), 0)
	if errno != ErrnoSuccess {
		return errno
	}
	n, errno := h.guestAddr(v, a.u32(1), a.u32(2), v2)
	if errno != ErrnoSuccess {
		return errno
	}
	for {
		_, _, e2 := unix.Syscall(trap, uintptr(e.hostFd), uintptr(unsafe.Pointer(&h.sa[0])), uintptr(n))
		if e2 == unix.EINTR && trap == unix.SYS_BIND {
			continue
		}
		if (e2 == unix.EINPROGRESS || e2 == unix.EINTR) && trap == unix.SYS_CONNECT {
			return finishConnect(e, e2)
		}
		return errnoOfSys(e2)
	}
}

// finishConnect completes a connect(2) that the non-blocking host
// descriptor left in progress: a non-blocking guest gets EINPROGRESS and
// polls, a blocking one waits here and gets the outcome.
func finishConnect(e *entry, e2 unix.Errno) Errno {
	if e.flags&fdflagNonblock != 0 {
		return errnoOfSys(e2)
	}
	if errno := waitFdFor(e.hostFd, unix.POLLOUT, e.sndTimeo); errno != ErrnoSuccess {
		if errno == ErrnoAgain {
			// Linux's answer to a connect that outlives SO_SNDTIMEO.
			return ErrnoInprogress
		}
		return errno
	}
	soerr, err := unix.GetsockoptInt(e.hostFd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err != nil {
		return errnoOf(err)
	}
	return errnoOfSys(unix.Errno(soerr))
}

func (h *Host) sockBindV1(v view, a args) Errno { return h.sockAddrCall(v, a, unix.SYS_BIND, false) }
func (h *Host) sockBindV2(v view, a args) Errno { return h.sockAddrCall(v, a, unix.SYS_BIND, true) }
func (h *Host) sockConnectV1(v view, a args) Errno {
	return h.sockAddrCall(v, a, unix.SYS_CONNECT, false)
}
func (h *Host) sockConnectV2(v view, a args) Errno {
	return h.sockAddrCall(v, a, unix.SYS_CONNECT, true)
}

// sockListen is (fd, backlog).
func (h *Host) sockListen(_ view, a args) Errno {
	e, errno := h.sockArg(a.i32(0), 0)
	if errno != ErrnoSuccess {
		return errno
	}
	return errnoOf(unix.Listen(e.hostFd, int(a.i32(1))))
}

// sockRecvFromV1 is (fd, ri_data, ri_data_len, addr, ri_flags,
// ro_datalen, ro_flags): the sender's address bytes go into the record's
// buffer if they fit; no family, no port.
func (h *Host) sockRecvFromV1(v view, a args) Errno {
	return h.recvFrom(v, a.i32(0), a.u32(1), a.u32(2), a.u32(3), a.u32(4), 0, false, a.u32(5), a.u32(6))
}

// sockRecvFromV2 is (fd, ri_data, ri_data_len, addr, ri_flags, ro_port,
// ro_datalen, ro_flags): the record's buffer is of 4, 16 or 128 bytes
// (the storage form, with the family); the port is written as a u32.
func (h *Host) sockRecvFromV2(v view, a args) Errno {
	return h.recvFrom(v, a.i32(0), a.u32(1), a.u32(2), a.u32(3), a.u32(4), a.u32(5), true, a.u32(6), a.u32(7))
}

func (h *Host) recvFrom(v view, fd int32, riData, riLen, addr, riflags, roPort uint32, v2 bool, roLen, roFlags uint32) Errno {
	e, errno := h.sockArg(fd, rightFdRead)
	if errno != ErrnoSuccess {
		return errno
	}
	if riflags&^(riflagRecvPeek|riflagRecvWaitall) != 0 {
		return ErrnoInval
	}
	// Every out pointer is checked first: data received cannot be
	// taken back.
	out, ok := addressRecord(v, addr)
	if !ok {
		return ErrnoFault
	}
	alen := uint32(len(out))
	if v2 && alen != 4 && alen != 16 && alen != sizeAddrStorage {
		return ErrnoInval
	}
	if _, ok := v.bytes(roLen, 4); !ok {
		return ErrnoFault
	}
	if _, ok := v.bytes(roFlags, 2); !ok {
		return ErrnoFault
	}
	if _, ok := v.bytes(roPort, 4); v2 && !ok {
		return ErrnoFault
	}
	iov, errno := h.iovecs(v, riData, riLen)
	if errno != ErrnoSuccess {
		return errno
	}
	flags := recvFlags(riflags)
	clear(h.sa[:])
	n, msgFlags, namelen, errno := sockIO(e, unix.SYS_RECVMSG, unix.POLLIN, iov, flags, h.sa[:])
	if errno != ErrnoSuccess {
		return errno
	}
	var port uint32
	if family, ip, p, ok := h.kernelAddr(namelen); ok {
		port = p
		switch {
		case v2 && alen == sizeAddrStorage:
			clear(out)
			binary.LittleEndian.PutUint16(out, uint16(family))
			copy(out[2:], ip)
		case int(alen) >= len(ip):
			copy(out, ip)
		}
	}
	var ro uint16
	if msgFlags&unix.MSG_TRUNC != 0 {
		ro |= roflagDataTruncated
	}
	if v2 {
		v.putU32(roPort, port)
	}
	v.putU32(roLen, uint32(n))
	v.putU16(roFlags, ro)
	return ErrnoSuccess
}

// sockSendToV1 is (fd, si_data, si_data_len, addr, port, si_flags,
// so_datalen): the address and port come before the flags.
func (h *Host) sockSendToV1(v view, a args) Errno { return h.sendTo(v, a, false) }
func (h *Host) sockSendToV2(v view, a args) Errno { return h.sendTo(v, a, true) }

func (h *Host) sendTo(v view, a args, v2 bool) Errno {
	e, errno := h.sockArg(a.i32(0), rightFdWrite)
	if errno != ErrnoSuccess {
		return errno
	}
	if a.u32(5) != 0 {
		return ErrnoInval
	}
	if _, ok := v.bytes(a.u32(6), 4); !ok {
		return ErrnoFault
	}
	n, errno := h.guestAddr(v, a.u32(3), a.u32(4), v2)
	if errno != ErrnoSuccess {
		return errno
	}
	iov, errno := h.iovecs(v, a.u32(1), a.u32(2))
	if errno != ErrnoSuccess {
		return errno
	}
	sent, _, _, errno := sockIO(e, unix.SYS_SENDMSG, unix.POLLOUT, iov, unix.MSG_NOSIGNAL, h.sa[:n])
	if errno != ErrnoSuccess {
		return errno
	}
	return v.putU32Result(a.u32(6), uint32(sent))
}

// sockName is getsockname(2) or getpeername(2) into h.sa.
func (h *Host) sockName(fd int32, trap uintptr) (int, []byte, uint32, Errno) {
	e, errno := h.sockArg(fd, 0)
	if errno != ErrnoSuccess {
		return 0, nil, 0, errno
	}
	clear(h.sa[:])
	n := uint32(len(h.sa))
	_, _, e2 := unix.RawSyscall(trap, uintptr(e.hostFd), uintptr(unsafe.Pointer(&h.sa[0])), uintptr(unsafe.Pointer(&n)))
	if e2 != 0 {
		return 0, nil, 0, errnoOfSys(e2)
	}
	family, ip, port, ok := h.kernelAddr(n)
	if !ok {
		return 0, nil, 0, ErrnoAfnosupport
	}
	return family, ip, port, ErrnoSuccess
}

// sockNameV1 is (fd, addr, ro_addr_type, ro_port): the record's buffer
// of 4 or 16 bytes gets the address, ro_addr_type 4 or 6 (WasmEdge's
// values, not the family enum), ro_port the port.
func (h *Host) sockNameV1(v view, a args, trap uintptr) Errno {
	out, ok := addressRecord(v, a.u32(1))
	if !ok {
		return ErrnoFault
	}
	blen := uint32(len(out))
	if blen != 4 && blen != 16 {
		return ErrnoInval
	}
	if _, ok := v.bytes(a.u32(2), 4); !ok {
		return ErrnoFault
	}
	if _, ok := v.bytes(a.u32(3), 4); !ok {
		return ErrnoFault
	}
	family, ip, port, errno := h.sockName(a.i32(0), trap)
	if errno != ErrnoSuccess {
		return errno
	}
	if len(ip) > len(out) {
		return ErrnoNomem
	}
	copy(out, ip)
	kind := uint32(4)
	if family == afInet6 {
		kind = 6
	}
	v.putU32(a.u32(2), kind)
	v.putU32(a.u32(3), port)
	return ErrnoSuccess
}

// sockNameV2 is (fd, addr, ro_port): the record's buffer is the 128-byte
// storage form.
func (h *Host) sockNameV2(v view, a args, trap uintptr) Errno {
	out, ok := addressRecord(v, a.u32(1))
	if !ok {
		return ErrnoFault
	}
	blen := uint32(len(out))
	if blen != sizeAddrStorage {
		return ErrnoInval
	}
	if _, ok := v.bytes(a.u32(2), 4); !ok {
		return ErrnoFault
	}
	family, ip, port, errno := h.sockName(a.i32(0), trap)
	if errno != ErrnoSuccess {
		return errno
	}
	clear(out)
	binary.LittleEndian.PutUint16(out, uint16(family))
	copy(out[2:], ip)
	v.putU32(a.u32(2), port)
	return ErrnoSuccess
}

func (h *Host) sockGetLocalAddrV1(v view, a args) Errno {
	return h.sockNameV1(v, a, unix.SYS_GETSOCKNAME)
}
func (h *Host) sockGetLocalAddrV2(v view, a args) Errno {
	return h.sockNameV2(v, a, unix.SYS_GETSOCKNAME)
}
func (h *Host) sockGetPeerAddrV1(v view, a args) Errno {
	return h.sockNameV1(v, a, unix.SYS_GETPEERNAME)
}
func (h *Host) sockGetPeerAddrV2(v view, a args) Errno {
	return h.sockNameV2(v, a, unix.SYS_GETPEERNAME)
}

// intOptions are the options whose value is an i32, by WasmEdge's name.
var intOptions = map[uint32]int{
	soReuseaddr:  unix.SO_REUSEADDR,
	soType:       unix.SO_TYPE,
	soError:      unix.SO_ERROR,
	soDontroute:  unix.SO_DONTROUTE,
	soBroadcast:  unix.SO_BROADCAST,
	soSndbuf:     unix.SO_SNDBUF,
	soRcvbuf:     unix.SO_RCVBUF,
	soKeepalive:  unix.SO_KEEPALIVE,
	soOobinline:  unix.SO_OOBINLINE,
	soRcvlowat:   unix.SO_RCVLOWAT,
	soAcceptconn: unix.SO_ACCEPTCONN,
}

// sockGetsockopt is (fd, level, name, optval, optlen): optlen holds the
// buffer's size and gets the value's, which is cut to the buffer as
// Linux does.
func (h *Host) sockGetsockopt(v view, a args) Errno {
	e, errno := h.sockArg(a.i32(0), 0)
	if errno != ErrnoSuccess {
		return errno
	}
	if a.u32(1) != solSocket {
		return ErrnoInval
	}
	capacity, ok := v.u32(a.u32(4))
	if !ok {
		return ErrnoFault
	}
	var val [16]byte
	size := 4
	name := a.u32(2)
	switch name {
	case soLinger:
		l, err := unix.GetsockoptLinger(e.hostFd, unix.SOL_SOCKET, unix.SO_LINGER)
		if err != nil {
			return errnoOf(err)
		}
		binary.LittleEndian.PutUint32(val[0:], uint32(l.Onoff))
		binary.LittleEndian.PutUint32(val[4:], uint32(l.Linger))
		size = 8
	case soRcvtimeo, soSndtimeo:
		t := e.rcvTimeo
		if name == soSndtimeo {
			t = e.sndTimeo
		}
		binary.LittleEndian.PutUint64(val[0:], uint64(t/1e9))
		binary.LittleEndian.PutUint64(val[8:], uint64(t%1e9/1e3))
		size = 16
	case soBindtodevice:
		return ErrnoNotsup
	default:
		opt, known := intOptions[name]
		if !known {
			return ErrnoInval
		}
		x, err := unix.GetsockoptInt(e.hostFd, unix.SOL_SOCKET, opt)
		if err != nil {
			return errnoOf(err)
		}
		switch name {
		case soType:
			x = socktypeStream
			if e.ftype == filetypeSocketDgram {
				x = socktypeDgram
			}
		case soError:
			x = int(errnoOfSys(unix.Errno(x)))
		}
		binary.LittleEndian.PutUint32(val[0:], uint32(x))
	}
	n := min(uint32(size), capacity)
	out, ok := v.bytes(a.u32(3), n)
	if !ok {
		return ErrnoFault
	}
	copy(out, val[:n])
	v.putU32(a.u32(4), n)
	return ErrnoSuccess
}

// sockSetsockopt is (fd, level, name, optval, optlen by value). Each
// value is decoded here rather than handed to the kernel as it is;
// SO_BINDTODEVICE, which would let a module pick a host interface, is
// refused.
func (h *Host) sockSetsockopt(v view, a args) Errno {
	e, errno := h.sockArg(a.i32(0), 0)
	if errno != ErrnoSuccess {
		return errno
	}
	if a.u32(1) != solSocket {
		return ErrnoInval
	}
	val, ok := v.bytes(a.u32(3), a.u32(4))
	if !ok {
		return ErrnoFault
	}
	name := a.u32(2)
	switch name {
	case soLinger:
		if len(val) < 8 {
			return ErrnoInval
		}
		l := unix.Linger{Onoff: int32(binary.LittleEndian.Uint32(val)), Linger: int32(binary.LittleEndian.Uint32(val[4:]))}
		return errnoOf(unix.SetsockoptLinger(e.hostFd, unix.SOL_SOCKET, unix.SO_LINGER, &l))
	case soRcvtimeo, soSndtimeo:
		if len(val) < 16 {
			return ErrnoInval
		}
		sec, usec := int64(binary.LittleEndian.Uint64(val)), int64(binary.LittleEndian.Uint64(val[8:]))
		if usec < 0 || usec >= 1e6 {
			return ErrnoDom
		}
		var t int64
		// As Linux: a negative time is none, and so is one too long
		// to count.
		if sec >= 0 && sec < math.MaxInt64/1_000_000_000-1 {
			t = sec*1e9 + usec*1e3
		}
		if name == soRcvtimeo {
			e.rcvTimeo = t
		} else {
			e.sndTimeo = t
		}
		return ErrnoSuccess
	case soBindtodevice:
		return ErrnoNotsup
	}
	opt, known := intOptions[name]
	if !known {
		return ErrnoInval
	}
	if len(val) < 4 {
		return ErrnoInval
	}
	return errnoOf(unix.SetsockoptInt(e.hostFd, unix.SOL_SOCKET, opt, int(int32(binary.LittleEndian.Uint32(val)))))
}
