package shim

import (
	"os"
	"testing"
	"time"
)

// The exit waits for an attached reader to take the last output, but not
// for a fifo whose reader has gone (`ctr run -d`): that one never drains.
func TestAwaitDrained(t *testing.T) {
	t.Run("reader takes it", func(t *testing.T) {
		r, w := pipe(t)
		if _, err := w.Write([]byte("last line\n")); err != nil {
			t.Fatal(err)
		}
		go func() {
			time.Sleep(50 * time.Millisecond)
			buf := make([]byte, 64)
			_, _ = r.Read(buf)
		}()
		start := time.Now()
		awaitDrained(w, 5*time.Second)
		if d := time.Since(start); d < 40*time.Millisecond {
			t.Errorf("returned after %s, before the reader took the output", d)
		}
		if n := unreadBytes(w); n != 0 {
			t.Errorf("%d bytes unread after awaitDrained", n)
		}
	})
	t.Run("no reader left", func(t *testing.T) {
		r, w := pipe(t)
		if _, err := w.Write([]byte("nobody reads this\n")); err != nil {
			t.Fatal(err)
		}
		r.Close()
		start := time.Now()
		awaitDrained(w, 5*time.Second)
		if d := time.Since(start); d > time.Second {
			t.Errorf("waited %s for a fifo nobody reads", d)
		}
	})
	t.Run("reader never reads", func(t *testing.T) {
		_, w := pipe(t)
		if _, err := w.Write([]byte("stuck\n")); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		awaitDrained(w, 200*time.Millisecond)
		if d := time.Since(start); d < 200*time.Millisecond {
			t.Errorf("gave up after %s, before the timeout, with a reader attached", d)
		}
	})
}

func pipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}
