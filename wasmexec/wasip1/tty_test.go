package wasip1

import (
	"os"
	"testing"

	"github.com/creack/pty"
)

// TestIsatty: a terminal is a character device without seek rights (what
// wasi-libc's isatty looks for); /dev/null is a character device that
// can seek.
func TestIsatty(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	g := newGuest(t, Config{Stdin: null, Stdout: tty})
	for _, tc := range []struct {
		fd       int64
		terminal bool
	}{{0, false}, {1, true}} {
		g.mustCall(ErrnoSuccess, "fd_fdstat_get", tc.fd, 0x10)
		seek := g.u64(0x18)&(rightFdSeek|rightFdTell) != 0
		if g.mem[0x10] != byte(filetypeCharacterDevice) || seek == tc.terminal {
			t.Errorf("fd %d: type %d, seek rights %v; want a character device that is a terminal: %v",
				tc.fd, g.mem[0x10], seek, tc.terminal)
		}
	}
}
