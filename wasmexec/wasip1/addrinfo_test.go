package wasip1

import (
	"context"
	"encoding/binary"
	"errors"
	"net"
	"strings"
	"testing"
)

// chain lays out, with its address at resPtr, a chain of n result
// records at 0x500 with sockaddr records at 0x700, sa_data buffers of
// dataLen bytes at 0x800 and name buffers of canonLen bytes at 0xa00, and
// fills everything else with 0xaa to see what the host writes.
func (g *guest) chain(resPtr uint32, n, dataLen, canonLen uint32) {
	for i := uint32(0x500); i < 0xc00; i++ {
		g.mem[i] = 0xaa
	}
	g.mem.putU32(resPtr, 0x500)
	for i := uint32(0); i < n; i++ {
		rec, sa := 0x500+i*sizeAddrinfo, 0x700+i*sizeSockaddr
		g.mem.putU32(rec+12, sa)
		g.mem.putU32(rec+16, 0xa00+i*32)
		g.mem.putU32(rec+20, canonLen)
		g.mem.putU32(rec+24, 0)
		if i+1 < n {
			g.mem.putU32(rec+24, rec+sizeAddrinfo)
		}
		g.mem.putU32(sa+4, dataLen)
		g.mem.putU32(sa+8, 0x800+i*32)
	}
}

// hints writes a hints record at 0x400.
func (g *guest) hints(flags uint16, family, socktype, protocol uint8) {
	clear(g.mem[0x400 : 0x400+sizeAddrinfo])
	binary.LittleEndian.PutUint16(g.mem[0x400:], flags)
	g.mem[0x402], g.mem[0x403], g.mem[0x404] = family, socktype, protocol
}

// getaddrinfo looks node and service up into a chain of max records.
func (g *guest) getaddrinfo(want Errno, node, service string, max int64) uint32 {
	g.t.Helper()
	np, nl := g.str(0x100, node)
	sp, sl := g.str(0x200, service)
	g.mem.putU32(0x10, 0xdead)
	g.mustCall(want, "sock_getaddrinfo", np, nl, sp, sl, 0x400, 0x20, max, 0x10)
	return g.u32(0x10)
}

// result is record i of the chain: family, socktype, protocol, addrlen,
// sa_data and the canonical name.
func (g *guest) result(i uint32) (uint8, uint8, uint8, uint32, []byte, string) {
	rec, sa := 0x500+i*sizeAddrinfo, 0x700+i*sizeSockaddr
	data := g.mem[0x800+i*32 : 0x800+i*32+g.u32(sa+4)]
	canon := g.mem[0xa00+i*32 : 0xa00+i*32+g.u32(rec+20)]
	if g.mem[sa] != g.mem[rec+2] {
		g.t.Fatalf("record %d: sa_family %d, ai_family %d", i, g.mem[sa], g.mem[rec+2])
	}
	return g.mem[rec+2], g.mem[rec+3], g.mem[rec+4], g.u32(rec + 8), data, strings.TrimSuffix(string(canon), "\x00")
}

func TestSockGetaddrinfoNumeric(t *testing.T) {
	g := newGuest(t, Config{})
	g.chain(0x20, 4, 26, 32)
	g.hints(aiCanonname, afInet4, socktypeStream, 0)
	if n := g.getaddrinfo(ErrnoSuccess, "127.0.0.1\x00", "8080\x00", 4); n != 1 {
		t.Fatalf("%d results", n)
	}
	fam, st, proto, addrlen, data, canon := g.result(0)
	want := []byte{0x1f, 0x90, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0}
	if fam != afInet4 || st != socktypeStream || proto != protoTCP || addrlen != 16 || string(data) != string(want) || canon != "127.0.0.1" {
		t.Fatalf("result %d %d %d %d %v %q", fam, st, proto, addrlen, data, canon)
	}
	if g.mem[0x800+14] != 0xaa {
		t.Fatal("sa_data written past the address")
	}

	// Any socket type: a stream and a datagram result; IPv6 in 26 bytes.
	g.chain(0x20, 4, 26, 32)
	g.hints(0, afUnspec, socktypeAny, 0)
	if n := g.getaddrinfo(ErrnoSuccess, "::1", "53", 4); n != 2 {
		t.Fatalf("%d results", n)
	}
	for i, wantType := range []uint8{socktypeStream, socktypeDgram} {
		fam, st, _, addrlen, data, canon := g.result(uint32(i))
		if fam != afInet6 || st != wantType || addrlen != 28 || len(data) != 26 || data[1] != 53 || data[21] != 1 || canon != "" {
			t.Fatalf("result %d: %d %d %d %v %q", i, fam, st, addrlen, data, canon)
		}
	}

	// No node: loopback, or with PASSIVE the wildcard; the chain is
	// filled only as far as it goes.
	g.chain(0x20, 1, 26, 32)
	g.hints(aiPassive, afInet4, socktypeDgram, 0)
	if n := g.getaddrinfo(ErrnoSuccess, "", "9", 8); n != 1 {
		t.Fatalf("%d results", n)
	}
	if _, _, proto, _, data, _ := g.result(0); proto != protoUDP || string(data[2:6]) != "\x00\x00\x00\x00" || g.mem[0x500+sizeAddrinfo] != 0xaa {
		t.Fatalf("passive: proto %d data %v", proto, data)
	}
	// sa_data_len is in and out: the chain is laid anew for each call.
	g.chain(0x20, 1, 26, 32)
	g.hints(0, afInet6, socktypeStream, 0)
	g.getaddrinfo(ErrnoSuccess, "", "9", 1)
	if _, _, _, _, data, _ := g.result(0); data[21] != 1 {
		t.Fatalf("loopback: %v", data)
	}
	g.chain(0x20, 1, 26, 32)
	g.hints(aiV4mapped, afInet6, socktypeStream, 0)
	g.getaddrinfo(ErrnoSuccess, "10.0.0.1", "", 1)
	if _, _, _, _, data, _ := g.result(0); string(data[6:22]) != string(net.ParseIP("::ffff:10.0.0.1").To16()) {
		t.Fatalf("v4-mapped: %v", data)
	}

	// Small buffers: sa_data and the name are cut to their sizes.
	g.chain(0x20, 1, 6, 4)
	g.hints(aiCanonname, afInet4, socktypeStream, 0)
	g.getaddrinfo(ErrnoSuccess, "127.0.0.1", "80", 1)
	if _, _, _, _, data, canon := g.result(0); len(data) != 6 || canon != "127" || g.mem[0x806] != 0xaa || g.mem[0xa04] != 0xaa {
		t.Fatalf("cut: data %v name %q", data, canon)
	}
}

func TestSockGetaddrinfoBadInput(t *testing.T) {
	g := newGuest(t, Config{})
	g.chain(0x20, 2, 26, 32)
	for _, tc := range []struct {
		name              string
		flags             uint16
		family, st, proto uint8
		node, service     string
		max               int64
		want              Errno
	}{
		{"unknown flag", 0x80, 0, 0, 0, "127.0.0.1", "", 2, ErrnoAibadflag},
		{"canonname without node", aiCanonname, 0, 0, 0, "", "80", 2, ErrnoAibadflag},
		{"family", 0, 3, 0, 0, "127.0.0.1", "", 2, ErrnoAifamily},
		{"socktype", 0, 0, 3, 0, "127.0.0.1", "", 2, ErrnoNosys},
		{"protocol", 0, 0, 0, 3, "127.0.0.1", "", 2, ErrnoNosys},
		{"nothing to look up", 0, 0, 0, 0, "", "", 2, ErrnoAinoname},
		{"no records", 0, 0, 0, 0, "127.0.0.1", "", 0, ErrnoAimemory},
		{"numeric host required", aiNumerichost, 0, 0, 0, "localhost", "", 2, ErrnoAinoname},
		{"numeric service required", aiNumericserv, 0, 0, 0, "127.0.0.1", "http", 2, ErrnoAinoname},
		{"unknown service", 0, 0, 0, 0, "127.0.0.1", "no-such-service-here", 2, ErrnoAiservice},
		{"zone", 0, 0, 0, 0, "fe80::1%eth0", "", 2, ErrnoAinoname},
		{"family mismatch", 0, afInet6, 0, 0, "127.0.0.1", "", 2, ErrnoAiaddrfamily},
		{"socktype against protocol", 0, 0, socktypeStream, protoUDP, "127.0.0.1", "", 2, ErrnoAisocktype},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g.hints(tc.flags, tc.family, tc.st, tc.proto)
			if n := g.getaddrinfo(tc.want, tc.node, tc.service, tc.max); n != 0xdead {
				t.Fatalf("a failed lookup wrote its count %d", n)
			}
		})
	}

	// Pointers: the node, service, hints, res, count and every part of
	// the chain must be inside memory, checked before anything is
	// written.
	g.hints(0, afInet4, socktypeStream, 0)
	np, nl := g.str(0x100, "127.0.0.1")
	call := func(want Errno, node, nodeLen, hints, res, max, out int64) {
		t.Helper()
		g.mustCall(want, "sock_getaddrinfo", node, nodeLen, 0x200, 0, hints, res, max, out)
	}
	call(ErrnoFault, guestMemSize-4, nl, 0x400, 0x20, 2, 0x10)
	call(ErrnoFault, np, 0xffffffff, 0x400, 0x20, 2, 0x10)
	call(ErrnoFault, np, nl, guestMemSize-4, 0x20, 2, 0x10)
	call(ErrnoFault, np, nl, 0x400, guestMemSize-2, 2, 0x10)
	call(ErrnoFault, np, nl, 0x400, 0x20, 2, guestMemSize-2)
	for _, bad := range []struct {
		ptr uint32
		val uint32
	}{
		{0x20, guestMemSize - 8},        // the first record
		{0x500 + 12, guestMemSize - 4},  // its sockaddr record
		{0x700 + 8, guestMemSize - 4},   // sa_data
		{0x700 + 4, 0xffffffff},         // sa_data_len
		{0x500 + 16, guestMemSize - 4},  // the name buffer
		{0x500 + 24, guestMemSize - 4},  // ai_next
		{0x500 + 28 + 12, guestMemSize}, // the second record's sockaddr
	} {
		g.chain(0x20, 2, 26, 32)
		g.mem.putU32(bad.ptr, bad.val)
		before := append([]byte(nil), g.mem...)
		call(ErrnoFault, np, nl, 0x400, 0x20, 2, 0x10)
		if string(before) != string(g.mem) {
			t.Fatalf("a chain bad at %#x: memory changed", bad.ptr)
		}
	}
	// A chain that loops ends at maxAddrinfo records.
	g.chain(0x20, 1, 26, 32)
	g.mem.putU32(0x500+24, 0x500)
	g.hints(0, afUnspec, socktypeAny, 0)
	if n := g.getaddrinfo(ErrnoSuccess, "127.0.0.1", "", 1<<31); n != 2 {
		t.Fatalf("a looping chain: %d results", n)
	}
}

// fakeDNS answers, over the stream a resolver's Dial returns, every A
// query for name with addr and every other query with no records.
func fakeDNS(name string, addr [4]byte) func(context.Context, string, string) (net.Conn, error) {
	return func(context.Context, string, string) (net.Conn, error) {
		client, server := net.Pipe()
		go func() {
			defer server.Close()
			for {
				var l [2]byte
				if _, err := server.Read(l[:]); err != nil {
					return
				}
				q := make([]byte, binary.BigEndian.Uint16(l[:]))
				if _, err := readFull(server, q); err != nil || len(q) < 12 {
					return
				}
				// The question: labels up to a zero byte, then type and class.
				end := 12
				for end < len(q) && q[end] != 0 {
					end += int(q[end]) + 1
				}
				if end+5 > len(q) {
					return
				}
				qname, qtype := labels(q[12:end]), binary.BigEndian.Uint16(q[end+1:])
				resp := append([]byte(nil), q[:end+5]...)
				binary.BigEndian.PutUint16(resp[2:], 0x8180) // response, recursion available
				binary.BigEndian.PutUint16(resp[8:], 0)
				binary.BigEndian.PutUint16(resp[10:], 0)
				if qname == name && qtype == 1 {
					binary.BigEndian.PutUint16(resp[6:], 1)
					resp = append(resp, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4)
					resp = append(resp, addr[:]...)
				} else {
					binary.BigEndian.PutUint16(resp[6:], 0)
					if qname != name {
						resp[3] |= 3 // NXDOMAIN
					}
				}
				out := binary.BigEndian.AppendUint16(nil, uint16(len(resp)))
				if _, err := server.Write(append(out, resp...)); err != nil {
					return
				}
			}
		}()
		return client, nil
	}
}

func labels(b []byte) string {
	var parts []string
	for len(b) > 0 && int(b[0]) < len(b) {
		parts = append(parts, string(b[1:1+b[0]]))
		b = b[1+b[0]:]
	}
	return strings.Join(parts, ".") + "."
}

func readFull(c net.Conn, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// TestSockGetaddrinfoNames: a name goes to the resolver; its failures are
// EAI errnos.
func TestSockGetaddrinfoNames(t *testing.T) {
	g := newGuest(t, Config{})
	g.h.resolver = &net.Resolver{PreferGo: true, Dial: fakeDNS("wasm-host.test.", [4]byte{10, 9, 8, 7})}
	g.chain(0x20, 4, 26, 32)
	g.hints(aiCanonname, afInet4, socktypeStream, 0)
	if n := g.getaddrinfo(ErrnoSuccess, "wasm-host.test.", "443", 4); n != 1 {
		t.Fatalf("%d results", n)
	}
	if fam, _, _, _, data, canon := g.result(0); fam != afInet4 || string(data[:6]) != "\x01\xbb\x0a\x09\x08\x07" || canon != "wasm-host.test." {
		t.Fatalf("resolved %v %q", data, canon)
	}
	g.getaddrinfo(ErrnoAinoname, "no-such-host.test.", "443", 4)

	g.h.resolver = &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
		return nil, errors.New("no name server")
	}}
	if errno := g.call("sock_getaddrinfo", 0x100, int64(copy(g.mem[0x100:], "wasm-host.test.")), 0x200, 0, 0x400, 0x20, 4, 0x10); errno != ErrnoAiagain && errno != ErrnoAifail {
		t.Fatalf("no name server: errno %d", errno)
	}
}
