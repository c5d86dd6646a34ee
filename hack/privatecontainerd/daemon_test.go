package privatecontainerd

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestUnescapeMountinfo(t *testing.T) {
	for in, want := range map[string]string{
		`/tmp/a\040b\011c`: "/tmp/a b\tc",
		`/plain\`:          `/plain\`,
		`/no/escapes`:      "/no/escapes",
		`/bad\09x`:         `/bad\09x`,
	} {
		if got := unescapeMountinfo(in); got != want {
			t.Errorf("unescapeMountinfo(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSearchPath: the caller's folders, the repo's bin/ and containerd's
// come first; the caller's PATH follows, and the system folders it lacks
// (where Debian's runc is) end it.
func TestSearchPath(t *testing.T) {
	got := searchPath([]string{"/tools"}, "/repo", "/repo/bin/containerd-2.4.2", "/usr/bin:/home/u/go/bin")
	want := "/tools:/repo/bin:/repo/bin/containerd-2.4.2:/usr/bin:/home/u/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin:/bin"
	if got != want {
		t.Errorf("searchPath =\n %s\nwant\n %s", got, want)
	}
	if got := searchPath(nil, "/r", "/b", ""); got != "/r/bin:/b:"+strings.Join(systemDirs, ":") {
		t.Errorf("searchPath with no PATH = %s", got)
	}
}

// TestNew names every file under the folder, refuses a folder whose
// ttrpc socket path would not fit in sun_path, and gives containerd our
// environment with PATH and the cache folder replaced.
func TestNew(t *testing.T) {
	dir := t.TempDir()
	d, err := New(Options{Repo: "/repo", Version: "2.4.2", Dir: dir, Env: []string{"EXTRA=1"}, LogLevel: "debug", Opt: true})
	if err != nil {
		t.Fatal(err)
	}
	if d.Bin != "/repo/bin/containerd-2.4.2" || d.Ctr != d.Bin+"/ctr" || d.Address != dir+"/containerd.sock" || d.Root != dir+"/root" || d.State != dir+"/state" || d.Log != dir+"/containerd.log" || d.CacheDir != dir+"/wasm-cache" {
		t.Errorf("daemon %+v", d)
	}
	if c := d.ConfigDaemon(); c.Opt != dir+"/opt" || c.LogLevel != "debug" || c.Address != d.Address {
		t.Errorf("config daemon %+v", c)
	}
	t.Setenv(cacheDirVar, "/node/cache")
	env := d.environ()
	var paths, caches int
	for _, kv := range env {
		paths += b2i(strings.HasPrefix(kv, "PATH="))
		caches += b2i(strings.HasPrefix(kv, cacheDirVar+"="))
	}
	if paths != 1 || caches != 1 || env[len(env)-1] != "EXTRA=1" || env[len(env)-2] != cacheDirVar+"="+d.CacheDir {
		t.Errorf("environment %v", env)
	}

	long := filepath.Join(dir, strings.Repeat("x", 100))
	if _, err := New(Options{Repo: "/repo", Version: "2.4.2", Dir: long}); err == nil || !strings.Contains(err.Error(), "too long") {
		t.Errorf("New with a %d-byte folder: %v, want too long", len(long), err)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestTerminate: a process that exits on SIGTERM is not killed; one that
// ignores it is, after the grace.
func TestTerminate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script string
		killed bool
	}{
		{"exits on TERM", "exec sleep 30", false},
		{"ignores TERM", `trap "" TERM; echo ready; while :; do sleep 0.05; done`, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command("sh", "-c", tc.script)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			if tc.killed {
				// The trap must be set before the signal comes.
				buf := make([]byte, 6)
				if _, err := out.Read(buf); err != nil {
					t.Fatal(err)
				}
			}
			exited := make(chan struct{})
			go func() { cmd.Wait(); close(exited) }()
			start := time.Now()
			if got := Terminate(cmd.Process, exited, 300*time.Millisecond); got != tc.killed {
				t.Errorf("killed = %v, want %v", got, tc.killed)
			}
			if tc.killed && time.Since(start) < 300*time.Millisecond {
				t.Errorf("killed after %v, before the grace", time.Since(start))
			}
		})
	}
}

// TestAttachGone: a folder whose pid file names a process that is not
// containerd with this folder's config (a recycled pid, here our own) is
// not taken for a running daemon; Stop then only removes the folder.
func TestAttachGone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, pidName), []byte(strconv.Itoa(os.Getpid())), 0o644)
	os.WriteFile(filepath.Join(dir, versionName), []byte("2.4.2\n"), 0o644)
	if pid := Running(dir); pid != 0 {
		t.Fatalf("Running = %d, want 0", pid)
	}
	d, err := Attach("/repo", dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Pid() != 0 || d.Version != "2.4.2" {
		t.Errorf("attached pid %d version %q", d.Pid(), d.Version)
	}
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("%s left after Stop: %v", dir, err)
	}
}

// TestStartStop runs the containerd that hack/install-containerd.sh
// installed, when there is one and we are root: it answers, survives a
// restart with the same log, and Stop leaves neither process nor folder.
func TestStartStop(t *testing.T) {
	if os.Geteuid() != 0 || runtime.GOOS != "linux" {
		t.Skip("needs root on linux")
	}
	_, file, _, _ := runtime.Caller(0)
	repo := filepath.Join(filepath.Dir(file), "..", "..")
	version := "2.4.2"
	if _, err := os.Stat(filepath.Join(BinDir(repo, version), "containerd")); err != nil {
		t.Skipf("containerd %s not installed: %v", version, err)
	}
	d, err := StartPlain(Options{Repo: repo, Version: version, Prefix: "pctest"})
	if d != nil {
		defer d.Stop()
	}
	if err != nil {
		t.Fatalf("start: %v\n%s", err, d.TailLog(30))
	}
	if Running(d.Dir) != d.Pid() {
		t.Errorf("Running(%s) = %d, want %d", d.Dir, Running(d.Dir), d.Pid())
	}
	first, size := d.Pid(), d.LogSize()
	if err := d.Restart(); err != nil {
		t.Fatalf("restart: %v\n%s", err, d.TailLog(30))
	}
	if d.Pid() == first || d.LogSize() <= size {
		t.Errorf("after restart: pid %d (was %d), log %d bytes (was %d)", d.Pid(), first, d.LogSize(), size)
	}
	pid := d.Pid()
	if err := d.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(d.Dir); !os.IsNotExist(err) {
		t.Errorf("%s left after Stop: %v", d.Dir, err)
	}
	if _, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid))); err == nil {
		t.Errorf("containerd (pid %d) still runs", pid)
	}
}
