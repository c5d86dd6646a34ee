package wasip1

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"testing"
)

// fuzzPaths are laid out in guest memory at fuzzPathBase + i*0x40, so that
// the fuzzer reaches them with small (ptr, len) pairs.
var fuzzPaths = []string{"f", "d/g", "..", "../secret", "upfile", "d/updir/secret",
	"/etc/passwd", "procroot/etc", "d", "new", "d/inside", "abs/passwd"}

const fuzzPathBase = 0x1000

// fuzzMemory lays out paths and two iovecs (at 0 and 8, over 0x2000 and
// 0x2100) for the calls to use, and for the socket calls address records
// (at 0x40: 127.0.0.1, 0x48: ::1, 0x50: the storage form of 127.0.0.1),
// a getaddrinfo node (0xa0), hints (0xc0) and a chain of two result
// records whose address is at 0xe0.
func fuzzMemory(mem view) {
	for i, p := range fuzzPaths {
		copy(mem[fuzzPathBase+i*0x40:], p)
	}
	mem.putU32(0, 0x2000)
	mem.putU32(4, 64)
	mem.putU32(8, 0x2100)
	mem.putU32(12, 16)
	mem.putU32(0x40, 0x80)
	mem.putU32(0x44, 4)
	copy(mem[0x80:], []byte{127, 0, 0, 1})
	mem.putU32(0x48, 0x90)
	mem.putU32(0x4c, 16)
	mem[0x90+15] = 1
	mem.putU32(0x50, 0x400)
	mem.putU32(0x54, sizeAddrStorage)
	mem.putU16(0x400, afInet4)
	copy(mem[0x402:], []byte{127, 0, 0, 1})
	copy(mem[0xa0:], "127.0.0.1")
	mem.putU32(0xe0, 0x500)
	for i := uint32(0); i < 2; i++ {
		rec, sa := 0x500+i*sizeAddrinfo, 0x600+i*sizeSockaddr
		mem.putU32(rec+12, sa)
		mem.putU32(rec+16, 0x6a0+i*16)
		mem.putU32(rec+20, 16)
		mem.putU32(sa+4, 26)
		mem.putU32(sa+8, 0x640+i*26)
		if i == 0 {
			mem.putU32(rec+24, 0x500+sizeAddrinfo)
		}
	}
}

// fuzzSeed encodes a call and its arguments as FuzzCalls reads them.
func fuzzSeed(name string, args ...int64) []byte {
	for i, c := range calls {
		if c.name != name || len(c.params) != len(args) {
			continue
		}
		b := []byte{byte(i)}
		for j, p := range c.params {
			if p == 'I' {
				b = binary.LittleEndian.AppendUint64(b, uint64(args[j]))
			} else {
				b = binary.LittleEndian.AppendUint32(b, uint32(args[j]))
			}
		}
		return b
	}
	panic(name)
}

func pathArgs(i int) (int64, int64) {
	return int64(fuzzPathBase + i*0x40), int64(len(fuzzPaths[i]))
}

// FuzzCalls feeds random calls with random arguments to a host whose
// preopen sits beside a secret, and checks that no call panics, answers
// an errno WASI does not have, or changes anything outside the preopen.
func FuzzCalls(f *testing.F) {
	p, n := pathArgs(0)
	up, upn := pathArgs(3)
	f.Add(fuzzSeed("path_open", 3, 1, p, n, 0, int64(rightsFile), 0, 0, 0x10))
	f.Add(append(fuzzSeed("path_open", 3, 1, p, n, 0, int64(rightsFile), 0, 0, 0x10), fuzzSeed("fd_read", 5, 0, 2, 0x10)...))
	f.Add(fuzzSeed("path_open", 3, 1, up, upn, oflagCreat, int64(rightsAll), 0, 0, 0x10))
	f.Add(fuzzSeed("path_rename", 3, p, n, 3, up, upn))
	f.Add(fuzzSeed("path_symlink", up, upn, 3, p, n))
	f.Add(fuzzSeed("path_unlink_file", 3, up, upn))
	f.Add(fuzzSeed("fd_write", 1, 0, 2, 0x10))
	f.Add(fuzzSeed("fd_readdir", 3, 0x3000, 200, 0, 0x10))
	f.Add(fuzzSeed("poll_oneoff", 0x4000, 0x5000, 2, 0x10))
	f.Add(fuzzSeed("args_get", 0x100, 0x200))
	f.Add(fuzzSeed("fd_prestat_dir_name", 3, 0x100, 1))
	f.Add(fuzzSeed("sock_recv", 0, 0, 1, 0, 0x10, 0x14))
	// WasmEdge's calls: a socket opened (fd 5) and used.
	open4 := fuzzSeed("sock_open", afInet4, socktypeStream, 0x10)
	udp := fuzzSeed("sock_open", afInet4, socktypeDgram, 0x10)
	f.Add(append(open4, fuzzSeed("sock_bind", 5, 0x40, 0)...))
	f.Add(append(append(open4, fuzzSeed("sock_bind_v2", 5, 0x50, 0)...), fuzzSeed("sock_listen", 5, 8)...))
	f.Add(append(open4, fuzzSeed("sock_connect", 5, 0x40, 1)...))
	f.Add(append(fuzzSeed("sock_open", afInet6, socktypeStream, 0x10), fuzzSeed("sock_connect_v2", 5, 0x48, 1)...))
	f.Add(append(udp, fuzzSeed("sock_send_to", 5, 0, 1, 0x40, 9, 0, 0x10)...))
	f.Add(append(udp, fuzzSeed("sock_send_to_v2", 5, 0, 1, 0x50, 9, 0, 0x10)...))
	f.Add(append(udp, fuzzSeed("sock_recv_from", 5, 0, 1, 0x40, 0, 0x10, 0x14)...))
	f.Add(append(udp, fuzzSeed("sock_recv_from_v2", 5, 0, 1, 0x50, 0, 0x18, 0x10, 0x14)...))
	f.Add(append(open4, fuzzSeed("sock_getlocaladdr", 5, 0x40, 0x10, 0x14)...))
	f.Add(append(open4, fuzzSeed("sock_getpeeraddr_v2", 5, 0x50, 0x10)...))
	f.Add(append(open4, fuzzSeed("sock_setsockopt", 5, solSocket, soRcvtimeo, 0x2000, 16)...))
	f.Add(append(open4, fuzzSeed("sock_getsockopt", 5, solSocket, soLinger, 0x2000, 0x10)...))
	f.Add(fuzzSeed("sock_getaddrinfo", 0xa0, 9, 0, 0, 0xc0, 0xe0, 2, 0x10))
	f.Add(fuzzSeed("sock_accept", 5, 0x10))
	f.Fuzz(func(t *testing.T, data []byte) {
		fx := newEscapeFixture(t)
		g := newGuest(t, Config{Args: []string{"fuzz"}, Env: []string{"A=b"},
			Dirs: []Dir{{HostPath: fx.root, GuestPath: "/"}, {HostPath: fx.root, GuestPath: "/ro", ReadOnly: true}}})
		fuzzMemory(g.mem)
		// No lookup leaves the machine: names resolve from /etc/hosts
		// or fail at once.
		g.h.resolver = &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
			return nil, errors.New("the fuzz target asks no name server")
		}}
		for i := 0; i < 8 && len(data) > 0; i++ {
			c := calls[int(data[0])%len(calls)]
			data = data[1:]
			args := make([]int64, len(c.params))
			for j, p := range c.params {
				size := 4
				if p == 'I' {
					size = 8
				}
				var b [8]byte
				data = data[copy(b[:size], data):]
				args[j] = int64(binary.LittleEndian.Uint64(b[:]))
			}
			switch c.name {
			case "poll_oneoff":
				tamePoll(g.mem, uint32(args[0]), uint32(args[2]))
			case "fd_allocate":
				// Real blocks: keep the fuzzer from filling the disk.
				args[2] %= 1 << 20
			}
			// Sockets never block here: connect, accept and receive
			// answer at once however the input set the flags.
			for _, e := range g.h.fds.entries {
				if e != nil && (e.ftype == filetypeSocketStream || e.ftype == filetypeSocketDgram) {
					e.flags |= fdflagNonblock
				}
			}
			errno := c.fn(g.h, g.mem, vals(c.params, args))
			if errno > ErrnoNotcapable && (c.name != "sock_getaddrinfo" || errno > ErrnoAisystem) {
				t.Fatalf("%s%v = errno %d", c.name, args, errno)
			}
		}
		fx.check(t)
		if len(g.h.fds.entries) > maxFds {
			t.Fatalf("%d fds", len(g.h.fds.entries))
		}
	})
}

// tamePoll bounds the clock subscriptions the fuzzer writes to a
// millisecond, so that one input cannot sleep for years; every fd the
// fuzz host holds is ready at once, so nothing else blocks.
func tamePoll(mem view, in, n uint32) {
	for i := uint32(0); i < n; i++ {
		s, ok := mem.bytes(in+i*sizeSubscription, sizeSubscription)
		if !ok {
			return
		}
		if s[8] == eventtypeClock {
			binary.LittleEndian.PutUint64(s[24:], binary.LittleEndian.Uint64(s[24:])%1e6)
			binary.LittleEndian.PutUint16(s[40:], 0)
		}
	}
}
