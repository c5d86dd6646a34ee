package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// ctrTimeout bounds any single ctr call; a slow 2-core machine compiling a
// cold module takes seconds, a hung shim takes forever.
const ctrTimeout = 2 * time.Minute

// ctrCmd runs ctr against the private daemon in its namespace. Output goes
// to stdout when given (for streams too large to keep), else is returned.
func (d *daemon) ctrCmd(stdin io.Reader, stdout io.Writer, args ...string) (string, string, int) {
	ctx, cancel := context.WithTimeout(context.Background(), ctrTimeout)
	defer cancel()
	cmd := d.ctrExec(ctx, args...)
	var outBuf, errBuf bytes.Buffer
	cmd.Stdin = stdin
	cmd.Stdout = &outBuf
	if stdout != nil {
		cmd.Stdout = stdout
	}
	cmd.Stderr = &errBuf
	err := cmd.Run()
	return outBuf.String(), errBuf.String(), exitCode(err)
}

// ctrExec prepares a ctr command; ctr 2.x would otherwise print the
// daemon's cgroup v1 deprecation warning on stderr at every call.
func (d *daemon) ctrExec(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, d.Ctr, d.ctrArgs(args...)...)
	cmd.Env = append(os.Environ(), "CONTAINERD_SUPPRESS_DEPRECATION_WARNINGS=1")
	// Bound the wait for ctr's output copies after a timeout kill too.
	cmd.WaitDelay = 5 * time.Second
	return cmd
}

func (d *daemon) ctrArgs(args ...string) []string {
	return append([]string{"--address", d.Address, "--namespace", d.ns}, args...)
}

// exitCode maps a finished command's error to its exit status; -1 means it
// did not run or was killed by a signal (a timeout, for ctr).
func exitCode(err error) int {
	if err == nil {
		return 0
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// runCtr runs ctr for a test and logs what happened, so a failure shows the
// command line and both streams without each test repeating it.
func runCtr(t *testing.T, args ...string) (stdout, stderr string, exit int) {
	t.Helper()
	return runCtrIO(t, nil, nil, args...)
}

func runCtrIO(t *testing.T, stdin io.Reader, out io.Writer, args ...string) (stdout, stderr string, exit int) {
	t.Helper()
	d := suite.daemon
	start := time.Now()
	stdout, stderr, exit = d.ctrCmd(stdin, out, args...)
	t.Logf("ctr %s -> exit %d in %v\nstdout: %s\nstderr: %s",
		strings.Join(args, " "), exit, time.Since(start).Round(time.Millisecond), clip(stdout), clip(stderr))
	return stdout, stderr, exit
}

func clip(s string) string {
	const max = 2000
	if len(s) > max {
		return s[:max] + fmt.Sprintf("... (%d bytes)", len(s))
	}
	return s
}

// ctrHasFlag tells whether `ctr SUBCOMMAND... --help` lists flag: ctr's
// flags differ by version (1.6 has no run --user, for one).
func ctrHasFlag(t *testing.T, flag string, subcommand ...string) bool {
	t.Helper()
	out, _, _ := suite.daemon.ctrCmd(nil, nil, append(subcommand, "--help")...)
	return strings.Contains(out, flag+" ") || strings.Contains(out, flag+",")
}

// runFlags are the ctr run flags every wasm container needs; fifo-dir keeps
// ctr's fifos inside the private directory instead of /run/containerd.
func runFlags() []string {
	return []string{"--runtime", runtimeName, "--platform", wasmPlatform, "--fifo-dir", suite.daemon.fifoDir}
}

// ctrRunArgs builds `ctr run --rm ... IMAGE ID MODULE ARGS...`; extra flags
// go before the image reference.
func ctrRunArgs(id string, extra []string, module string, args ...string) []string {
	return ctrRunImageArgs(testdataImage, id, extra, append([]string{module}, args...)...)
}

// ctrRunImageArgs builds `ctr run --rm ... IMAGE ID ARGS...` (no ARGS:
// the image's entrypoint).
func ctrRunImageArgs(image, id string, extra []string, args ...string) []string {
	a := append([]string{"run", "--rm"}, runFlags()...)
	a = append(a, extra...)
	a = append(a, image, id)
	return append(a, args...)
}

var idCounter atomic.Int64

var idUnsafe = regexp.MustCompile(`[^A-Za-z0-9]+`)

// containerID derives a unique, valid container id from the test name. The
// run token keeps ids apart from concurrent runs on the same host, which
// share cgroup hierarchies and the process table.
func containerID(t *testing.T) string {
	name := strings.Trim(idUnsafe.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(name) > 40 {
		name = strings.Trim(name[len(name)-40:], "-")
	}
	return fmt.Sprintf("%s-%s-%d", name, suite.daemon.token, idCounter.Add(1))
}

// removeContainer deletes whatever is left of a container, ignoring absence,
// so a failed test does not leave a running task to the next one.
func removeContainer(t *testing.T, id string) {
	t.Helper()
	d := suite.daemon
	d.ctrCmd(nil, nil, "task", "kill", "-s", "SIGKILL", id)
	d.ctrCmd(nil, nil, "task", "delete", "--force", id)
	d.ctrCmd(nil, nil, "containers", "delete", id)
}

// event is one line of `ctr events`: timestamp namespace topic {json}.
type event struct {
	topic string
	body  string
	at    time.Time // when the watcher read it
}

var eventLine = regexp.MustCompile(`\s(/\S+)\s(\{.*\})\s*$`)

// eventWatcher follows `ctr events` for the run's namespace in the
// background; tests wait on what it has seen instead of sleeping.
type eventWatcher struct {
	cmd  *exec.Cmd
	done chan struct{}

	mu     sync.Mutex // guards events
	events []event
	notify chan struct{} // closed and replaced on each new event
}

func watchEvents(t *testing.T) *eventWatcher {
	t.Helper()
	d := suite.daemon
	cmd := d.ctrExec(context.Background(), "events", "namespace=="+d.ns)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errBuf bytes.Buffer
	cmd.Stderr = &errBuf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &eventWatcher{cmd: cmd, done: make(chan struct{}), notify: make(chan struct{})}
	go w.read(out)
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-w.done
		cmd.Wait()
		if t.Failed() {
			t.Logf("ctr events stderr: %s", errBuf.String())
		}
	})
	w.sync(t)
	return w
}

func (w *eventWatcher) read(r io.Reader) {
	defer close(w.done)
	buf := make([]byte, 0, 64*1024)
	var pending []byte
	for {
		n, err := r.Read(buf[:cap(buf)])
		pending = append(pending, buf[:n]...)
		for {
			i := bytes.IndexByte(pending, '\n')
			if i < 0 {
				break
			}
			w.add(string(pending[:i]))
			pending = pending[i+1:]
		}
		if err != nil {
			return
		}
	}
}

func (w *eventWatcher) add(line string) {
	m := eventLine.FindStringSubmatch(line)
	if m == nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.events = append(w.events, event{topic: m[1], body: m[2], at: time.Now()})
	close(w.notify)
	w.notify = make(chan struct{})
}

// sync returns once the subscription is live: ctr prints nothing when it
// subscribes, so it waits for an event that the test itself causes.
func (w *eventWatcher) sync(t *testing.T) {
	t.Helper()
	d := suite.daemon
	label := fmt.Sprintf("e2e-sync=%d", idCounter.Add(1))
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, errOut, code := d.ctrCmd(nil, nil, "namespaces", "label", d.ns, label); code != 0 {
			t.Fatalf("ctr namespaces label: %s", errOut)
		}
		if _, ok := w.wait(time.Second, func(e event) bool { return e.topic == "/namespaces/update" }); ok {
			return
		}
	}
	t.Fatal("ctr events never delivered an event")
}

// wait returns the first event matching pred, waiting up to timeout.
func (w *eventWatcher) wait(timeout time.Duration, pred func(event) bool) (event, bool) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		w.mu.Lock()
		for _, e := range w.events {
			if pred(e) {
				w.mu.Unlock()
				return e, true
			}
		}
		notify := w.notify
		w.mu.Unlock()
		select {
		case <-notify:
		case <-w.done:
			return event{}, false
		case <-timer.C:
			return event{}, false
		}
	}
}

// forContainer lists the events naming container id, in arrival order.
func (w *eventWatcher) forContainer(id string) []event {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []event
	for _, e := range w.events {
		if mentionsContainer(e, id) {
			out = append(out, e)
		}
	}
	return out
}

func mentionsContainer(e event, id string) bool {
	return strings.Contains(e.body, `"container_id":"`+id+`"`)
}

// exitEvent matches the /tasks/exit of container id's init process.
func exitEvent(id string) func(event) bool {
	return func(e event) bool {
		return e.topic == "/tasks/exit" && mentionsContainer(e, id) && strings.Contains(e.body, `"id":"`+id+`"`)
	}
}

var exitStatusField = regexp.MustCompile(`"exit_status":(\d+)`)

// exitStatus reads exit_status from a /tasks/exit body; the JSON encoder
// omits the field when it is 0.
func (e event) exitStatus() int {
	m := exitStatusField.FindStringSubmatch(e.body)
	if m == nil {
		return 0
	}
	var n int
	fmt.Sscan(m[1], &n)
	return n
}
