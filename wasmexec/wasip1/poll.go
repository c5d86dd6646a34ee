package wasip1

import (
	"encoding/binary"
	"math"

	"golang.org/x/sys/unix"
)

// maxSubscriptions bounds one poll_oneoff, as the subscription array must
// fit guest memory anyway.
const maxSubscriptions = math.MaxUint32 / sizeSubscription

// pollClock is a clock subscription: its index and how long from the
// start of the call until it fires.
type pollClock struct {
	sub uint32
	in  int64
}

// pollOneoff waits in ppoll(2) on the real descriptors of the fd
// subscriptions, for at most the nearest clock subscription. An fd
// subscription that cannot be polled (a bad fd, no right) is an event with
// its error at once, as are the subscriptions ready when the call starts.
func (h *Host) pollOneoff(v view, a args) Errno {
	n := a.u32(2)
	if n == 0 {
		return ErrnoInval
	}
	if n > maxSubscriptions {
		return ErrnoFault
	}
	subs, ok := v.bytes(a.u32(0), n*sizeSubscription)
	if !ok {
		return ErrnoFault
	}
	events, ok := v.bytes(a.u32(1), n*sizeEvent)
	if !ok {
		return ErrnoFault
	}
	if _, ok := v.bytes(a.u32(3), 4); !ok {
		return ErrnoFault
	}
	h.pollFds, h.pollSubs, h.pollClocks = h.pollFds[:0], h.pollSubs[:0], h.pollClocks[:0]
	nev := uint32(0)
	timeout := int64(-1)
	for i := uint32(0); i < n; i++ {
		s := subs[i*sizeSubscription : (i+1)*sizeSubscription]
		switch s[8] {
		case eventtypeClock:
			in, errno := h.clockIn(binary.LittleEndian.Uint32(s[16:]), binary.LittleEndian.Uint64(s[24:]),
				binary.LittleEndian.Uint16(s[40:]))
			if errno != ErrnoSuccess {
				putEvent(events, nev, s, errno, 0, 0)
				nev++
				continue
			}
			h.pollClocks = append(h.pollClocks, pollClock{sub: i, in: in})
			if timeout < 0 || in < timeout {
				timeout = in
			}
		case eventtypeFdRead, eventtypeFdWrite:
			e, errno := h.fds.get(int32(binary.LittleEndian.Uint32(s[16:])), rightPollFdReadwrite)
			if errno != ErrnoSuccess {
				putEvent(events, nev, s, errno, 0, 0)
				nev++
				continue
			}
			ev := int16(unix.POLLIN)
			if s[8] == eventtypeFdWrite {
				ev = unix.POLLOUT
			}
			h.pollFds = append(h.pollFds, unix.PollFd{Fd: int32(e.hostFd), Events: ev})
			h.pollSubs = append(h.pollSubs, i)
		default:
			return ErrnoInval
		}
	}
	if nev > 0 {
		timeout = 0
	}
	start := h.clock.Monotonic()
	ready, errno := ppoll(h.pollFds, timeout, start, h.clock)
	if errno != ErrnoSuccess {
		return errno
	}
	if ready > 0 {
		for j, p := range h.pollFds {
			if p.Revents != 0 {
				nev = h.putFdEvent(events, nev, subs, h.pollSubs[j], p)
			}
		}
	}
	elapsed := h.clock.Monotonic() - start
	for _, c := range h.pollClocks {
		// ppoll(2) returns 0 only after the timeout, which is the
		// nearest clock: that one fires even if the clock source lags.
		if c.in <= elapsed || (ready == 0 && c.in == timeout) {
			putEvent(events, nev, subs[c.sub*sizeSubscription:], ErrnoSuccess, 0, 0)
			nev++
		}
	}
	return v.putU32Result(a.u32(3), nev)
}

// clockIn is how long until a clock subscription fires.
func (h *Host) clockIn(id uint32, timeout uint64, flags uint16) (int64, Errno) {
	if timeout > math.MaxInt64 {
		timeout = math.MaxInt64
	}
	if flags&subclockAbstime == 0 {
		if _, ok := kernelClock(id); !ok {
			return 0, ErrnoInval
		}
		return int64(timeout), ErrnoSuccess
	}
	now, errno := h.now(id)
	if errno != ErrnoSuccess {
		return 0, errno
	}
	return max(int64(timeout)-now, 0), ErrnoSuccess
}

// ppoll waits for fds for at most timeout nanoseconds (-1: forever),
// restarting after a signal with what remains.
func ppoll(fds []unix.PollFd, timeout, start int64, clock Clock) (int, Errno) {
	for {
		var ts *unix.Timespec
		var t unix.Timespec
		if timeout >= 0 {
			left := max(timeout-(clock.Monotonic()-start), 0)
			t = unix.NsecToTimespec(left)
			ts = &t
		}
		n, err := unix.Ppoll(fds, ts, nil)
		if err == unix.EINTR {
			continue
		}
		return n, errnoOf(err)
	}
}

// putFdEvent writes the event of a polled descriptor: readable bytes
// when the kernel says, HANGUP on hang-up, EBADF for a closed one.
func (h *Host) putFdEvent(events []byte, nev uint32, subs []byte, sub uint32, p unix.PollFd) uint32 {
	s := subs[sub*sizeSubscription:]
	var errno Errno
	var nbytes uint64
	var flags uint16
	switch {
	case p.Revents&unix.POLLNVAL != 0:
		errno = ErrnoBadf
	case p.Events == unix.POLLIN && p.Revents&unix.POLLIN != 0:
		if avail, err := unix.IoctlGetInt(int(p.Fd), unix.SIOCINQ); err == nil && avail > 0 {
			nbytes = uint64(avail)
		}
	}
	if p.Revents&unix.POLLHUP != 0 {
		flags |= eventHangup
	}
	putEvent(events, nev, s, errno, nbytes, flags)
	return nev + 1
}

// putEvent writes event number nev for subscription s.
func putEvent(events []byte, nev uint32, s []byte, errno Errno, nbytes uint64, flags uint16) {
	out := events[nev*sizeEvent : (nev+1)*sizeEvent]
	clear(out)
	copy(out[0:8], s[0:8])
	binary.LittleEndian.PutUint16(out[8:], uint16(errno))
	out[10] = s[8]
	binary.LittleEndian.PutUint64(out[16:], nbytes)
	binary.LittleEndian.PutUint16(out[24:], flags)
}
