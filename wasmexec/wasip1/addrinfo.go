package wasip1

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// lookupTimeout bounds one sock_getaddrinfo's name and service lookups.
const lookupTimeout = 5 * time.Second

// maxAddrinfo bounds the records one sock_getaddrinfo fills (and walks:
// the guest's chain may loop).
const maxAddrinfo = 64

// newResolver is Go's own resolver: it reads /etc/hosts, resolv.conf and
// nsswitch.conf as the process sees them and asks their name servers,
// and loads none of libc's NSS modules. The guest gets addresses back,
// never the files.
func newResolver() *net.Resolver { return &net.Resolver{PreferGo: true} }

// addrinfoRec is one guest record of the chain sock_getaddrinfo fills.
type addrinfoRec struct {
	rec, sockaddr, data, canon []byte
}

// addrResult is one result: an address and a socket type and protocol.
type addrResult struct {
	ip       netip.Addr
	port     uint16
	socktype uint8
	protocol uint8
}

// sockGetaddrinfo is (node, node_len, service, service_len, hints, res,
// max_res_len, ro_res_len). res holds the address of the first of a chain
// of records the guest lends, linked by ai_next; the host fills the first
// n of them, each within the sizes the guest gave, and writes n.
func (h *Host) sockGetaddrinfo(v view, a args) Errno {
	node, ok := v.bytes(a.u32(0), a.u32(1))
	if !ok {
		return ErrnoFault
	}
	service, ok := v.bytes(a.u32(2), a.u32(3))
	if !ok {
		return ErrnoFault
	}
	node, service = cutNUL(node), cutNUL(service)
	hints, ok := v.bytes(a.u32(4), sizeAddrinfo)
	if !ok {
		return ErrnoFault
	}
	flags := binary.LittleEndian.Uint16(hints)
	family, socktype, protocol := hints[2], hints[3], hints[4]
	const allFlags = aiPassive | aiCanonname | aiNumerichost | aiNumericserv | aiV4mapped | aiAll | aiAddrconfig
	switch {
	case flags&^allFlags != 0 || flags&aiCanonname != 0 && len(node) == 0:
		return ErrnoAibadflag
	case family > afInet6:
		return ErrnoAifamily
	case socktype > socktypeStream || protocol > protoUDP:
		return ErrnoNosys
	case len(node) == 0 && len(service) == 0:
		return ErrnoAinoname
	case a.u32(6) < 1:
		return ErrnoAimemory
	}
	first, ok := v.u32(a.u32(5))
	if !ok {
		return ErrnoFault
	}
	if _, ok := v.bytes(a.u32(7), 4); !ok {
		return ErrnoFault
	}
	recs, errno := addrinfoChain(v, first, min(a.u32(6), maxAddrinfo))
	if errno != ErrnoSuccess {
		return errno
	}
	results, errno := h.lookup(string(node), string(service), flags, family, socktype, protocol)
	if errno != ErrnoSuccess {
		return errno
	}
	n := min(len(results), len(recs))
	for i, r := range results[:n] {
		var canon string
		if i == 0 && flags&aiCanonname != 0 {
			canon = string(node)
		}
		putAddrinfo(recs[i], r, flags, canon)
	}
	v.putU32(a.u32(7), uint32(n))
	return ErrnoSuccess
}

// cutNUL is b up to its first NUL: the crate counts the NUL in the length.
func cutNUL(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// addrinfoChain checks the guest's chain of at most limit records, each
// with its sockaddr record and buffers, before anything is resolved. A
// null ai_next ends it early.
func addrinfoChain(v view, p, limit uint32) ([]addrinfoRec, Errno) {
	var recs []addrinfoRec
	for i := uint32(0); i < limit; i++ {
		rec, ok := v.bytes(p, sizeAddrinfo)
		if !ok {
			return nil, ErrnoFault
		}
		sa, ok := v.bytes(binary.LittleEndian.Uint32(rec[12:]), sizeSockaddr)
		if !ok {
			return nil, ErrnoFault
		}
		data, ok := v.bytes(binary.LittleEndian.Uint32(sa[8:]), binary.LittleEndian.Uint32(sa[4:]))
		if !ok {
			return nil, ErrnoFault
		}
		canon, ok := v.bytes(binary.LittleEndian.Uint32(rec[16:]), binary.LittleEndian.Uint32(rec[20:]))
		if !ok {
			return nil, ErrnoFault
		}
		recs = append(recs, addrinfoRec{rec: rec, sockaddr: sa, data: data, canon: canon})
		if p = binary.LittleEndian.Uint32(rec[24:]); p == 0 {
			break
		}
	}
	return recs, ErrnoSuccess
}

// lookup resolves node and service as getaddrinfo(3) would: numeric
// hosts as they are, an empty node as the wildcard (PASSIVE) or loopback
// address, names through h.resolver within lookupTimeout.
func (h *Host) lookup(node, service string, flags uint16, family, socktype, protocol uint8) ([]addrResult, Errno) {
	ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
	defer cancel()
	network := "tcp"
	if socktype == socktypeDgram || protocol == protoUDP {
		network = "udp"
	}
	var port uint16
	if service != "" {
		p, err := strconv.ParseUint(service, 10, 16)
		switch {
		case err == nil:
			port = uint16(p)
		case flags&aiNumericserv != 0:
			return nil, ErrnoAinoname
		default:
			q, err := h.resolver.LookupPort(ctx, network, service)
			if err != nil || q < 0 || q > 0xffff {
				return nil, ErrnoAiservice
			}
			port = uint16(q)
		}
	}
	var ips []netip.Addr
	switch {
	case node == "" && flags&aiPassive != 0:
		ips = []netip.Addr{netip.IPv4Unspecified(), netip.IPv6Unspecified()}
	case node == "":
		ips = []netip.Addr{netip.AddrFrom4([4]byte{127, 0, 0, 1}), netip.IPv6Loopback()}
	default:
		ip, err := netip.ParseAddr(node)
		switch {
		case err == nil && ip.Zone() != "":
			// A scope names a host interface: not offered.
			return nil, ErrnoAinoname
		case err == nil:
			ips = []netip.Addr{ip}
		case flags&aiNumerichost != 0:
			return nil, ErrnoAinoname
		default:
			want := "ip"
			if family == afInet4 {
				want = "ip4"
			} else if family == afInet6 {
				want = "ip6"
			}
			found, err := h.resolver.LookupNetIP(ctx, want, node)
			if err != nil {
				return nil, errnoOfLookup(err)
			}
			ips = found
		}
	}
	var out []addrResult
	for _, ip := range ips {
		ip = ip.Unmap()
		if family == afInet6 && ip.Is4() && flags&aiV4mapped != 0 {
			ip = netip.AddrFrom16(ip.As16())
		}
		if family == afInet4 && !ip.Is4() || family == afInet6 && ip.Is4() {
			continue
		}
		ip = ip.WithZone("")
		for _, st := range []uint8{socktypeStream, socktypeDgram} {
			proto := uint8(protoTCP)
			if st == socktypeDgram {
				proto = protoUDP
			}
			if socktype != socktypeAny && socktype != st || protocol != protoIP && protocol != proto {
				continue
			}
			out = append(out, addrResult{ip: ip, socktype: st, protocol: proto})
		}
		if len(out) >= maxAddrinfo {
			break
		}
	}
	if len(out) == 0 {
		if len(ips) > 0 && socktype == socktypeAny {
			return nil, ErrnoAiaddrfamily
		}
		if len(ips) > 0 {
			return nil, ErrnoAisocktype
		}
		return nil, ErrnoAinodata
	}
	for i := range out {
		out[i].port = port
	}
	return out, ErrnoSuccess
}

// errnoOfLookup maps a resolver's error to WasmEdge's EAI_* errno.
func errnoOfLookup(err error) Errno {
	var dnsErr *net.DNSError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return ErrnoAiagain
	case !errors.As(err, &dnsErr):
		return ErrnoAifail
	case dnsErr.IsNotFound:
		return ErrnoAinoname
	case dnsErr.IsTimeout || dnsErr.IsTemporary:
		return ErrnoAiagain
	}
	return ErrnoAifail
}

// putAddrinfo fills one guest record: at most sa_data_len bytes of the
// kernel's sockaddr after its family (port big-endian, then the
// address), and at most ai_canonname_len bytes of the name with its NUL.
func putAddrinfo(r addrinfoRec, res addrResult, flags uint16, canon string) {
	var data [26]byte
	binary.BigEndian.PutUint16(data[0:], res.port)
	family, addrlen, size := uint8(afInet4), uint32(16), 14
	if res.ip.Is4() {
		a := res.ip.As4()
		copy(data[2:6], a[:])
	} else {
		a := res.ip.As16()
		copy(data[6:22], a[:])
		family, addrlen, size = afInet6, 28, 26
	}
	n := copy(r.data, data[:size])

	clear(r.rec[:12])
	binary.LittleEndian.PutUint16(r.rec[0:], flags)
	r.rec[2], r.rec[3], r.rec[4] = family, res.socktype, res.protocol
	binary.LittleEndian.PutUint32(r.rec[8:], addrlen)
	r.sockaddr[0] = family
	clear(r.sockaddr[1:4])
	binary.LittleEndian.PutUint32(r.sockaddr[4:], uint32(n))

	var canonLen int
	if canon != "" && len(r.canon) > 0 {
		canonLen = copy(r.canon[:len(r.canon)-1], canon)
		r.canon[canonLen] = 0
		canonLen++
	}
	binary.LittleEndian.PutUint32(r.rec[20:], uint32(canonLen))
}
