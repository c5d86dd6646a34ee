package wasmexec

// wasi:clocks/monotonic-clock and wall-clock.

import (
	"math"
	"sync"
	"time"
)

func init() {
	registerP2Interface("wasi:clocks/monotonic-clock", defineP2Monotonic)
	registerP2Interface("wasi:clocks/wall-clock", defineP2WallClock)
}

// p2MonoBase is the origin of the monotonic clock: what a guest sees is
// nanoseconds since the process started (Go's monotonic reading).
var p2MonoBase = time.Now()

func p2MonoNow() uint64 { return uint64(time.Since(p2MonoBase)) }

// p2ClockResolution is the resolution both clocks report: Go's clocks
// read nanoseconds.
const p2ClockResolution = 1

func defineP2Monotonic(w *p2World, name string) {
	w.resource(p2IOPoll, "pollable")
	w.l.defineFunc(name, "now", func(h *hostInstance, p, r []cval) error {
		r[0] = valU64(p2MonoNow())
		return nil
	})
	w.l.defineFunc(name, "resolution", func(h *hostInstance, p, r []cval) error {
		r[0] = valU64(p2ClockResolution)
		return nil
	})
	w.l.defineFunc(name, "subscribe-instant", func(h *hostInstance, p, r []cval) error {
		r[0] = h.newPollable(w, newTimerSource(p[0].U64()))
		return nil
	})
	w.l.defineFunc(name, "subscribe-duration", func(h *hostInstance, p, r []cval) error {
		now, d := p2MonoNow(), p[0].U64()
		when := uint64(math.MaxUint64)
		if d < math.MaxUint64-now {
			when = now + d
		}
		r[0] = h.newPollable(w, newTimerSource(when))
		return nil
	})
}

// timerSource is a pollable that becomes ready when the monotonic clock
// reaches when. Its timer starts on the first ready call and stops when
// its pollable is dropped.
type timerSource struct {
	when  uint64
	mu    sync.Mutex // guards ch and timer
	ch    chan struct{}
	timer *time.Timer
}

func newTimerSource(when uint64) *timerSource { return &timerSource{when: when} }

func (t *timerSource) ready() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ch != nil {
		return t.ch
	}
	t.ch = make(chan struct{})
	now := p2MonoNow()
	switch {
	case t.when <= now:
		close(t.ch)
	case t.when-now <= math.MaxInt64:
		ch := t.ch
		t.timer = time.AfterFunc(time.Duration(t.when-now), func() { close(ch) })
		// Further than 292 years away: never ready, and no timer.
	}
	return t.ch
}

func (t *timerSource) stopPolling() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.timer != nil {
		t.timer.Stop()
	}
}

func defineP2WallClock(w *p2World, name string) {
	w.l.defineFunc(name, "now", func(h *hostInstance, p, r []cval) error {
		r[0] = p2Datetime(time.Now())
		return nil
	})
	w.l.defineFunc(name, "resolution", func(h *hostInstance, p, r []cval) error {
		r[0] = valRecord(field{"seconds", valU64(0)}, field{"nanoseconds", valU32(p2ClockResolution)})
		return nil
	})
}

// p2Datetime is a wall-clock datetime; a time before 1970 reads as the
// epoch (the record is unsigned).
func p2Datetime(t time.Time) cval {
	sec, nsec := t.Unix(), t.Nanosecond()
	if sec < 0 {
		sec, nsec = 0, 0
	}
	return valRecord(field{"seconds", valU64(uint64(sec))}, field{"nanoseconds", valU32(uint32(nsec))})
}
