package wasip1

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// escapeFixture is a preopen inside a directory that holds a secret: every
// test below tries to reach it (or the host's /etc and /proc) from the
// preopen, and the fixture checks afterwards that nothing outside changed.
type escapeFixture struct {
	outer, root string
	before      string
}

func newEscapeFixture(t *testing.T) *escapeFixture {
	t.Helper()
	outer := t.TempDir()
	root := filepath.Join(outer, "root")
	for _, d := range []string{root, filepath.Join(root, "d")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{"secret": "secret", "root/f": "inside", "root/d/g": "inside"}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(outer, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Unix(1000, 0)
	os.Chtimes(filepath.Join(outer, "secret"), old, old)
	links := map[string]string{
		"abs":       "/etc",
		"absfile":   "/etc/passwd",
		"up":        "..",
		"upfile":    "../secret",
		"deep":      "d/../../secret",
		"procroot":  "/proc/self/root",
		"selfloop":  "selfloop",
		"d/updir":   "../..",
		"d/inside":  "../f",
		"d/outside": "../../secret",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	f := &escapeFixture{outer: outer, root: root}
	f.before = f.snapshot(t)
	return f
}

// snapshot lists everything outside the preopen with its size and times.
func (f *escapeFixture) snapshot(t *testing.T) string {
	t.Helper()
	var lines []string
	entries, err := os.ReadDir(f.outer)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() == "root" {
			continue
		}
		st, err := os.Lstat(filepath.Join(f.outer, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, e.Name()+" "+st.Mode().String()+" "+itoa(uint32(st.Size()))+" "+st.ModTime().String())
	}
	b, _ := os.ReadFile(filepath.Join(f.outer, "secret"))
	lines = append(lines, string(b))
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func (f *escapeFixture) check(t *testing.T) {
	t.Helper()
	if after := f.snapshot(t); after != f.before {
		t.Fatalf("outside the preopen changed:\n%s\nwas:\n%s", after, f.before)
	}
}

func TestPathEscapes(t *testing.T) {
	fx := newEscapeFixture(t)
	g := newGuest(t, Config{Dirs: []Dir{{HostPath: fx.root, GuestPath: "/"}, {HostPath: "/proc/self", GuestPath: "/proc"}}})
	type tc struct {
		name string
		call string
		args func() []int64
		want Errno
	}
	p := func(s string) (int64, int64) { return g.str(0x1000, s) }
	q := func(s string) (int64, int64) { return g.str(0x2000, s) }
	open := func(path string, lookup, oflags int64) func() []int64 {
		return func() []int64 {
			a, n := p(path)
			return []int64{3, lookup, a, n, oflags, int64(rightsFile), 0, 0, 0x10}
		}
	}
	one := func(fd int64, path string) func() []int64 {
		return func() []int64 { a, n := p(path); return []int64{fd, a, n} }
	}
	two := func(from, to string) func() []int64 {
		return func() []int64 { a, n := p(from); b, m := q(to); return []int64{3, a, n, 3, b, m} }
	}
	follow := int64(lookupSymlinkFollow)
	tests := []tc{
		{"open ..", "path_open", open("..", 0, oflagDirectory), ErrnoNotcapable},
		{"open ../secret", "path_open", open("../secret", follow, 0), ErrnoNotcapable},
		{"open d/../../secret", "path_open", open("d/../../secret", follow, 0), ErrnoNotcapable},
		{"open ./../secret", "path_open", open("./../secret", follow, 0), ErrnoNotcapable},
		{"open absolute", "path_open", open("/etc/passwd", follow, 0), ErrnoNotcapable},
		{"open through an absolute symlink", "path_open", open("abs/passwd", follow, 0), ErrnoNotcapable},
		{"open an absolute symlink", "path_open", open("absfile", follow, 0), ErrnoNotcapable},
		{"open through a symlink to ..", "path_open", open("up/secret", follow, 0), ErrnoNotcapable},
		{"open a symlink to ../secret", "path_open", open("upfile", follow, 0), ErrnoNotcapable},
		{"open a symlink that climbs", "path_open", open("deep", follow, 0), ErrnoNotcapable},
		{"open a nested symlink to ../..", "path_open", open("d/updir/secret", follow, 0), ErrnoNotcapable},
		{"open a nested symlink out", "path_open", open("d/outside", follow, 0), ErrnoNotcapable},
		{"open a symlink to /proc/self/root", "path_open", open("procroot/etc/passwd", follow, 0), ErrnoNotcapable},
		{"create through a symlink out", "path_open", open("d/updir/new", follow, oflagCreat), ErrnoNotcapable},
		{"open a symlink loop", "path_open", open("selfloop", follow, 0), ErrnoLoop},
		{"open without following", "path_open", open("upfile", 0, 0), ErrnoLoop},
		{"open a symlink that stays inside", "path_open", open("d/inside", follow, 0), ErrnoSuccess},
		{"magic link /proc/self/root", "path_open", func() []int64 {
			a, n := p("root/etc/passwd")
			return []int64{4, follow, a, n, 0, int64(rightsFile), 0, 0, 0x10}
		}, ErrnoLoop},
		{"magic link /proc/self/cwd", "path_open", func() []int64 {
			a, n := p("cwd")
			return []int64{4, follow, a, n, oflagDirectory, int64(rightsDir), 0, 0, 0x10}
		}, ErrnoLoop},
		{"magic link /proc/self/fd/3", "path_open", func() []int64 {
			a, n := p("fd/3/f")
			return []int64{4, follow, a, n, 0, int64(rightsFile), 0, 0, 0x10}
		}, ErrnoLoop},
		{"mkdir ../x", "path_create_directory", one(3, "../x"), ErrnoNotcapable},
		{"mkdir up/x", "path_create_directory", one(3, "up/x"), ErrnoNotcapable},
		{"mkdir /x", "path_create_directory", one(3, "/x"), ErrnoNotcapable},
		{"rmdir ..", "path_remove_directory", one(3, ".."), ErrnoNotcapable},
		{"rmdir d/../..", "path_remove_directory", one(3, "d/../.."), ErrnoNotcapable},
		{"unlink ../secret", "path_unlink_file", one(3, "../secret"), ErrnoNotcapable},
		{"unlink up/secret", "path_unlink_file", one(3, "up/secret"), ErrnoNotcapable},
		{"readlink ../x", "path_readlink", func() []int64 {
			a, n := p("up/upfile")
			return []int64{3, a, n, 0x300, 64, 0x10}
		}, ErrnoNotcapable},
		{"rename out", "path_rename", two("f", "../moved"), ErrnoNotcapable},
		{"rename out through a symlink", "path_rename", two("f", "up/moved"), ErrnoNotcapable},
		{"rename in from outside", "path_rename", two("../secret", "stolen"), ErrnoNotcapable},
		{"rename .. away", "path_rename", two("..", "x"), ErrnoNotcapable},
		{"link out", "path_link", func() []int64 {
			a, n := p("f")
			b, m := q("../linked")
			return []int64{3, 0, a, n, 3, b, m}
		}, ErrnoNotcapable},
		{"link in from outside", "path_link", func() []int64 {
			a, n := p("../secret")
			b, m := q("stolen")
			return []int64{3, 0, a, n, 3, b, m}
		}, ErrnoNotcapable},
		{"link in through a followed symlink", "path_link", func() []int64 {
			a, n := p("upfile")
			b, m := q("stolen")
			return []int64{3, follow, a, n, 3, b, m}
		}, ErrnoNotcapable},
		{"symlink to an absolute path", "path_symlink", func() []int64 {
			a, n := p("/etc")
			b, m := q("etc")
			return []int64{a, n, 3, b, m}
		}, ErrnoNotcapable},
		{"symlink placed outside", "path_symlink", func() []int64 {
			a, n := p("f")
			b, m := q("../planted")
			return []int64{a, n, 3, b, m}
		}, ErrnoNotcapable},
		{"stat ..", "path_filestat_get", func() []int64 {
			a, n := p("..")
			return []int64{3, 0, a, n, 0x100}
		}, ErrnoNotcapable},
		{"stat a followed symlink out", "path_filestat_get", func() []int64 {
			a, n := p("upfile")
			return []int64{3, follow, a, n, 0x100}
		}, ErrnoNotcapable},
		{"stat d/.. stays inside", "path_filestat_get", func() []int64 {
			a, n := p("d/..")
			return []int64{3, 0, a, n, 0x100}
		}, ErrnoSuccess},
		{"touch through a followed symlink", "path_filestat_set_times", func() []int64 {
			a, n := p("upfile")
			return []int64{3, follow, a, n, 0, 0, fstMtimNow | fstAtimNow}
		}, ErrnoNotcapable},
		{"touch ..", "path_filestat_set_times", func() []int64 {
			a, n := p("..")
			return []int64{3, 0, a, n, 0, 0, fstMtimNow | fstAtimNow}
		}, ErrnoNotcapable},
		{"path with a NUL", "path_open", open("f\x00/../../secret", follow, 0), ErrnoInval},
		{"empty path", "path_open", open("", follow, 0), ErrnoNoent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g.mustCall(tc.want, tc.call, tc.args()...)
			fx.check(t)
		})
	}
	// A symlink whose text climbs out can be made (it is only text) but
	// not followed.
	a, n := p("../secret")
	b, m := q("climb")
	g.mustCall(ErrnoSuccess, "path_symlink", a, n, 3, b, m)
	g.mustCall(ErrnoNotcapable, "path_open", 3, follow, b, m, 0, int64(rightsFile), 0, 0, 0x10)
	fx.check(t)
}

// TestBadFdsAndPointers: fds outside the table and pointers or lengths
// outside guest memory are errors, never host accesses or panics.
func TestBadFdsAndPointers(t *testing.T) {
	fx := newEscapeFixture(t)
	g := newGuest(t, Config{Dirs: []Dir{{HostPath: fx.root, GuestPath: "/"}}})
	p, n := g.str(0x1000, "f")
	const end = guestMemSize
	tests := []struct {
		name string
		call string
		args []int64
		want Errno
	}{
		{"fd_read on a closed fd", "fd_read", []int64{4, 0, 1, 0x10}, ErrnoBadf},
		{"fd_write on a huge fd", "fd_write", []int64{1 << 30, 0, 1, 0x10}, ErrnoBadf},
		{"fd_close of a negative fd", "fd_close", []int64{-7}, ErrnoBadf},
		{"fd_seek on fd max", "fd_seek", []int64{0x7fffffff, 0, 0, 0x10}, ErrnoBadf},
		{"path_open under a closed fd", "path_open", []int64{9, 0, p, n, 0, 0, 0, 0, 0x10}, ErrnoBadf},
		{"path_open from a non-directory", "path_open", []int64{1, 0, p, n, 0, 0, 0, 0, 0x10}, ErrnoNotdir},
		{"path beyond memory", "path_open", []int64{3, 0, end - 1, 2, 0, 0, 0, 0, 0x10}, ErrnoFault},
		{"path length 4 GiB", "path_open", []int64{3, 0, 0, 0xffffffff, 0, 0, 0, 0, 0x10}, ErrnoFault},
		{"opened fd out of memory", "path_open", []int64{3, 0, p, n, 0, int64(rightsFile), 0, 0, end}, ErrnoFault},
		{"filestat out of memory", "fd_filestat_get", []int64{3, end - 63}, ErrnoFault},
		{"fdstat out of memory", "fd_fdstat_get", []int64{3, end - 23}, ErrnoFault},
		{"prestat out of memory", "fd_prestat_get", []int64{3, end - 7}, ErrnoFault},
		{"readdir buffer out of memory", "fd_readdir", []int64{3, end - 8, 16, 0, 0x10}, ErrnoFault},
		{"readlink buffer out of memory", "path_readlink", []int64{3, p, n, end, 1, 0x10}, ErrnoFault},
		{"poll_oneoff input out of memory", "poll_oneoff", []int64{end - 47, 0, 1, 0x10}, ErrnoFault},
		{"poll_oneoff output out of memory", "poll_oneoff", []int64{0x100, end - 31, 1, 0x10}, ErrnoFault},
		{"poll_oneoff too many subscriptions", "poll_oneoff", []int64{0, 0x100, 0x7fffffff, 0x10}, ErrnoFault},
		{"poll_oneoff none", "poll_oneoff", []int64{0, 0x100, 0, 0x10}, ErrnoInval},
		{"random_get beyond memory", "random_get", []int64{end, 1}, ErrnoFault},
		{"sock_accept on a file", "sock_accept", []int64{3, 0, 0x10}, ErrnoNotsock},
		{"sock_recv on a closed fd", "sock_recv", []int64{12, 0, 1, 0, 0x10, 0x14}, ErrnoBadf},
		{"sock_send on stdout", "sock_send", []int64{1, 0, 1, 0, 0x10}, ErrnoNotsock},
		{"sock_shutdown on a closed fd", "sock_shutdown", []int64{4, 3}, ErrnoBadf},
		{"fd_renumber onto a closed fd", "fd_renumber", []int64{3, 100}, ErrnoBadf},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g.mustCall(tc.want, tc.call, tc.args...)
			fx.check(t)
		})
	}
	if len(g.h.fds.entries) != 4 {
		t.Fatalf("the calls left %d fds, want 4", len(g.h.fds.entries))
	}
}
