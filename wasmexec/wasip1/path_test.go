package wasip1

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPathCalls(t *testing.T) {
	root := tempTree(t, map[string]string{"f": "data", "d/g": "x"})
	g := newGuest(t, Config{Dirs: []Dir{{HostPath: root, GuestPath: "/"}}})
	path := func(s string) (int64, int64) { return g.str(0x1000, s) }
	path2 := func(s string) (int64, int64) { return g.str(0x2000, s) }
	host := func(p string) string { return filepath.Join(root, p) }
	exists := func(p string) bool { _, err := os.Lstat(host(p)); return err == nil }

	p, n := path("new")
	g.mustCall(ErrnoSuccess, "path_create_directory", 3, p, n)
	g.mustCall(ErrnoExist, "path_create_directory", 3, p, n)
	if !exists("new") {
		t.Fatal("mkdir made nothing")
	}
	p, n = path("new/")
	g.mustCall(ErrnoSuccess, "path_remove_directory", 3, p, n)
	p, n = path("d")
	g.mustCall(ErrnoNotempty, "path_remove_directory", 3, p, n)
	g.mustCall(ErrnoIsdir, "path_unlink_file", 3, p, n)

	p, n = path("f")
	q, m := path2("d/h")
	g.mustCall(ErrnoSuccess, "path_link", 3, 0, p, n, 3, q, m)
	g.mustCall(ErrnoSuccess, "path_filestat_get", 3, 0, q, m, 0x100)
	if g.u64(0x100+24) != 2 || g.u64(0x100+32) != 4 {
		t.Fatalf("link: nlink %d size %d", g.u64(0x100+24), g.u64(0x100+32))
	}
	q, m = path2("d/renamed")
	g.mustCall(ErrnoSuccess, "path_rename", 3, p, n, 3, q, m)
	if exists("f") || !exists("d/renamed") {
		t.Fatal("rename did not move the file")
	}

	p, n = path("d/renamed")
	q, m = path2("lnk")
	g.mustCall(ErrnoSuccess, "path_symlink", p, n, 3, q, m)
	g.mustCall(ErrnoSuccess, "path_readlink", 3, q, m, 0x300, 64, 0x10)
	if got := string(g.mem[0x300 : 0x300+g.u32(0x10)]); got != "d/renamed" {
		t.Fatalf("readlink %q", got)
	}
	g.mustCall(ErrnoSuccess, "path_readlink", 3, q, m, 0x300, 3, 0x10)
	if g.u32(0x10) != 3 {
		t.Fatal("readlink into a short buffer does not truncate")
	}
	g.mustCall(ErrnoSuccess, "path_filestat_get", 3, 0, q, m, 0x100)
	if g.mem[0x100+16] != byte(filetypeSymbolicLink) {
		t.Fatal("nofollow stat does not see the link")
	}
	g.mustCall(ErrnoSuccess, "path_filestat_get", 3, lookupSymlinkFollow, q, m, 0x100)
	if g.mem[0x100+16] != byte(filetypeRegularFile) {
		t.Fatal("follow stat does not see the file")
	}
	g.mustCall(ErrnoSuccess, "path_filestat_set_times", 3, lookupSymlinkFollow, q, m, 3e9, 4e9, fstAtim|fstMtim)
	if st, _ := os.Stat(host("d/renamed")); st.ModTime().UnixNano() != 4e9 {
		t.Fatalf("mtime through the link %v", st.ModTime())
	}
	g.mustCall(ErrnoInval, "path_filestat_set_times", 3, 0, q, m, 0, 0, fstMtim|fstMtimNow)
	g.mustCall(ErrnoLoop, "path_open", 3, 0, q, m, 0, int64(rightsFile), 0, 0, 0x10)
	g.mustCall(ErrnoSuccess, "path_unlink_file", 3, q, m)

	// path_open: create, exclusive, truncate, directory.
	fd := g.openFile(3, "created", oflagCreat|oflagExcl, rightFdWrite|rightFdRead)
	p, n = path("created")
	g.mustCall(ErrnoExist, "path_open", 3, 0, p, n, oflagCreat|oflagExcl, 0, 0, 0, 0x10)
	g.mustCall(ErrnoNotdir, "path_open", 3, 0, p, n, oflagDirectory, 0, 0, 0, 0x10)
	g.mustCall(ErrnoNotdir, "path_open", int64(fd), 0, p, n, 0, 0, 0, 0, 0x10)
	g.mustCall(ErrnoInval, "path_open", 3, 0, p, n, 1<<4, 0, 0, 0, 0x10)
	p, n = path("missing")
	g.mustCall(ErrnoNoent, "path_open", 3, 0, p, n, 0, 0, 0, 0, 0x10)
	p, n = path("d")
	g.mustCall(ErrnoIsdir, "path_open", 3, 0, p, n, oflagDirectory, int64(rightFdWrite), 0, 0, 0x10)
	dfd := g.openFile(3, "d", oflagDirectory, rightsDir|rightFdRead|rightFdSeek)
	g.mustCall(ErrnoSuccess, "fd_fdstat_get", int64(dfd), 0x10)
	if g.mem[0x10] != byte(filetypeDirectory) || g.u64(0x18)&rightFdWrite != 0 {
		t.Fatalf("directory fdstat type %d rights %#x", g.mem[0x10], g.u64(0x18))
	}
	p, n = path("g")
	g.mustCall(ErrnoSuccess, "path_filestat_get", int64(dfd), 0, p, n, 0x100)
	g.mustCall(ErrnoFault, "path_filestat_get", int64(dfd), 0, p, n, guestMemSize-8)
}

// TestReadOnlyPreopen: nothing under a read-only preopen can be changed,
// and files open read-only whatever rights the module asks for.
func TestReadOnlyPreopen(t *testing.T) {
	root := tempTree(t, map[string]string{"f": "data", "d/": ""})
	g := newGuest(t, Config{Dirs: []Dir{{HostPath: root, GuestPath: "/", ReadOnly: true}}})
	p, n := g.str(0x1000, "f")
	q, m := g.str(0x2000, "d/x")
	tests := []struct {
		name string
		call string
		args []int64
	}{
		{"create", "path_open", []int64{3, 0, q, m, oflagCreat, int64(rightsAll), 0, 0, 0x10}},
		{"truncate", "path_open", []int64{3, 0, p, n, oflagTrunc, int64(rightsAll), 0, 0, 0x10}},
		{"mkdir", "path_create_directory", []int64{3, q, m}},
		{"unlink", "path_unlink_file", []int64{3, p, n}},
		{"rmdir", "path_remove_directory", []int64{3, q, m}},
		{"rename", "path_rename", []int64{3, p, n, 3, q, m}},
		{"link", "path_link", []int64{3, 0, p, n, 3, q, m}},
		{"symlink", "path_symlink", []int64{p, n, 3, q, m}},
		{"set times", "path_filestat_set_times", []int64{3, 0, p, n, 0, 0, fstMtimNow}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g.mustCall(ErrnoNotcapable, tc.call, tc.args...)
		})
	}
	fd := int64(g.openFile(3, "f", 0, rightsAll))
	g.mustCall(ErrnoSuccess, "fd_fdstat_get", fd, 0x10)
	if g.u64(0x18)&rightsWrite != 0 {
		t.Fatalf("file under a read-only preopen has rights %#x", g.u64(0x18))
	}
	g.iovec(0, 0x100, 4)
	g.mustCall(ErrnoNotcapable, "fd_write", fd, 0, 1, 0x10)
	g.mustCall(ErrnoNotcapable, "fd_filestat_set_size", fd, 0)
	// Dropping the right check would still meet the kernel: the host
	// descriptor is read-only.
	g.h.fds.entries[fd].rightsBase |= rightFdWrite
	g.mustCall(ErrnoBadf, "fd_write", fd, 0, 1, 0x10)
	if b, _ := os.ReadFile(filepath.Join(root, "f")); string(b) != "data" {
		t.Fatalf("file changed to %q", b)
	}
	if entries, _ := os.ReadDir(filepath.Join(root, "d")); len(entries) != 0 {
		t.Fatal("something was created")
	}
}
