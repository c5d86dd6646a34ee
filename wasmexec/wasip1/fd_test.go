package wasip1

import (
	"os"
	"path/filepath"
	"testing"
)

// TestStdio: fd_write to stdout and stderr, fd_read from stdin, with
// several iovecs, empty ones among them.
func TestStdio(t *testing.T) {
	dir := t.TempDir()
	stdin := filepath.Join(dir, "in")
	if err := os.WriteFile(stdin, []byte("input"), 0o644); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(stdin)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, errf := createFile(t, filepath.Join(dir, "out")), createFile(t, filepath.Join(dir, "err"))
	g := newGuest(t, Config{Stdin: in, Stdout: out, Stderr: errf})

	copy(g.mem[0x100:], "hello, world")
	g.iovec(0, 0x100, 7)
	g.iovec(8, 0x200, 0)
	g.iovec(16, 0x107, 5)
	g.mustCall(ErrnoSuccess, "fd_write", 1, 0, 3, 0x50)
	g.mustCall(ErrnoSuccess, "fd_write", 2, 16, 1, 0x54)
	if g.u32(0x50) != 12 || g.u32(0x54) != 5 {
		t.Fatalf("nwritten %d and %d", g.u32(0x50), g.u32(0x54))
	}
	if got := readAll(t, out); got != "hello, world" {
		t.Fatalf("stdout %q", got)
	}
	if got := readAll(t, errf); got != "world" {
		t.Fatalf("stderr %q", got)
	}
	g.iovec(0, 0x300, 2)
	g.iovec(8, 0x400, 10)
	g.mustCall(ErrnoSuccess, "fd_read", 0, 0, 2, 0x50)
	if g.u32(0x50) != 5 || string(g.mem[0x300:0x302]) != "in" || string(g.mem[0x400:0x403]) != "put" {
		t.Fatalf("read %d: %q %q", g.u32(0x50), g.mem[0x300:0x302], g.mem[0x400:0x403])
	}
	g.mustCall(ErrnoSuccess, "fd_read", 0, 0, 2, 0x50)
	if g.u32(0x50) != 0 {
		t.Fatal("no EOF")
	}
	// Stdout is not readable nor stdin writable, whatever the files
	// given allow.
	g.mustCall(ErrnoNotcapable, "fd_read", 1, 0, 1, 0x50)
	g.mustCall(ErrnoNotcapable, "fd_write", 0, 0, 1, 0x50)
}

func TestFdWriteErrors(t *testing.T) {
	g := newGuest(t, Config{})
	g.iovec(0, 0x100, 4)
	tests := []struct {
		name string
		args []int64
		want Errno
	}{
		{"unopened fd", []int64{3, 0, 1, 0x50}, ErrnoBadf},
		{"negative fd", []int64{-1, 0, 1, 0x50}, ErrnoBadf},
		{"iovec array out of memory", []int64{1, guestMemSize - 4, 1, 0x50}, ErrnoFault},
		{"iovec count overflows", []int64{1, 0, 1 << 29, 0x50}, ErrnoInval},
		{"nwritten out of memory", []int64{1, 0, 1, guestMemSize - 2}, ErrnoFault},
		{"no iovecs", []int64{1, 0, 0, 0x50}, ErrnoSuccess},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g.mustCall(tc.want, "fd_write", tc.args...)
		})
	}
	g.iovec(8, guestMemSize-2, 4)
	g.mustCall(ErrnoFault, "fd_write", 1, 8, 1, 0x50)
	g.iovec(8, 0xffff_fff0, 0x20)
	g.mustCall(ErrnoFault, "fd_write", 1, 8, 1, 0x50)
}

func TestFileCalls(t *testing.T) {
	root := tempTree(t, map[string]string{"f": "0123456789", "d/": ""})
	g := newGuest(t, Config{Dirs: []Dir{{HostPath: root, GuestPath: "/"}}})
	fd := int64(g.openFile(3, "f", 0, rightsFile))
	if fd != 4 {
		t.Fatalf("first file fd %d, want 4", fd)
	}

	g.mustCall(ErrnoSuccess, "fd_seek", fd, 3, whenceSet, 0x10)
	g.mustCall(ErrnoSuccess, "fd_tell", fd, 0x18)
	if g.u64(0x10) != 3 || g.u64(0x18) != 3 {
		t.Fatalf("seek %d tell %d", g.u64(0x10), g.u64(0x18))
	}
	g.mustCall(ErrnoSuccess, "fd_seek", fd, -2, whenceEnd, 0x10)
	if g.u64(0x10) != 8 {
		t.Fatalf("seek from end %d", g.u64(0x10))
	}
	g.mustCall(ErrnoInval, "fd_seek", fd, 0, 3, 0x10)
	g.mustCall(ErrnoInval, "fd_seek", fd, -100, whenceCur, 0x10)
	g.mustCall(ErrnoFault, "fd_seek", fd, 0, whenceSet, guestMemSize-4)

	g.iovec(0, 0x100, 4)
	g.mustCall(ErrnoSuccess, "fd_pread", fd, 0, 1, 5, 0x20)
	if g.u32(0x20) != 4 || string(g.mem[0x100:0x104]) != "5678" {
		t.Fatalf("pread %q", g.mem[0x100:0x104])
	}
	copy(g.mem[0x100:], "ab")
	g.iovec(0, 0x100, 2)
	g.mustCall(ErrnoSuccess, "fd_pwrite", fd, 0, 1, 1, 0x20)
	g.mustCall(ErrnoInval, "fd_pwrite", fd, 0, 1, -1, 0x20)
	g.mustCall(ErrnoSuccess, "fd_tell", fd, 0x18)
	if g.u64(0x18) != 8 {
		t.Fatal("pwrite moved the offset")
	}
	if b, _ := os.ReadFile(filepath.Join(root, "f")); string(b) != "0ab3456789" {
		t.Fatalf("file %q after pwrite", b)
	}

	g.mustCall(ErrnoSuccess, "fd_filestat_set_size", fd, 4)
	g.mustCall(ErrnoSuccess, "fd_filestat_get", fd, 0x200)
	if g.mem[0x200+16] != byte(filetypeRegularFile) || g.u64(0x200+32) != 4 {
		t.Fatalf("filestat type %d size %d", g.mem[0x200+16], g.u64(0x200+32))
	}
	g.mustCall(ErrnoSuccess, "fd_filestat_set_times", fd, 5e9, 7e9, fstAtim|fstMtim)
	g.mustCall(ErrnoSuccess, "fd_filestat_get", fd, 0x200)
	if g.u64(0x200+40) != 5e9 || g.u64(0x200+48) != 7e9 {
		t.Fatalf("times %d %d", g.u64(0x200+40), g.u64(0x200+48))
	}
	g.mustCall(ErrnoInval, "fd_filestat_set_times", fd, 0, 0, fstAtim|fstAtimNow)
	g.mustCall(ErrnoInval, "fd_filestat_set_times", fd, 0, 0, 1<<4)
	g.mustCall(ErrnoSuccess, "fd_allocate", fd, 0, 100)
	g.mustCall(ErrnoSuccess, "fd_advise", fd, 0, 0, 2)
	g.mustCall(ErrnoInval, "fd_advise", fd, 0, 0, 6)
	g.mustCall(ErrnoSuccess, "fd_sync", fd)
	g.mustCall(ErrnoSuccess, "fd_datasync", fd)

	g.mustCall(ErrnoSuccess, "fd_fdstat_get", fd, 0x300)
	if g.mem[0x300] != byte(filetypeRegularFile) || g.u64(0x308) != rightsFile {
		t.Fatalf("fdstat type %d rights %#x", g.mem[0x300], g.u64(0x308))
	}
	g.mustCall(ErrnoSuccess, "fd_fdstat_set_flags", fd, fdflagAppend)
	g.mustCall(ErrnoSuccess, "fd_fdstat_get", fd, 0x300)
	if g.u32(0x302)&0xffff != fdflagAppend {
		t.Fatal("APPEND not set")
	}
	g.mustCall(ErrnoNotsup, "fd_fdstat_set_flags", fd, fdflagSync)
	g.mustCall(ErrnoInval, "fd_fdstat_set_flags", fd, 1<<5)

	// Rights only ever shrink, and a dropped right is enforced.
	g.mustCall(ErrnoSuccess, "fd_fdstat_set_rights", fd, int64(rightsFile&^rightFdSeek), 0)
	g.mustCall(ErrnoNotcapable, "fd_seek", fd, 0, whenceSet, 0x10)
	g.mustCall(ErrnoNotcapable, "fd_fdstat_set_rights", fd, int64(rightsFile), 0)

	// A directory is not a file.
	g.mustCall(ErrnoNotcapable, "fd_read", 3, 0, 1, 0x20)
	g.mustCall(ErrnoNotcapable, "fd_seek", 3, 0, whenceSet, 0x10)
	g.mustCall(ErrnoSuccess, "fd_filestat_get", 3, 0x200)
	if g.mem[0x200+16] != byte(filetypeDirectory) {
		t.Fatal("preopen is not a directory")
	}

	g.mustCall(ErrnoSuccess, "fd_renumber", fd, 0)
	g.mustCall(ErrnoBadf, "fd_close", fd)
	g.mustCall(ErrnoSuccess, "fd_close", 0)
	g.mustCall(ErrnoBadf, "fd_close", 0)
}

func TestPrestat(t *testing.T) {
	root := t.TempDir()
	g := newGuest(t, Config{Dirs: []Dir{{HostPath: root, GuestPath: "/"}, {HostPath: root, GuestPath: "/data/x/.."}}})
	tests := []struct {
		fd   int64
		name string
		want Errno
	}{
		{3, "/", ErrnoSuccess},
		{4, "/data", ErrnoSuccess},
		{5, "", ErrnoBadf},
		{1, "", ErrnoBadf},
	}
	for _, tc := range tests {
		g.mustCall(tc.want, "fd_prestat_get", tc.fd, 0x10)
		if tc.want != ErrnoSuccess {
			continue
		}
		if g.mem[0x10] != 0 || g.u32(0x14) != uint32(len(tc.name)) {
			t.Fatalf("fd %d: prestat tag %d len %d", tc.fd, g.mem[0x10], g.u32(0x14))
		}
		g.mustCall(ErrnoNametoolong, "fd_prestat_dir_name", tc.fd, 0x20, int64(len(tc.name)-1))
		g.mustCall(ErrnoSuccess, "fd_prestat_dir_name", tc.fd, 0x20, int64(len(tc.name)+4))
		if got := string(g.mem[0x20 : 0x20+len(tc.name)]); got != tc.name {
			t.Fatalf("fd %d: name %q, want %q", tc.fd, got, tc.name)
		}
		g.mustCall(ErrnoFault, "fd_prestat_dir_name", tc.fd, guestMemSize+1-int64(len(tc.name)), 10)
	}
}

func TestReaddir(t *testing.T) {
	root := tempTree(t, map[string]string{"a": "", "bb/": "", "ccc": ""})
	g := newGuest(t, Config{Dirs: []Dir{{HostPath: root, GuestPath: "/"}}})
	seen := map[string]filetype{}
	cookie := int64(0)
	// A buffer too small for two entries makes the module page.
	const bufSize = sizeDirentHeader + 5
	for i := 0; i < 10; i++ {
		g.mustCall(ErrnoSuccess, "fd_readdir", 3, 0x100, bufSize, cookie, 0x10)
		used := g.u32(0x10)
		if used == 0 {
			break
		}
		next, namlen := g.u64(0x100), g.u32(0x100+16)
		if used < bufSize && int(used) != sizeDirentHeader+int(namlen) {
			t.Fatalf("used %d for a %d-byte name", used, namlen)
		}
		name := string(g.mem[0x100+sizeDirentHeader : 0x100+sizeDirentHeader+min(namlen, 5)])
		seen[name] = filetype(g.mem[0x100+20])
		cookie = int64(next)
	}
	want := map[string]filetype{".": filetypeDirectory, "..": filetypeDirectory, "a": filetypeRegularFile,
		"bb": filetypeDirectory, "ccc": filetypeRegularFile}
	if len(seen) != len(want) {
		t.Fatalf("entries %v, want %v", seen, want)
	}
	for n, ft := range want {
		if seen[n] != ft {
			t.Errorf("%s: type %d, want %d", n, seen[n], ft)
		}
	}
	g.mustCall(ErrnoSuccess, "fd_readdir", 3, 0x100, 1000, 1<<40, 0x10)
	if g.u32(0x10) != 0 {
		t.Fatal("a cookie past the end lists entries")
	}
	g.mustCall(ErrnoFault, "fd_readdir", 3, guestMemSize-10, 100, 0, 0x10)
	g.mustCall(ErrnoNotcapable, "fd_readdir", 1, 0x100, 100, 0, 0x10)
}

// TestNoIOBeforeFault: a bad result pointer is EFAULT before any byte
// is written, so a module that retries does not write twice.
func TestNoIOBeforeFault(t *testing.T) {
	out := createFile(t, filepath.Join(t.TempDir(), "out"))
	g := newGuest(t, Config{Stdout: out})
	copy(g.mem[0x100:], "x")
	g.iovec(0, 0x100, 1)
	g.mustCall(ErrnoFault, "fd_write", 1, 0, 1, guestMemSize-3)
	if got := readAll(t, out); got != "" {
		t.Fatalf("fd_write wrote %q before failing", got)
	}
}
