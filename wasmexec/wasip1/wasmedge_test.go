package wasip1

import (
	"encoding/binary"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// addr writes an address record at rec over the address bytes at buf.
func (g *guest) addr(rec, buf uint32, ip []byte) int64 {
	copy(g.mem[buf:], ip)
	binary.LittleEndian.PutUint32(g.mem[rec:], buf)
	binary.LittleEndian.PutUint32(g.mem[rec+4:], uint32(len(ip)))
	return int64(rec)
}

// storage writes an address record at rec over the 128-byte storage form
// at buf of family and ip.
func (g *guest) storage(rec, buf uint32, family uint16, ip []byte) int64 {
	clear(g.mem[buf : buf+sizeAddrStorage])
	binary.LittleEndian.PutUint16(g.mem[buf:], family)
	copy(g.mem[buf+2:], ip)
	binary.LittleEndian.PutUint32(g.mem[rec:], buf)
	binary.LittleEndian.PutUint32(g.mem[rec+4:], sizeAddrStorage)
	return int64(rec)
}

// open opens a WasmEdge socket and returns its fd.
func (g *guest) open(af, typ int64) int64 {
	g.t.Helper()
	g.mustCall(ErrnoSuccess, "sock_open", af, typ, 0x10)
	return int64(g.u32(0x10))
}

// send sends s on fd with sock_send and checks it all went.
func (g *guest) send(name string, fd int64, s string) {
	g.t.Helper()
	copy(g.mem[0x3000:], s)
	g.iovec(0x30, 0x3000, uint32(len(s)))
	g.mustCall(ErrnoSuccess, name, fd, 0x30, 1, 0, 0x24)
	if n := g.u32(0x24); n != uint32(len(s)) {
		g.t.Fatalf("%s sent %d bytes of %d", name, n, len(s))
	}
}

// recv receives up to n bytes on fd with sock_recv.
func (g *guest) recv(name string, fd int64, n uint32) string {
	g.t.Helper()
	g.iovec(0x30, 0x3100, n)
	g.mustCall(ErrnoSuccess, name, fd, 0x30, 1, 0, 0x24, 0x28)
	return string(g.mem[0x3100 : 0x3100+g.u32(0x24)])
}

// echoServer answers every line it reads on each connection with "echo:"
// and the line.
func echoServer(t *testing.T) *net.TCPAddr {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				buf := make([]byte, 256)
				for {
					n, err := c.Read(buf)
					if err != nil {
						return
					}
					c.Write(append([]byte("echo:"), buf[:n]...))
				}
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr)
}

var loopback4 = []byte{127, 0, 0, 1}

func TestSockOpenConnectSendRecv(t *testing.T) {
	srv := echoServer(t)
	g := newGuest(t, Config{})
	for _, form := range []struct{ connect, send, recv string }{
		{"sock_connect", "sock_send", "sock_recv"},
		{"sock_connect_v2", "sock_send_v2", "sock_recv_v2"},
	} {
		fd := g.open(afInet4, socktypeStream)
		rec := g.addr(0x100, 0x200, loopback4)
		if form.connect == "sock_connect_v2" {
			rec = g.storage(0x100, 0x200, afInet4, loopback4)
		}
		g.mustCall(ErrnoSuccess, form.connect, fd, rec, int64(srv.Port))
		g.send(form.send, fd, "hi")
		got := ""
		for len(got) < len("echo:hi") {
			got += g.recv(form.recv, fd, 64)
		}
		if got != "echo:hi" {
			t.Fatalf("%s: got %q", form.recv, got)
		}

		// The new socket: a blocking stream socket to the guest,
		// close-on-exec and non-blocking on the host.
		g.mustCall(ErrnoSuccess, "fd_fdstat_get", fd, 0x40)
		if g.mem[0x40] != byte(filetypeSocketStream) || g.mem[0x42]&fdflagNonblock != 0 {
			t.Fatalf("fdstat type %d flags %d", g.mem[0x40], g.mem[0x42])
		}
		e, _ := g.h.fds.get(int32(fd), 0)
		if fl, err := unix.FcntlInt(uintptr(e.hostFd), unix.F_GETFD, 0); err != nil || fl&unix.FD_CLOEXEC == 0 {
			t.Fatalf("the socket is not close-on-exec: %#x, %v", fl, err)
		}
		if fl, err := unix.FcntlInt(uintptr(e.hostFd), unix.F_GETFL, 0); err != nil || fl&unix.O_NONBLOCK == 0 {
			t.Fatalf("the host socket blocks: %#x, %v", fl, err)
		}

		// Both ends' addresses, V1 and V2.
		g.addr(0x100, 0x200, make([]byte, 4))
		g.mustCall(ErrnoSuccess, "sock_getpeeraddr", fd, 0x100, 0x50, 0x54)
		if g.u32(0x50) != 4 || g.u32(0x54) != uint32(srv.Port) || string(g.mem[0x200:0x204]) != string(loopback4) {
			t.Fatalf("peer V1: type %d port %d addr %v", g.u32(0x50), g.u32(0x54), g.mem[0x200:0x204])
		}
		g.storage(0x100, 0x200, 0, nil)
		g.mustCall(ErrnoSuccess, "sock_getlocaladdr_v2", fd, 0x100, 0x54)
		if binary.LittleEndian.Uint16(g.mem[0x200:]) != afInet4 || g.u32(0x54) == 0 || string(g.mem[0x202:0x206]) != string(loopback4) {
			t.Fatalf("local V2: %v port %d", g.mem[0x200:0x206], g.u32(0x54))
		}
		g.mustCall(ErrnoSuccess, "sock_getpeeraddr", fd, 0x100, 0x54)
		if g.u32(0x54) != uint32(srv.Port) {
			t.Fatalf("peer V2 (plain name, 3 arguments) port %d", g.u32(0x54))
		}
		g.mustCall(ErrnoSuccess, "sock_shutdown", fd, sdflagWr)
		g.mustCall(ErrnoSuccess, "fd_close", fd)
	}
}

// TestSockConnectRefusedAndNonblocking: a blocking connect answers the
// outcome, a non-blocking one INPROGRESS and then SO_ERROR.
func TestSockConnectRefusedAndNonblocking(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().(*net.TCPAddr).Port
	l.Close()
	g := newGuest(t, Config{})
	fd := g.open(afInet4, socktypeStream)
	g.mustCall(ErrnoConnrefused, "sock_connect", fd, g.addr(0x100, 0x200, loopback4), int64(closed))

	srv := echoServer(t)
	fd = g.open(afInet4, socktypeStream)
	g.mustCall(ErrnoSuccess, "fd_fdstat_set_flags", fd, fdflagNonblock)
	switch errno := g.call("sock_connect", fd, 0x100, int64(srv.Port)); errno {
	case ErrnoInprogress:
		g.subscription(0x4000, 0, 1, eventtypeFdWrite, uint32(fd), 0, 0)
		if ev := g.events(1); len(ev) != 1 || ev[0][1] != 0 {
			t.Fatalf("poll for the connection: %v", ev)
		}
	case ErrnoSuccess:
	default:
		t.Fatalf("non-blocking connect: errno %d", errno)
	}
	g.mem.putU32(0x60, 4)
	g.mustCall(ErrnoSuccess, "sock_getsockopt", fd, solSocket, soError, 0x64, 0x60)
	if g.u32(0x64) != 0 || g.u32(0x60) != 4 {
		t.Fatalf("SO_ERROR %d (len %d)", g.u32(0x64), g.u32(0x60))
	}
	g.iovec(0x30, 0x3100, 16)
	g.mustCall(ErrnoAgain, "sock_recv", fd, 0x30, 1, 0, 0x24, 0x28)
}

// TestSockBindListenAccept: a server on WasmEdge's calls, accepting with
// its two-argument sock_accept, over IPv4 and (where the kernel has it)
// IPv6.
func TestSockBindListenAccept(t *testing.T) {
	for _, tc := range []struct {
		name string
		af   int64
		ip   []byte
		host string
	}{
		{"ipv4", afInet4, loopback4, "127.0.0.1"},
		{"ipv6", afInet6, net.IPv6loopback, "::1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGuest(t, Config{})
			fd := g.open(tc.af, socktypeStream)
			g.mem.putU32(0x60, 1)
			g.mustCall(ErrnoSuccess, "sock_setsockopt", fd, solSocket, soReuseaddr, 0x60, 4)
			if errno := g.call("sock_bind", fd, g.addr(0x100, 0x200, tc.ip), 0); errno == ErrnoAddrnotavail && tc.af == afInet6 {
				t.Skip("no IPv6 loopback here")
			} else if errno != ErrnoSuccess {
				t.Fatalf("bind: errno %d", errno)
			}
			g.mustCall(ErrnoSuccess, "sock_listen", fd, 16)
			g.addr(0x100, 0x200, make([]byte, 16))
			g.mustCall(ErrnoSuccess, "sock_getlocaladdr", fd, 0x100, 0x50, 0x54)
			port := g.u32(0x54)
			if want := map[int64]uint32{afInet4: 4, afInet6: 6}[tc.af]; g.u32(0x50) != want || port == 0 {
				t.Fatalf("local address type %d port %d", g.u32(0x50), port)
			}
			g.mem.putU32(0x60, 4)
			g.mustCall(ErrnoSuccess, "sock_getsockopt", fd, solSocket, soAcceptconn, 0x64, 0x60)
			if g.u32(0x64) != 1 {
				t.Fatal("SO_ACCEPTCONN is off on a listening socket")
			}

			go func() {
				time.Sleep(20 * time.Millisecond) // the accept below blocks first
				c, err := net.Dial("tcp", net.JoinHostPort(tc.host, strconv.Itoa(int(port))))
				if err != nil {
					return
				}
				defer c.Close()
				c.Write([]byte("hello"))
				io.ReadAll(c)
			}()
			g.mustCall(ErrnoSuccess, "sock_accept", fd, 0x20)
			cfd := int64(g.u32(0x20))
			g.mustCall(ErrnoSuccess, "fd_fdstat_get", cfd, 0x40)
			if g.mem[0x42]&fdflagNonblock != 0 {
				t.Fatal("WasmEdge's sock_accept made a non-blocking socket")
			}
			got := ""
			for len(got) < 5 {
				got += g.recv("sock_recv", cfd, 16)
			}
			if got != "hello" {
				t.Fatalf("accepted connection read %q", got)
			}
			g.mustCall(ErrnoSuccess, "fd_close", cfd)
		})
	}
}

func TestSockDatagram(t *testing.T) {
	peer, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer peer.Close()
	peerPort := peer.LocalAddr().(*net.UDPAddr).Port
	g := newGuest(t, Config{})
	fd := g.open(afInet4, socktypeDgram)
	g.mustCall(ErrnoSuccess, "sock_bind_v2", fd, g.storage(0x100, 0x200, afInet4, loopback4), 0)
	g.storage(0x100, 0x200, 0, nil)
	g.mustCall(ErrnoSuccess, "sock_getlocaladdr", fd, 0x100, 0x54)
	port := int(g.u32(0x54))
	g.mem.putU32(0x60, 4)
	g.mustCall(ErrnoSuccess, "sock_getsockopt", fd, solSocket, soType, 0x64, 0x60)
	if g.u32(0x64) != socktypeDgram {
		t.Fatalf("SO_TYPE %d", g.u32(0x64))
	}
	to := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}

	// recv_from V1: the address bytes only.
	peer.WriteToUDP([]byte("one"), to)
	g.iovec(0x30, 0x3100, 64)
	g.addr(0x100, 0x200, make([]byte, 4))
	g.mustCall(ErrnoSuccess, "sock_recv_from", fd, 0x30, 1, 0x100, 0, 0x24, 0x28)
	if string(g.mem[0x3100:0x3100+g.u32(0x24)]) != "one" || string(g.mem[0x200:0x204]) != string(loopback4) {
		t.Fatalf("recv_from V1: %q from %v", g.mem[0x3100:0x3100+g.u32(0x24)], g.mem[0x200:0x204])
	}
	// recv_from V2 with the storage form, and a truncated datagram.
	peer.WriteToUDP([]byte("two, longer"), to)
	g.iovec(0x30, 0x3100, 3)
	g.storage(0x100, 0x200, 0, nil)
	g.mustCall(ErrnoSuccess, "sock_recv_from_v2", fd, 0x30, 1, 0x100, 0, 0x2c, 0x24, 0x28)
	if string(g.mem[0x3100:0x3103]) != "two" || g.mem[0x28] != roflagDataTruncated ||
		binary.LittleEndian.Uint16(g.mem[0x200:]) != afInet4 || g.u32(0x2c) != uint32(peerPort) {
		t.Fatalf("recv_from V2: %q flags %d family %d port %d", g.mem[0x3100:0x3103], g.mem[0x28],
			binary.LittleEndian.Uint16(g.mem[0x200:]), g.u32(0x2c))
	}
	// recv_from V2 under the plain name, with a 4-byte buffer.
	peer.WriteToUDP([]byte("three"), to)
	g.iovec(0x30, 0x3100, 64)
	g.addr(0x100, 0x200, make([]byte, 4))
	g.mustCall(ErrnoSuccess, "sock_recv_from", fd, 0x30, 1, 0x100, 0, 0x2c, 0x24, 0x28)
	if g.u32(0x2c) != uint32(peerPort) || string(g.mem[0x200:0x204]) != string(loopback4) {
		t.Fatalf("recv_from V2 plain: port %d addr %v", g.u32(0x2c), g.mem[0x200:0x204])
	}
	g.addr(0x100, 0x200, make([]byte, 5))
	g.mustCall(ErrnoInval, "sock_recv_from_v2", fd, 0x30, 1, 0x100, 0, 0x2c, 0x24, 0x28)
	// V1 with a 128-byte buffer: the address bytes alone, no family.
	peer.WriteToUDP([]byte("four"), to)
	g.storage(0x100, 0x200, 0xeeee, nil)
	g.mustCall(ErrnoSuccess, "sock_recv_from", fd, 0x30, 1, 0x100, 0, 0x24, 0x28)
	if string(g.mem[0x200:0x204]) != string(loopback4) || g.mem[0x204] != 0 {
		t.Fatalf("recv_from V1 into 128 bytes: %v", g.mem[0x200:0x206])
	}

	// send_to, both forms: address and port before the flags.
	copy(g.mem[0x3000:], "back")
	g.iovec(0x30, 0x3000, 4)
	g.mustCall(ErrnoSuccess, "sock_send_to", fd, 0x30, 1, g.addr(0x100, 0x200, loopback4), int64(peerPort), 0, 0x24)
	g.mustCall(ErrnoSuccess, "sock_send_to_v2", fd, 0x30, 1, g.storage(0x100, 0x200, afInet4, loopback4), int64(peerPort), 0, 0x24)
	g.mustCall(ErrnoInval, "sock_send_to", fd, 0x30, 1, g.addr(0x100, 0x200, loopback4), int64(peerPort), 1, 0x24)
	peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 16)
	for i := 0; i < 2; i++ {
		n, from, err := peer.ReadFromUDP(buf)
		if err != nil || string(buf[:n]) != "back" || from.Port != port {
			t.Fatalf("peer got %q from %v: %v", buf[:n], from, err)
		}
	}
}

// TestSockOptions: every option name reaches its Linux option; the
// timeouts bound a blocking receive; SO_BINDTODEVICE and other levels are
// refused; getsockopt cuts the value to the buffer.
func TestSockOptions(t *testing.T) {
	srv := echoServer(t)
	g := newGuest(t, Config{})
	fd := g.open(afInet4, socktypeStream)
	g.mustCall(ErrnoSuccess, "sock_connect", fd, g.addr(0x100, 0x200, loopback4), int64(srv.Port))
	for _, name := range []int64{soReuseaddr, soDontroute, soBroadcast, soKeepalive, soOobinline} {
		g.mem.putU32(0x60, 1)
		g.mustCall(ErrnoSuccess, "sock_setsockopt", fd, solSocket, name, 0x60, 4)
		g.mem.putU32(0x68, 4)
		g.mustCall(ErrnoSuccess, "sock_getsockopt", fd, solSocket, name, 0x64, 0x68)
		if g.u32(0x64) != 1 {
			t.Errorf("option %d reads %d after set to 1", name, g.u32(0x64))
		}
	}
	g.mem.putU32(0x60, 1<<16)
	g.mustCall(ErrnoSuccess, "sock_setsockopt", fd, solSocket, soRcvbuf, 0x60, 4)
	g.mustCall(ErrnoSuccess, "sock_setsockopt", fd, solSocket, soSndbuf, 0x60, 4)
	g.mem.putU32(0x60, 1)
	g.mustCall(ErrnoSuccess, "sock_setsockopt", fd, solSocket, soRcvlowat, 0x60, 4)
	g.mem.putU32(0x60, 1)
	g.mem.putU32(0x64, 3)
	g.mustCall(ErrnoSuccess, "sock_setsockopt", fd, solSocket, soLinger, 0x60, 8)
	g.mem.putU32(0x78, 8)
	g.mustCall(ErrnoSuccess, "sock_getsockopt", fd, solSocket, soLinger, 0x70, 0x78)
	if g.u32(0x70) != 1 || g.u32(0x74) != 3 {
		t.Fatalf("SO_LINGER %d %d", g.u32(0x70), g.u32(0x74))
	}
	g.mustCall(ErrnoInval, "sock_setsockopt", fd, solSocket, soLinger, 0x60, 4)

	// SO_RCVTIMEO: 30ms, then a receive with nothing to read answers
	// EAGAIN after it.
	binary.LittleEndian.PutUint64(g.mem[0x80:], 0)
	binary.LittleEndian.PutUint64(g.mem[0x88:], 30000)
	g.mustCall(ErrnoSuccess, "sock_setsockopt", fd, solSocket, soRcvtimeo, 0x80, 16)
	g.mem.putU32(0x98, 16)
	g.mustCall(ErrnoSuccess, "sock_getsockopt", fd, solSocket, soRcvtimeo, 0xa0, 0x98)
	if g.u64(0xa0) != 0 || g.u64(0xa8) != 30000 || g.u32(0x98) != 16 {
		t.Fatalf("SO_RCVTIMEO reads %d s %d us (len %d)", g.u64(0xa0), g.u64(0xa8), g.u32(0x98))
	}
	g.iovec(0x30, 0x3100, 16)
	start := time.Now()
	g.mustCall(ErrnoAgain, "sock_recv", fd, 0x30, 1, 0, 0x24, 0x28)
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("the receive timed out after %v", d)
	}
	binary.LittleEndian.PutUint64(g.mem[0x88:], 1e6)
	g.mustCall(ErrnoDom, "sock_setsockopt", fd, solSocket, soSndtimeo, 0x80, 16)
	g.mustCall(ErrnoInval, "sock_setsockopt", fd, solSocket, soSndtimeo, 0x80, 8)

	// A short buffer gets the value's first bytes, and its length.
	g.mem.putU32(0x68, 2)
	binary.LittleEndian.PutUint32(g.mem[0x64:], 0xffffffff)
	g.mustCall(ErrnoSuccess, "sock_getsockopt", fd, solSocket, soType, 0x64, 0x68)
	if g.u32(0x68) != 2 || g.mem[0x64] != socktypeStream || g.mem[0x66] != 0xff {
		t.Fatalf("cut SO_TYPE: len %d bytes %v", g.u32(0x68), g.mem[0x64:0x68])
	}

	copy(g.mem[0x60:], "lo\x00")
	g.mustCall(ErrnoNotsup, "sock_setsockopt", fd, solSocket, soBindtodevice, 0x60, 3)
	g.mustCall(ErrnoNotsup, "sock_getsockopt", fd, solSocket, soBindtodevice, 0x60, 0x68)
	g.mustCall(ErrnoInval, "sock_setsockopt", fd, 1, soReuseaddr, 0x60, 4)
	g.mustCall(ErrnoInval, "sock_setsockopt", fd, solSocket, 15, 0x60, 4)
	g.mustCall(ErrnoInval, "sock_setsockopt", fd, solSocket, soReuseaddr, 0x60, 2)
	g.mustCall(ErrnoInval, "sock_getsockopt", fd, 6, soReuseaddr, 0x60, 0x68)
	g.mustCall(ErrnoFault, "sock_setsockopt", fd, solSocket, soReuseaddr, guestMemSize-2, 4)
	g.mustCall(ErrnoFault, "sock_getsockopt", fd, solSocket, soReuseaddr, 0x60, guestMemSize-2)
	g.mem.putU32(0x68, 4)
	g.mustCall(ErrnoFault, "sock_getsockopt", fd, solSocket, soReuseaddr, guestMemSize-2, 0x68)
}

// TestSockBadInput: bad families, lengths, types and pointers are errnos,
// and nothing is written outside the guest's buffers.
func TestSockBadInput(t *testing.T) {
	g := newGuest(t, Config{})
	for _, tc := range []struct {
		af, typ int64
		want    Errno
	}{
		{afUnspec, socktypeStream, ErrnoInval},
		{afUnix, socktypeStream, ErrnoNosys},
		{9, socktypeStream, ErrnoInval},
		{afInet4, socktypeAny, ErrnoInval},
		{afInet4, 3, ErrnoInval},
		{1 << 32 / 2, socktypeStream, ErrnoInval},
	} {
		g.mustCall(tc.want, "sock_open", tc.af, tc.typ, 0x10)
	}
	g.mustCall(ErrnoFault, "sock_open", afInet4, socktypeStream, guestMemSize-3)
	g.mustCall(ErrnoFault, "sock_open", afInet4, socktypeStream, 0xffffffff)
	if len(g.h.fds.entries) != 3 {
		t.Fatalf("failed sock_open calls left %d fds", len(g.h.fds.entries))
	}

	fd := g.open(afInet4, socktypeStream)
	fd6 := g.open(afInet6, socktypeStream)
	for _, bind := range []string{"sock_bind", "sock_connect", "sock_bind_v2", "sock_connect_v2"} {
		g.mustCall(ErrnoInval, bind, fd, g.addr(0x100, 0x200, []byte{127, 0, 0}), 80)
		g.mustCall(ErrnoInval, bind, fd, g.addr(0x100, 0x200, make([]byte, 6)), 80)
		g.mustCall(ErrnoFault, bind, fd, guestMemSize-4, 80)
		g.mustCall(ErrnoFault, bind, fd, 0xfffffffc, 80)
		binary.LittleEndian.PutUint32(g.mem[0x100:], guestMemSize-2)
		binary.LittleEndian.PutUint32(g.mem[0x104:], 4)
		g.mustCall(ErrnoFault, bind, fd, 0x100, 80)
		binary.LittleEndian.PutUint32(g.mem[0x100:], 0x200)
		binary.LittleEndian.PutUint32(g.mem[0x104:], 0xfffffff0)
		g.mustCall(ErrnoFault, bind, fd, 0x100, 80)
		g.mustCall(ErrnoBadf, bind, 99, g.addr(0x100, 0x200, loopback4), 80)
		g.mustCall(ErrnoNotsock, bind, 1, g.addr(0x100, 0x200, loopback4), 80)
		// An IPv6 address on an IPv4 socket: the kernel refuses it.
		if errno := g.call(bind, fd, g.addr(0x100, 0x200, net.IPv6loopback), 80); errno != ErrnoAfnosupport && errno != ErrnoInval {
			t.Errorf("%s of an IPv6 address on an IPv4 socket: errno %d", bind, errno)
		}
		if errno := g.call(bind, fd6, g.addr(0x100, 0x200, loopback4), 80); errno != ErrnoAfnosupport && errno != ErrnoInval {
			t.Errorf("%s of an IPv4 address on an IPv6 socket: errno %d", bind, errno)
		}
	}
	// The storage form only under the _v2 names, of IPv4 and IPv6 only.
	g.mustCall(ErrnoInval, "sock_bind", fd, g.storage(0x100, 0x200, afInet4, loopback4), 0)
	g.mustCall(ErrnoAfnosupport, "sock_bind_v2", fd, g.storage(0x100, 0x200, afUnspec, loopback4), 0)
	g.mustCall(ErrnoAfnosupport, "sock_bind_v2", fd, g.storage(0x100, 0x200, 77, loopback4), 0)
	g.mustCall(ErrnoNosys, "sock_connect_v2", fd, g.storage(0x100, 0x200, afUnix, []byte("/run/containerd/containerd.sock")), 0)

	// Addresses out: sizes checked, a v6 address in a 4-byte buffer is
	// NOMEM, nothing beyond the buffer is written.
	g.mustCall(ErrnoSuccess, "sock_bind", fd6, g.addr(0x100, 0x200, net.IPv6loopback), 0)
	for i := range 32 {
		g.mem[0x200+i] = 0xaa
	}
	g.addr(0x100, 0x200, nil)
	binary.LittleEndian.PutUint32(g.mem[0x104:], 4)
	g.mustCall(ErrnoNomem, "sock_getlocaladdr", fd6, 0x100, 0x50, 0x54)
	binary.LittleEndian.PutUint32(g.mem[0x104:], 8)
	g.mustCall(ErrnoInval, "sock_getlocaladdr", fd6, 0x100, 0x50, 0x54)
	g.mustCall(ErrnoInval, "sock_getlocaladdr_v2", fd6, 0x100, 0x54)
	binary.LittleEndian.PutUint32(g.mem[0x104:], 16)
	g.mustCall(ErrnoFault, "sock_getlocaladdr", fd6, 0x100, guestMemSize-2, 0x54)
	g.mustCall(ErrnoFault, "sock_getlocaladdr", fd6, 0x100, 0x50, guestMemSize-2)
	g.mustCall(ErrnoNotconn, "sock_getpeeraddr", fd6, 0x100, 0x50, 0x54)
	for i := range 32 {
		if g.mem[0x200+i] != 0xaa {
			t.Fatalf("a failed call wrote guest byte %#x", 0x200+i)
		}
	}
	g.mustCall(ErrnoSuccess, "sock_getlocaladdr", fd6, 0x100, 0x50, 0x54)
	if g.u32(0x50) != 6 || string(g.mem[0x200:0x210]) != string(net.IPv6loopback) || g.mem[0x210] != 0xaa {
		t.Fatalf("local v6 address: type %d bytes %v", g.u32(0x50), g.mem[0x200:0x211])
	}

	// Receive and send with bad out pointers write nothing.
	g.iovec(0x30, 0x3100, 16)
	g.mustCall(ErrnoFault, "sock_recv_from", fd, 0x30, 1, guestMemSize-4, 0, 0x24, 0x28)
	g.mustCall(ErrnoFault, "sock_recv_from_v2", fd, 0x30, 1, g.addr(0x100, 0x200, loopback4), 0, guestMemSize-2, 0x24, 0x28)
	g.mustCall(ErrnoFault, "sock_send_to", fd, 0x30, 1, g.addr(0x100, 0x200, loopback4), 80, 0, guestMemSize)
	g.mustCall(ErrnoInval, "sock_recv_from", fd, 0x30, 1, 0x100, 8, 0x24, 0x28)
	g.mustCall(ErrnoNotsock, "sock_listen", 1, 1)
}
