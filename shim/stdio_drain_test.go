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

// A task keeps writing after its output's reader has gone (ctr run -d
// returned): its writes must still succeed.
func TestOutputOutlivesItsReader(t *testing.T) {
	fifoR, fifoW := pipe(t)
	fifoR.Close() // nobody reads the fifo any more
	taskR, taskW := pipe(t)
	var p processIO
	p.copyOutput(taskR, fifoW)
	chunk := make([]byte, 64<<10)
	for i := 0; i < 16; i++ { // 1 MiB: far more than a pipe holds
		if _, err := taskW.Write(chunk); err != nil {
			t.Fatalf("write %d of the task's output: %v", i, err)
		}
	}
	taskW.Close()
	done := make(chan struct{})
	go func() { p.outputs.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the output copy did not end after the task closed its end")
	}
}
