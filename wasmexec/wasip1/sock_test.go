package wasip1

import (
	"encoding/binary"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// listenerFile is a TCP listener on a loopback port, as the task child
// would preopen it.
func listenerFile(t *testing.T) (string, *os.File) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	f, err := l.(*net.TCPListener).File()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return l.Addr().String(), f
}

// subscription writes poll_oneoff subscription i at base.
func (g *guest) subscription(base uint32, i int, userdata uint64, tag uint8, fdOrClock uint32, timeout uint64, flags uint16) {
	s := g.mem[base+uint32(i)*sizeSubscription:]
	clear(s[:sizeSubscription])
	binary.LittleEndian.PutUint64(s, userdata)
	s[8] = tag
	binary.LittleEndian.PutUint32(s[16:], fdOrClock)
	binary.LittleEndian.PutUint64(s[24:], timeout)
	binary.LittleEndian.PutUint16(s[40:], flags)
}

// events polls n subscriptions at 0x4000 and returns the events'
// (userdata, errno, type).
func (g *guest) events(n int) [][3]uint64 {
	g.t.Helper()
	g.mustCall(ErrnoSuccess, "poll_oneoff", 0x4000, 0x5000, int64(n), 0x10)
	var out [][3]uint64
	for i := uint32(0); i < g.u32(0x10); i++ {
		e := g.mem[0x5000+i*sizeEvent:]
		out = append(out, [3]uint64{binary.LittleEndian.Uint64(e), uint64(binary.LittleEndian.Uint16(e[8:])), uint64(e[10])})
	}
	return out
}

func TestSockets(t *testing.T) {
	addr, lf := listenerFile(t)
	g := newGuest(t, Config{Dirs: []Dir{{HostPath: t.TempDir(), GuestPath: "/"}}, Listeners: []*os.File{lf}})
	const lfd = 4

	// Preopen scans: the directory is a preopen, the socket is EBADF.
	g.mustCall(ErrnoSuccess, "fd_prestat_get", 3, 0x10)
	g.mustCall(ErrnoBadf, "fd_prestat_get", lfd, 0x10)
	g.mustCall(ErrnoSuccess, "fd_fdstat_get", lfd, 0x10)
	if g.mem[0x10] != byte(filetypeSocketStream) || g.u64(0x18)&rightSockAccept == 0 {
		t.Fatalf("listener fdstat type %d rights %#x", g.mem[0x10], g.u64(0x18))
	}
	// Preopened listeners start non-blocking, as Go's wasip1 netpoller
	// needs them.
	if g.mem[0x12]&fdflagNonblock == 0 {
		t.Fatalf("listener fdstat flags %#x: want NONBLOCK", g.mem[0x12])
	}
	g.mustCall(ErrnoSuccess, "fd_filestat_get", lfd, 0x100)
	if g.mem[0x100+16] != byte(filetypeSocketStream) {
		t.Fatal("listener filestat is not a stream socket")
	}

	// Non-blocking accept with no client.
	g.mustCall(ErrnoSuccess, "fd_fdstat_set_flags", lfd, fdflagNonblock)
	g.mustCall(ErrnoAgain, "sock_accept", lfd, 0, 0x20)
	g.mustCall(ErrnoInval, "sock_accept", lfd, fdflagAppend, 0x20)

	// A client arrives: poll says the listener is readable.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	g.subscription(0x4000, 0, 1, eventtypeFdRead, lfd, 0, 0)
	g.subscription(0x4000, 1, 2, eventtypeClock, clockMonotonic, uint64(5*time.Second), 0)
	if ev := g.events(2); len(ev) != 1 || ev[0] != [3]uint64{1, 0, eventtypeFdRead} {
		t.Fatalf("poll on the listener: %v", ev)
	}
	g.mustCall(ErrnoSuccess, "sock_accept", lfd, 0, 0x20)
	cfd := int64(g.u32(0x20))
	g.mustCall(ErrnoSuccess, "fd_fdstat_get", cfd, 0x10)
	if g.mem[0x10] != byte(filetypeSocketStream) || g.mem[0x12]&fdflagNonblock != 0 {
		t.Fatalf("accepted fdstat type %d flags %d", g.mem[0x10], g.mem[0x12])
	}

	// sock_send and fd_write reach the peer.
	copy(g.mem[0x200:], "ping!")
	g.iovec(0x30, 0x200, 4)
	g.iovec(0x38, 0x204, 1)
	g.mustCall(ErrnoSuccess, "sock_send", cfd, 0x30, 1, 0, 0x24)
	g.mustCall(ErrnoSuccess, "fd_write", cfd, 0x38, 1, 0x24)
	g.mustCall(ErrnoInval, "sock_send", cfd, 0x30, 1, 1, 0x24)
	buf := make([]byte, 5)
	if _, err := io.ReadFull(conn, buf); err != nil || string(buf) != "ping!" {
		t.Fatalf("peer read %q, %v", buf, err)
	}

	// Poll times out on a quiet socket, then sees data.
	g.subscription(0x4000, 0, 7, eventtypeFdRead, uint32(cfd), 0, 0)
	g.subscription(0x4000, 1, 8, eventtypeClock, clockMonotonic, uint64(20*time.Millisecond), 0)
	if ev := g.events(2); len(ev) != 1 || ev[0][0] != 8 {
		t.Fatalf("poll on a quiet socket: %v", ev)
	}
	conn.Write([]byte("pong"))
	if ev := g.events(2); len(ev) != 1 || ev[0] != [3]uint64{7, 0, eventtypeFdRead} {
		t.Fatalf("poll on a socket with data: %v", ev)
	}
	if n := binary.LittleEndian.Uint64(g.mem[0x5000+16:]); n != 4 {
		t.Fatalf("nbytes %d, want 4", n)
	}

	// Peek, then receive, then fd_read finds nothing without blocking.
	g.iovec(0x30, 0x300, 16)
	g.mustCall(ErrnoSuccess, "sock_recv", cfd, 0x30, 1, riflagRecvPeek, 0x24, 0x28)
	g.mustCall(ErrnoSuccess, "sock_recv", cfd, 0x30, 1, 0, 0x24, 0x28)
	if n := g.u32(0x24); n != 4 || string(g.mem[0x300:0x304]) != "pong" || g.mem[0x28] != 0 {
		t.Fatalf("recv %d %q flags %d", n, g.mem[0x300:0x304], g.mem[0x28])
	}
	g.mustCall(ErrnoInval, "sock_recv", cfd, 0x30, 1, 4, 0x24, 0x28)
	g.mustCall(ErrnoSuccess, "fd_fdstat_set_flags", cfd, fdflagNonblock)
	g.mustCall(ErrnoAgain, "fd_read", cfd, 0x30, 1, 0x24)
	g.mustCall(ErrnoAgain, "sock_recv", cfd, 0x30, 1, 0, 0x24, 0x28)

	// A blocking read waits in poll(2) for the peer.
	g.mustCall(ErrnoSuccess, "fd_fdstat_set_flags", cfd, 0)
	go func() {
		time.Sleep(20 * time.Millisecond)
		conn.Write([]byte("late"))
	}()
	g.mustCall(ErrnoSuccess, "fd_read", cfd, 0x30, 1, 0x24)
	if string(g.mem[0x300:0x300+g.u32(0x24)]) != "late" {
		t.Fatalf("blocking read got %q", g.mem[0x300:0x300+g.u32(0x24)])
	}

	// Shutdown: the peer reads EOF.
	g.mustCall(ErrnoInval, "sock_shutdown", cfd, 0)
	g.mustCall(ErrnoSuccess, "sock_shutdown", cfd, sdflagWr)
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := conn.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("peer read after shutdown: %d, %v", n, err)
	}
	g.mustCall(ErrnoSuccess, "fd_close", cfd)
	g.mustCall(ErrnoBadf, "sock_send", cfd, 0x30, 1, 0, 0x24)

	// A blocking accept waits for the next client.
	g.mustCall(ErrnoSuccess, "fd_fdstat_set_flags", lfd, 0)
	go func() {
		time.Sleep(20 * time.Millisecond)
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
		}
	}()
	g.mustCall(ErrnoSuccess, "sock_accept", lfd, fdflagNonblock, 0x20)
	g.mustCall(ErrnoSuccess, "fd_fdstat_get", int64(g.u32(0x20)), 0x10)
	if g.mem[0x12]&fdflagNonblock == 0 {
		t.Fatal("sock_accept's NONBLOCK flag is lost")
	}
}

func TestListenerMustBeSocket(t *testing.T) {
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := New(nil, Config{Listeners: []*os.File{f}}); err == nil {
		t.Fatal("a non-socket listener was accepted")
	}
}

func TestPollOneoff(t *testing.T) {
	clock := &fakeClock{real: 1e18, mono: 0}
	g := newGuest(t, Config{Clock: clock})
	tests := []struct {
		name string
		subs func()
		n    int
		want [][3]uint64
	}{
		{"relative clock", func() {
			g.subscription(0x4000, 0, 5, eventtypeClock, clockMonotonic, 0, 0)
		}, 1, [][3]uint64{{5, 0, eventtypeClock}}},
		{"absolute realtime clock in the past", func() {
			g.subscription(0x4000, 0, 6, eventtypeClock, clockRealtime, 1e17, subclockAbstime)
		}, 1, [][3]uint64{{6, 0, eventtypeClock}}},
		{"unknown clock", func() {
			g.subscription(0x4000, 0, 7, eventtypeClock, 9, 0, 0)
		}, 1, [][3]uint64{{7, uint64(ErrnoInval), eventtypeClock}}},
		{"bad fd", func() {
			g.subscription(0x4000, 0, 8, eventtypeFdRead, 99, 0, 0)
			g.subscription(0x4000, 1, 9, eventtypeClock, clockMonotonic, 1e12, 0)
		}, 2, [][3]uint64{{8, uint64(ErrnoBadf), eventtypeFdRead}}},
		{"stdout writable, stdin readable", func() {
			g.subscription(0x4000, 0, 10, eventtypeFdWrite, 1, 0, 0)
			g.subscription(0x4000, 1, 11, eventtypeFdRead, 0, 0, 0)
		}, 2, [][3]uint64{{10, 0, eventtypeFdWrite}, {11, 0, eventtypeFdRead}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.subs()
			got := g.events(tc.n)
			if len(got) != len(tc.want) {
				t.Fatalf("events %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("events %v, want %v", got, tc.want)
				}
			}
		})
	}
	g.subscription(0x4000, 0, 1, 3, 0, 0, 0)
	g.mustCall(ErrnoInval, "poll_oneoff", 0x4000, 0x5000, 1, 0x10)
}

// TestPollSleeps: a clock subscription alone sleeps for its timeout.
func TestPollSleeps(t *testing.T) {
	g := newGuest(t, Config{})
	g.subscription(0x4000, 0, 1, eventtypeClock, clockMonotonic, uint64(30*time.Millisecond), 0)
	start := time.Now()
	if ev := g.events(1); len(ev) != 1 || ev[0][0] != 1 {
		t.Fatalf("events %v", ev)
	}
	if d := time.Since(start); d < 30*time.Millisecond {
		t.Fatalf("slept %v, want 30ms", d)
	}
}
