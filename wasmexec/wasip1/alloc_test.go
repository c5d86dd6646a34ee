package wasip1

import (
	"os"
	"testing"
)

// TestHotPathsDoNotAllocate: the calls a busy module makes most allocate
// nothing of their own (wasmtime-go's trampoline allocates its argument
// slice; that is outside our reach).
func TestHotPathsDoNotAllocate(t *testing.T) {
	root := tempTree(t, map[string]string{"small.txt": "hello world"})
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	g := newGuest(t, Config{Stdout: null, Dirs: []Dir{{HostPath: root, GuestPath: "/"}}})
	g.iovec(0, 0x100, 1)
	g.iovec(8, 0x200, 64)
	p, n := g.str(0x300, "small.txt")
	// The fd path_open returns is the next free one, 4, every round.
	args := func(name string, a ...int64) func() Errno {
		c := callByName(name)
		v := vals(c.params, a)
		return func() Errno { return c.fn(g.h, g.mem, v) }
	}
	tests := []struct {
		name  string
		calls []func() Errno
	}{
		{"fd_write", []func() Errno{args("fd_write", 1, 0, 1, 0x10)}},
		{"clock_time_get", []func() Errno{args("clock_time_get", clockMonotonic, 0, 0x10)}},
		{"path_open fd_read fd_seek fd_close", []func() Errno{
			args("path_open", 3, 0, p, n, 0, int64(rightsFile), 0, 0, 0x10),
			args("fd_read", 4, 8, 1, 0x14),
			args("fd_seek", 4, 0, whenceSet, 0x18),
			args("fd_close", 4),
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run := func() {
				for _, c := range tc.calls {
					if errno := c(); errno != ErrnoSuccess {
						t.Fatalf("errno %d", errno)
					}
				}
			}
			if allocs := testing.AllocsPerRun(100, run); allocs != 0 {
				t.Fatalf("%v allocations per round", allocs)
			}
		})
	}
}
