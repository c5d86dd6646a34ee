package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// loggerSpewMiB is what the binary:// test sends through the logger.
const loggerSpewMiB = 16

// buildLogger builds the test's logging binary (testdata/logger).
func buildLogger(t *testing.T) string {
	t.Helper()
	return buildTestdata(t, "logger")
}

// loggerFiles are where one run of the logger puts what it got.
type loggerFiles struct{ dir, out, err, env string }

func newLoggerFiles(t *testing.T) loggerFiles {
	dir := t.TempDir()
	return loggerFiles{dir, filepath.Join(dir, "stdout"), filepath.Join(dir, "stderr"), filepath.Join(dir, "env")}
}

// args are the logger's options; id puts the container id on its command
// line, so that a logger left running counts as the container's leftover.
func (f loggerFiles) args(id string) map[string]string {
	return map[string]string{"out": f.out, "err": f.err, "env": f.env, "id": id}
}

func loggerURI(bin string, args map[string]string) string {
	q := url.Values{}
	for k, v := range args {
		q.Set(k, v)
	}
	return (&url.URL{Scheme: "binary", Path: bin, RawQuery: q.Encode()}).String()
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("the logger's file: %v", err)
	}
	return string(b)
}

// checkEnv: the logger was told the container id and namespace, and
// nothing else.
func (f loggerFiles) checkEnv(t *testing.T, id string) {
	t.Helper()
	env := readFile(t, f.env)
	for _, want := range []string{"CONTAINER_ID=" + id, "CONTAINER_NAMESPACE=" + suite.daemon.ns, "ENVIRON=2"} {
		if !hasLine(env, want) {
			t.Errorf("logger environment lacks %q:\n%s", want, env)
		}
	}
}

// checkSpew: the logger's stdout file holds the whole spew stream.
func (f loggerFiles) checkSpew(t *testing.T) {
	t.Helper()
	got, err := os.Open(f.out)
	if err != nil {
		t.Fatalf("the logger's stdout: %v", err)
	}
	defer got.Close()
	h := sha256.New()
	n, _ := io.Copy(h, got)
	want := sha256.New()
	buf := make([]byte, loggerSpewMiB<<20)
	for i := range buf {
		buf[i] = byte(i % spewPeriod)
	}
	want.Write(buf)
	if n != int64(len(buf)) {
		t.Errorf("the logger got %d bytes of stdout, want %d", n, len(buf))
	}
	if g, w := hex.EncodeToString(h.Sum(nil)), hex.EncodeToString(want.Sum(nil)); g != w {
		t.Errorf("the logger's stdout sha256 %s, want %s", g, w)
	}
}

// expectShimDebugLine: a debug line of the shim naming id reached
// containerd's log (the daemon runs at debug level, so containerd starts
// the shim with -debug, and the shim logs to the bundle's log fifo that
// containerd copies into its own log).
func expectShimDebugLine(t *testing.T, from int64, msg, id string) {
	t.Helper()
	waitFor(t, 5*time.Second, fmt.Sprintf("the shim's debug line %q in containerd's log", msg), func() bool {
		var b bytes.Buffer
		suite.daemon.CopyLog(&b, from)
		for _, l := range lines(b.String()) {
			if strings.Contains(l, "level=debug") && strings.Contains(l, msg) && strings.Contains(l, id) {
				return true
			}
		}
		return false
	})
}

// runWithIO runs args to completion through the Go client with the given
// IO and returns the exit status.
func runWithIO(t *testing.T, id string, args []string, ioc cio.Creator, opts ...oci.SpecOpts) client.ExitStatus {
	t.Helper()
	c, ctx := newClient(t)
	return runToExit(t, ctx, newContainer(t, c, ctx, id, args, opts...), ioc, nil)
}

// TestBinaryLogURI: a binary:// stdio URI starts the logging binary with
// the task's stdout and stderr as its fds 3 and 4, the task runs once the
// logger is ready, the exit comes after the logger has everything, and a
// logger that never gets ready fails the start and leaves nothing behind.
// With a terminal the pty's one stream goes to fd 3; an exec gets its own
// logger. The shim's debug line about the logger checks that -debug reaches
// containerd's log.
func TestBinaryLogURI(t *testing.T) {
	needDaemon(t)
	bin := buildLogger(t)
	t.Run("ctr-spew", func(t *testing.T) {
		id, f := containerID(t), newLoggerFiles(t)
		before := snapshotLeftovers(id)
		logFrom := suite.daemon.LogSize()
		out, errOut, exit := runCtr(t, ctrRunArgs(id, []string{"--log-uri", loggerURI(bin, f.args(id))}, demoModule, "spew", fmt.Sprint(loggerSpewMiB))...)
		if exit != 0 || out != "" {
			t.Errorf("ctr run exit %d, stdout %q (want 0 and none: output goes to the logger); stderr: %s", exit, clip(out), errOut)
		}
		f.checkSpew(t)
		if s := readFile(t, f.err); s != "" {
			t.Errorf("the logger's stderr: %q, want nothing", clip(s))
		}
		f.checkEnv(t, id)
		expectNoLeftovers(t, before, id)
		expectShimDebugLine(t, logFrom, "logging binary ready", id)
	})
	t.Run("client-stderr", func(t *testing.T) {
		id, f := containerID(t), newLoggerFiles(t)
		st := runWithIO(t, id, []string{demoModule, "stderr", "to the logger"}, cio.BinaryIO(bin, f.args(id)))
		if st.ExitCode() != 0 {
			t.Errorf("exit %d, want 0", st.ExitCode())
		}
		if s := readFile(t, f.err); s != "to the logger\n" {
			t.Errorf("the logger's stderr: %q, want %q", s, "to the logger\n")
		}
		if s := readFile(t, f.out); s != "" {
			t.Errorf("the logger's stdout: %q, want nothing", clip(s))
		}
		f.checkEnv(t, id)
	})
	t.Run("terminal", func(t *testing.T) {
		// nerdctl run -d -t: one stream, the pty's, on the logger's fd 3.
		id, f := containerID(t), newLoggerFiles(t)
		st := runWithIO(t, id, []string{demoModule, "stderr", "through the pty"}, cio.TerminalBinaryIO(bin, f.args(id)), oci.WithTTY)
		if st.ExitCode() != 0 {
			t.Errorf("exit %d, want 0", st.ExitCode())
		}
		if s := readFile(t, f.out); !strings.Contains(s, "through the pty") {
			t.Errorf("the logger's stdout: %q, want the pty's output", s)
		}
		if s := readFile(t, f.err); s != "" {
			t.Errorf("the logger's stderr: %q, want nothing with a terminal", clip(s))
		}
	})
	t.Run("exec", func(t *testing.T) {
		id, f := containerID(t), newLoggerFiles(t)
		c, ctx := newClient(t)
		ctr := newContainer(t, c, ctx, id, []string{"/busyloop.wasm"})
		task, err := ctr.NewTask(ctx, goIO(nil, nil, nil))
		if err != nil {
			t.Fatalf("new task: %v", err)
		}
		defer task.Delete(ctx, client.WithProcessKill)
		if err := task.Start(ctx); err != nil {
			t.Fatalf("start: %v", err)
		}
		st := runExec(t, ctx, task, "logged", &specs.Process{Args: []string{helloModule, "x"}, Cwd: "/"}, cio.BinaryIO(bin, f.args(id)))
		if out := readFile(t, f.out); st.ExitCode() != 0 || !hasLine(out, "args: x") {
			t.Errorf("exec: exit %d, the logger's stdout %q", st.ExitCode(), out)
		}
		// As with runc's shim, an exec's logger is named by the exec id.
		f.checkEnv(t, "logged")
	})
	t.Run("never-ready", func(t *testing.T) {
		id, f := containerID(t), newLoggerFiles(t)
		args := f.args(id)
		args["mode"] = "hang"
		before := snapshotLeftovers(id)
		start := time.Now()
		out, errOut, exit := runCtr(t, ctrRunArgs(id, []string{"--log-uri", loggerURI(bin, args)}, helloModule)...)
		took := time.Since(start)
		t.Logf("ctr run stderr after %s: %s", took.Round(time.Millisecond), errOut)
		if exit == 0 || strings.Contains(out, "Hello") {
			t.Errorf("ctr run exit %d, stdout %q: want a failure before the module runs", exit, out)
		}
		if !strings.Contains(errOut, "did not signal readiness within 10s") || !strings.Contains(errOut, bin) {
			t.Errorf("ctr run stderr does not say which logging binary was not ready and for how long:\n%s", errOut)
		}
		if took < 10*time.Second || took > 40*time.Second {
			t.Errorf("ctr run failed after %s, want the 10 s readiness timeout", took)
		}
		expectNoLeftovers(t, before, id)
		if procs := processesMentioning(f.dir); len(procs) > 0 {
			t.Errorf("logger still running: %+v", procs)
		}
		if _, err := os.Stat(f.env); err != nil {
			t.Errorf("the logger did not run: %v", err)
		}
	})
}
