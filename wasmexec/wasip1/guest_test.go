package wasip1

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// guest calls the host's functions directly, with a Go slice as linear
// memory: the calls see guest memory only through a view, so the unit
// tests need no module.
type guest struct {
	t   testing.TB
	h   *Host
	mem view
}

const guestMemSize = 1 << 16

func newGuest(t testing.TB, cfg Config) *guest {
	t.Helper()
	h, err := New(nil, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { h.Close() })
	return &guest{t: t, h: h, mem: make(view, guestMemSize)}
}

// callByName finds a call in the table the host defines.
func callByName(name string) call {
	for _, c := range calls {
		if c.name == name {
			return c
		}
	}
	panic("no WASI call " + name)
}

// call runs a WASI function with the arguments as the module would pass
// them (i32 arguments truncated to 32 bits), in the form of a name that
// takes that many arguments.
func (g *guest) call(name string, args ...int64) Errno {
	g.t.Helper()
	for _, c := range calls {
		if c.name == name && len(c.params) == len(args) {
			return c.fn(g.h, g.mem, vals(c.params, args))
		}
	}
	g.t.Fatalf("%s takes %d arguments, not %d", name, len(callByName(name).params), len(args))
	return 0
}

// vals lays the arguments out as wasmtime's raw values, with room for the
// result.
func vals(params string, in []int64) args {
	a := make(args, max(len(in), 1))
	for i, x := range in {
		if params[i] == 'I' {
			a[i][0] = uint64(x)
		} else {
			a[i][0] = uint64(uint32(x))
		}
	}
	return a
}

// mustCall fails the test unless the call returns want.
func (g *guest) mustCall(want Errno, name string, args ...int64) {
	g.t.Helper()
	if got := g.call(name, args...); got != want {
		g.t.Fatalf("%s%v = errno %d, want %d", name, args, got, want)
	}
}

func (g *guest) u32(ptr uint32) uint32 { return binary.LittleEndian.Uint32(g.mem[ptr:]) }
func (g *guest) u64(ptr uint32) uint64 { return binary.LittleEndian.Uint64(g.mem[ptr:]) }

// str writes s at ptr and returns its (ptr, len) arguments.
func (g *guest) str(ptr uint32, s string) (int64, int64) {
	copy(g.mem[ptr:], s)
	return int64(ptr), int64(len(s))
}

// iovec writes one iovec at ptr for the buffer (buf, n).
func (g *guest) iovec(ptr, buf, n uint32) {
	binary.LittleEndian.PutUint32(g.mem[ptr:], buf)
	binary.LittleEndian.PutUint32(g.mem[ptr+4:], n)
}

// openFile opens path under dirfd with the given oflags and rights and
// returns the new fd.
func (g *guest) openFile(dirfd int32, path string, oflags uint32, rights uint64) int32 {
	g.t.Helper()
	p, n := g.str(0x8000, path)
	g.mustCall(ErrnoSuccess, "path_open", int64(dirfd), 0, p, n, int64(oflags), int64(rights), 0, 0, 0x7000)
	return int32(g.u32(0x7000))
}

// tempTree makes a directory with the given files (name: content; a name
// ending in / is a directory).
func tempTree(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if name[len(name)-1] == '/' {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}
