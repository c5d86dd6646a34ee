package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const (
	helloModule = "/hello.wasm"
	demoModule  = "/wasi-demo.wasm"
)

// TestHello: the module runs, prints, and receives the arguments after
// the module path as its argv[1:].
func TestHello(t *testing.T) {
	needDaemon(t)
	check := func(t *testing.T, exit int, stdout string) {
		if exit != 0 {
			t.Errorf("exit %d, want 0", exit)
		}
		for _, want := range []string{"Hello from WebAssembly!", "args: a b"} {
			if !hasLine(stdout, want) {
				t.Errorf("stdout lacks the line %q:\n%s", want, stdout)
			}
		}
	}
	t.Run("ctr", func(t *testing.T) {
		out, _, exit := runCtr(t, ctrRunArgs(containerID(t), nil, helloModule, "a", "b")...)
		check(t, exit, out)
	})
	t.Run("client", func(t *testing.T) {
		r := runGo(t, []string{helloModule, "a", "b"}, nil, nil)
		check(t, int(r.exit), r.stdout)
	})
}

func hasLine(out, want string) bool {
	for _, l := range lines(out) {
		if l == want {
			return true
		}
	}
	return false
}

// TestEnv: the task sees the spec's environment and nothing of the
// environment that containerd (and so the shim) runs with.
func TestEnv(t *testing.T) {
	needDaemon(t)
	check := func(t *testing.T, exit int, stdout string) {
		if exit != 0 {
			t.Errorf("exit %d, want 0", exit)
		}
		if !hasLine(stdout, "FOO=bar") {
			t.Errorf("FOO=bar missing from the task's environment:\n%s", stdout)
		}
		if strings.Contains(stdout, hostSecretVar) {
			t.Errorf("the host's %s leaked into the task's environment:\n%s", hostSecretVar, stdout)
		}
	}
	t.Run("ctr", func(t *testing.T) {
		out, _, exit := runCtr(t, ctrRunArgs(containerID(t), []string{"--env", "FOO=bar"}, demoModule, "env")...)
		check(t, exit, out)
	})
	t.Run("client", func(t *testing.T) {
		r := runGo(t, []string{demoModule, "env"}, nil, nil, oci.WithEnv([]string{"FOO=bar"}))
		check(t, int(r.exit), r.stdout)
	})
}

// TestExitCodes: a WASI proc_exit status becomes the task's exit status.
func TestExitCodes(t *testing.T) {
	needDaemon(t)
	cases := []struct {
		name string
		args []string
		want int
	}{
		{"demo-exit-0", []string{demoModule, "exit", "0"}, 0},
		{"demo-exit-3", []string{demoModule, "exit", "3"}, 3},
		{"exit3-wat", []string{"/exit3.wasm"}, 3},
		// The same fixture as text: a .wat entrypoint is compiled as is.
		{"exit3-wat-text", []string{"/exit3.wat"}, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Run("ctr", func(t *testing.T) {
				_, _, exit := runCtr(t, ctrRunArgs(containerID(t), nil, tc.args[0], tc.args[1:]...)...)
				if exit != tc.want {
					t.Errorf("exit %d, want %d", exit, tc.want)
				}
			})
			t.Run("client", func(t *testing.T) {
				if r := runGo(t, tc.args, nil, nil); int(r.exit) != tc.want {
					t.Errorf("exit %d, want %d", r.exit, tc.want)
				}
			})
		})
	}
}

// trapExitStatus is the exit status of a task whose module traps, as the
// README's exit status table defines it: 70 (EX_SOFTWARE), which no signal
// death (128+n) and no SIGKILL (137) can be confused with. A literal, since
// wasmexec.TrapExitStatus lives in a cgo package.
const trapExitStatus = 70

// TestTrap: a wasm trap is an exit with trapExitStatus and a message on
// the task's stderr, never a signal-like status.
func TestTrap(t *testing.T) {
	needDaemon(t)
	check := func(t *testing.T, exit int, stderr string) {
		if exit == 0 || exit == 137 {
			t.Errorf("trap exit status %d: must be non-zero and not 137", exit)
		}
		for _, sig := range []int{1, 2, 3, 4, 6, 7, 8, 9, 11, 13, 14, 15} {
			if exit == 128+sig {
				t.Errorf("trap exit status %d looks like death by signal %d", exit, sig)
			}
		}
		if exit != trapExitStatus {
			t.Errorf("trap exit status %d, want %d (the README's trap status)", exit, trapExitStatus)
		}
		low := strings.ToLower(stderr)
		if !strings.Contains(low, "unreachable") && !strings.Contains(low, "wasm trap") {
			t.Errorf("stderr does not mention the trap (\"unreachable\" or \"wasm trap\"):\n%s", stderr)
		}
	}
	for _, module := range []string{"/trap.wasm", "/stackoverflow.wasm"} {
		t.Run(strings.TrimSuffix(module[1:], ".wasm"), func(t *testing.T) {
			t.Run("ctr", func(t *testing.T) {
				_, errOut, exit := runCtr(t, ctrRunArgs(containerID(t), nil, module)...)
				check(t, exit, errOut)
			})
			t.Run("client", func(t *testing.T) {
				r := runGo(t, []string{module}, nil, nil)
				check(t, int(r.exit), r.stderr)
			})
		})
	}
}

// TestRootfsReadWrite: a file can be created, read back and deleted in the
// container's writable rootfs.
func TestRootfsReadWrite(t *testing.T) {
	needDaemon(t)
	want := []string{"created /newfile.txt", "read: hello from wasi-demo", "deleted /newfile.txt"}
	check := func(t *testing.T, exit int, stdout string) {
		if exit != 0 {
			t.Errorf("exit %d, want 0", exit)
		}
		if got := lines(stdout); strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("stdout %q, want %q", got, want)
		}
	}
	t.Run("ctr", func(t *testing.T) {
		out, _, exit := runCtr(t, ctrRunArgs(containerID(t), nil, demoModule, "rw", "/newfile.txt")...)
		check(t, exit, out)
	})
	t.Run("client", func(t *testing.T) {
		r := runGo(t, []string{demoModule, "rw", "/newfile.txt"}, nil, nil)
		check(t, int(r.exit), r.stdout)
	})
}

// TestBindMount: an OCI bind mount shows the host folder at its
// destination, which does not exist in the image.
func TestBindMount(t *testing.T) {
	d := needDaemon(t)
	host, err := os.MkdirTemp(d.Dir, "bind")
	if err != nil {
		t.Fatal(err)
	}
	const content = "from the host\n"
	if err := os.WriteFile(filepath.Join(host, "file.txt"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, exit int, stdout string) {
		if exit != 0 {
			t.Errorf("exit %d, want 0", exit)
		}
		if stdout != content {
			t.Errorf("read through the mount %q, want %q", stdout, content)
		}
	}
	t.Run("ctr", func(t *testing.T) {
		mount := fmt.Sprintf("type=bind,src=%s,dst=/mnt/host,options=rbind:rw", host)
		out, _, exit := runCtr(t, ctrRunArgs(containerID(t), []string{"--mount", mount}, demoModule, "read", "/mnt/host/file.txt")...)
		check(t, exit, out)
	})
	t.Run("client", func(t *testing.T) {
		m := specs.Mount{Type: "bind", Source: host, Destination: "/mnt/host", Options: []string{"rbind", "rw"}}
		r := runGo(t, []string{demoModule, "read", "/mnt/host/file.txt"}, nil, nil, oci.WithMounts([]specs.Mount{m}))
		check(t, int(r.exit), r.stdout)
	})
	t.Run("ctr-rw-write", func(t *testing.T) {
		mount := fmt.Sprintf("type=bind,src=%s,dst=/mnt/host,options=rbind:rw", host)
		_, _, exit := runCtr(t, ctrRunArgs(containerID(t), []string{"--mount", mount}, demoModule, "write", "/mnt/host/new.txt", "hi")...)
		if exit != 0 {
			t.Errorf("write through a rw bind mount: exit %d", exit)
		}
		if b, err := os.ReadFile(filepath.Join(host, "new.txt")); err != nil || string(b) != "hi" {
			t.Errorf("the host sees %q (%v), want \"hi\"", b, err)
		}
	})
	t.Run("ctr-ro", func(t *testing.T) {
		mount := fmt.Sprintf("type=bind,src=%s,dst=/mnt/host,options=rbind:ro", host)
		out, _, exit := runCtr(t, ctrRunArgs(containerID(t), []string{"--mount", mount}, demoModule, "read", "/mnt/host/file.txt")...)
		check(t, exit, out)
		_, _, exit = runCtr(t, ctrRunArgs(containerID(t), []string{"--mount", mount}, demoModule, "write", "/mnt/host/x.txt", "hi")...)
		if exit == 0 {
			t.Errorf("write through a read-only bind mount exited 0")
		}
		if _, err := os.Stat(filepath.Join(host, "x.txt")); err == nil {
			t.Errorf("a write through a read-only bind mount reached the host")
		}
	})
}

// TestImageFiles: files of the image are readable, and process.cwd is the
// module's working directory (through PWD, which Go's wasip1 reads).
func TestImageFiles(t *testing.T) {
	needDaemon(t)
	const content = "hello from the image\n"
	t.Run("ctr-absolute", func(t *testing.T) {
		out, _, exit := runCtr(t, ctrRunArgs(containerID(t), nil, demoModule, "read", "/data/hello.txt")...)
		if exit != 0 || out != content {
			t.Errorf("read /data/hello.txt: exit %d, %q, want %q", exit, out, content)
		}
	})
	t.Run("ctr-cwd", func(t *testing.T) {
		out, _, exit := runCtr(t, ctrRunArgs(containerID(t), []string{"--cwd", "/data"}, demoModule, "read", "hello.txt")...)
		if exit != 0 || out != content {
			t.Errorf("read hello.txt in /data: exit %d, %q, want %q", exit, out, content)
		}
		out, _, _ = runCtr(t, ctrRunArgs(containerID(t), []string{"--cwd", "/data"}, demoModule, "env")...)
		if !hasLine(out, "PWD=/data") {
			t.Errorf("env with cwd /data lacks PWD=/data:\n%s", out)
		}
	})
}

// TestLogURI: a file:// stdio URI gets the task's output in that file.
func TestLogURI(t *testing.T) {
	d := needDaemon(t)
	path := filepath.Join(d.Dir, "logs", containerID(t)+".log")
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	_, _, exit := runCtr(t, ctrRunArgs(containerID(t), []string{"--log-uri", "file://" + path}, helloModule, "a", "b")...)
	if exit != 0 {
		t.Errorf("exit %d, want 0", exit)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("log file: %v", err)
	}
	for _, want := range []string{"Hello from WebAssembly!", "args: a b"} {
		if !hasLine(string(b), want) {
			t.Errorf("log file lacks %q:\n%s", want, b)
		}
	}
}

// TestReadonlyRootfs: with root.readonly the module cannot write to /.
func TestReadonlyRootfs(t *testing.T) {
	needDaemon(t)
	check := func(t *testing.T, exit int, stdout string) {
		if exit == 0 {
			t.Errorf("write to a read-only rootfs exited 0:\n%s", stdout)
		}
		if strings.Contains(stdout, "wrote") {
			t.Errorf("the module reports a successful write:\n%s", stdout)
		}
	}
	t.Run("ctr", func(t *testing.T) {
		if !ctrHasFlag(t, "--read-only", "run") {
			t.Skipf("ctr %s has no run --read-only", suite.daemon.Version)
		}
		out, _, exit := runCtr(t, ctrRunArgs(containerID(t), []string{"--read-only"}, demoModule, "write", "/x.txt", "hi")...)
		check(t, exit, out)
	})
	t.Run("client", func(t *testing.T) {
		r := runGo(t, []string{demoModule, "write", "/x.txt", "hi"}, nil, nil, oci.WithRootFSReadonly())
		check(t, int(r.exit), r.stdout)
	})
}

// echoInput is larger than a pipe buffer so that the copy through the
// stdin fifo has to stream, and ends without a newline to catch a shim
// that only forwards whole lines.
var echoInput = func() string {
	var b strings.Builder
	for i := 0; b.Len() < 200<<10; i++ {
		fmt.Fprintf(&b, "line %d: the quick brown fox\n", i)
	}
	b.WriteString("no newline at the end")
	return b.String()
}()

// TestStdinEcho: stdin reaches the module and its EOF ends the module.
func TestStdinEcho(t *testing.T) {
	needDaemon(t)
	check := func(t *testing.T, exit int, stdout string) {
		if exit != 0 {
			t.Errorf("exit %d, want 0", exit)
		}
		if stdout != echoInput {
			t.Errorf("echo returned %d bytes, want the %d bytes of input (first difference at %d)",
				len(stdout), len(echoInput), firstDiff(stdout, echoInput))
		}
	}
	t.Run("ctr", func(t *testing.T) {
		out, _, exit := runCtrIO(t, strings.NewReader(echoInput), nil, ctrRunArgs(containerID(t), nil, demoModule, "echo")...)
		check(t, exit, out)
	})
	t.Run("client", func(t *testing.T) {
		r := runGo(t, []string{demoModule, "echo"}, strings.NewReader(echoInput), nil)
		check(t, int(r.exit), r.stdout)
	})
}

func firstDiff(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

const (
	spewMiB    = 64
	spewPeriod = 251 // byte i of the spew stream is i % 251
)

// patternChecker consumes the spew stream, checking every byte as it
// arrives, so 64 MiB need not be held in memory and a failure names the
// first wrong offset rather than only a different digest.
type patternChecker struct {
	n       int64
	badAt   int64 // -1 while every byte matched
	sha     hash.Hash
	preview bytes.Buffer // the first bytes, shown when something is wrong
}

func newPatternChecker() *patternChecker {
	return &patternChecker{badAt: -1, sha: sha256.New()}
}

func (c *patternChecker) Write(p []byte) (int, error) {
	if c.preview.Len() < 256 {
		c.preview.Write(p[:min(len(p), 256-c.preview.Len())])
	}
	for i, b := range p {
		if c.badAt < 0 && b != byte((c.n+int64(i))%spewPeriod) {
			c.badAt = c.n + int64(i)
		}
	}
	c.n += int64(len(p))
	c.sha.Write(p)
	return len(p), nil
}

// expectedSpewSum is computed once: both subtests compare with it.
var expectedSpewSum = sync.OnceValue(func() string {
	h := sha256.New()
	buf := make([]byte, spewMiB<<20)
	for i := range buf {
		buf[i] = byte(i % spewPeriod)
	}
	h.Write(buf)
	return hex.EncodeToString(h.Sum(nil))
})

func (c *patternChecker) check(t *testing.T, exit int) {
	t.Helper()
	if exit != 0 {
		t.Errorf("exit %d, want 0", exit)
	}
	if want := int64(spewMiB << 20); c.n != want {
		t.Errorf("got %d bytes of stdout, want %d", c.n, want)
	}
	if c.badAt >= 0 {
		t.Errorf("stdout differs from the pattern first at byte %d", c.badAt)
	}
	if got, want := hex.EncodeToString(c.sha.Sum(nil)), expectedSpewSum(); got != want {
		t.Errorf("stdout sha256 %s, want %s; first bytes %q", got, want, c.preview.Bytes())
	}
}

// TestLargeStdout: 64 MiB of stdout arrive complete and in order.
func TestLargeStdout(t *testing.T) {
	needDaemon(t)
	t.Run("ctr", func(t *testing.T) {
		c := newPatternChecker()
		_, _, exit := runCtrIO(t, nil, c, ctrRunArgs(containerID(t), nil, demoModule, "spew", fmt.Sprint(spewMiB))...)
		c.check(t, exit)
	})
	t.Run("client", func(t *testing.T) {
		c := newPatternChecker()
		r := runGo(t, []string{demoModule, "spew", fmt.Sprint(spewMiB)}, nil, c)
		c.check(t, int(r.exit))
	})
}
