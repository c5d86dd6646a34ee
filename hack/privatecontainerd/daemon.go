// Package privatecontainerd starts the project's private containerd
// daemons: the e2e suite's, the benchmark's and hack/containerd.sh's (through
// hack/containerd-ctl). Each daemon keeps its root, state, sockets, log and
// the shims' compile cache in a folder of its own under /tmp, runs with the
// config of hack/containerdconfig and with the repo's bin/ first on PATH,
// and is stopped by its pid (see the package example). It is Linux-only:
// /proc, mounts and sessions.
package privatecontainerd

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/hack/containerdconfig"
)

// File names inside a daemon's folder. hack/ctr.sh reads versionName and
// the socket.
const (
	socketName  = "containerd.sock"
	configName  = "config.toml"
	logName     = "containerd.log"
	pidName     = "containerd.pid"
	versionName = "version"
)

// maxSocketPath is what sun_path holds, without its NUL.
const maxSocketPath = 107

// cacheDirVar names the shims' compile cache folder.
const cacheDirVar = "CONTAINERD_SHIM_WASM_CACHE_DIR"

// Options say which containerd to run and how.
type Options struct {
	// Repo is the repo's root: the binaries are in
	// Repo/bin/containerd-Version and Repo/bin comes first on PATH, so
	// runtime io.containerd.wasm.v1 resolves to the shim built there.
	Repo    string
	Version string
	// Dir is the daemon's folder; "" makes a new one under /tmp named
	// Prefix followed by random digits. Keep it short: unix socket paths
	// hold 107 bytes.
	Dir, Prefix string
	// PathFirst are folders searched before Repo/bin on containerd's PATH.
	PathFirst []string
	// Env is added to containerd's environment.
	Env []string
	// LogLevel is containerd's log level for PlainConfig and CRIConfig;
	// "" leaves its default (info).
	LogLevel string
	// Opt runs the opt plugin in the daemon's folder; without it the
	// plugin is off (it would install into /opt/containerd).
	Opt bool
	// Keep leaves the folder (config, log) in place after Stop.
	Keep bool
	// ReadyTimeout bounds the wait for the API at start; 0 means a minute.
	ReadyTimeout time.Duration
}

// Daemon is one private containerd. Its fields are read-only.
type Daemon struct {
	Version string
	Bin     string // the folder with containerd and ctr
	Ctr     string
	Dir     string // everything below lives in it
	Root    string
	State   string
	Address string // the gRPC socket; the ttrpc one is Address + ".ttrpc"
	Log     string // containerd's output, kept across restarts
	// CacheDir is the shims' compile cache, which lives and dies with
	// the daemon instead of being the node's.
	CacheDir string

	opts Options
	// proc is the containerd process; exited is closed once it is gone.
	// restart replaces both.
	proc   *os.Process
	exited chan struct{}

	stopOnce sync.Once
	stopErr  error
}

// BinDir is where hack/install-containerd.sh puts containerd VERSION:
// built from the Go module proxy, or links to Debian's 1.6.
func BinDir(repo, version string) string {
	return filepath.Join(repo, "bin", "containerd-"+version)
}

// New makes the daemon's folder and names its files; Start runs it.
// Callers write what their config refers to (a CNI conf dir, say) in
// between.
func New(o Options) (*Daemon, error) {
	dir, err := makeDir(o)
	if err != nil {
		return nil, fmt.Errorf("daemon folder: %w", err)
	}
	bin := BinDir(o.Repo, o.Version)
	d := &Daemon{
		Version:  o.Version,
		Bin:      bin,
		Ctr:      filepath.Join(bin, "ctr"),
		Dir:      dir,
		Root:     filepath.Join(dir, "root"),
		State:    filepath.Join(dir, "state"),
		Address:  filepath.Join(dir, socketName),
		Log:      filepath.Join(dir, logName),
		CacheDir: filepath.Join(dir, "wasm-cache"),
		opts:     o,
	}
	if n := len(d.Address + ".ttrpc"); n > maxSocketPath {
		return d, fmt.Errorf("%s is too long for a unix socket (%s.ttrpc is %d bytes, max %d): use a shorter folder", dir, d.Address, n, maxSocketPath)
	}
	return d, nil
}

// makeDir makes the daemon's folder and returns its path with symlinks
// resolved, as /proc/self/mountinfo names the mounts below it.
func makeDir(o Options) (string, error) {
	dir := o.Dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("/tmp", o.Prefix); err != nil {
			return "", err
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// StartPlain starts a daemon with PlainConfig: no CRI.
func StartPlain(o Options) (*Daemon, error) {
	d, err := New(o)
	if err != nil {
		return d, err
	}
	return d, d.Start(d.PlainConfig())
}

// ConfigDaemon is where the daemon keeps its files, for hack/containerdconfig.
func (d *Daemon) ConfigDaemon() containerdconfig.Daemon {
	c := containerdconfig.Daemon{Root: d.Root, State: d.State, Address: d.Address, LogLevel: d.opts.LogLevel}
	if d.opts.Opt {
		c.Opt = filepath.Join(d.Dir, "opt")
	}
	return c
}

// PlainConfig is the config without CRI: linux and wasi/wasm images unpack.
func (d *Daemon) PlainConfig() string { return containerdconfig.Plain(d.ConfigDaemon()) }

// CRIConfig is the config with the CRI plugin on, in the format of the
// daemon's version.
func (d *Daemon) CRIConfig(cri containerdconfig.CRI) string {
	return containerdconfig.WithCRI(d.ConfigDaemon(), d.Version, cri)
}

// Start writes config, runs containerd and waits until its API answers.
// A daemon that fails to start is left for Stop (and its log for CopyLog).
func (d *Daemon) Start(config string) error {
	if d.Version == "" {
		return errors.New("no containerd version")
	}
	if _, err := os.Stat(filepath.Join(d.Bin, "containerd")); err != nil {
		return fmt.Errorf("containerd %s: %w (run hack/install-containerd.sh %s)", d.Version, err, d.Version)
	}
	if err := os.WriteFile(filepath.Join(d.Dir, configName), []byte(config), 0o644); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	if err := os.WriteFile(filepath.Join(d.Dir, versionName), []byte(d.Version+"\n"), 0o644); err != nil {
		return fmt.Errorf("write version: %w", err)
	}
	if err := d.spawn(); err != nil {
		return err
	}
	return d.waitReady()
}

// environ is containerd's environment: ours with PATH and the cache folder
// replaced, and opts.Env.
func (d *Daemon) environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PATH=") && !strings.HasPrefix(kv, cacheDirVar+"=") {
			env = append(env, kv)
		}
	}
	return append(append(env, "PATH="+searchPath(d.opts.PathFirst, d.opts.Repo, d.Bin, os.Getenv("PATH")), cacheDirVar+"="+d.CacheDir), d.opts.Env...)
}

// systemDirs end containerd's PATH when ours lacks them: Debian's runc is
// in /usr/sbin.
var systemDirs = []string{"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"}

// searchPath puts first, then the repo's bin/ (the shim under test wins
// over any other on the host), then containerd's folder, then path and
// the system folders it lacks.
func searchPath(first []string, repo, bin, path string) string {
	dirs := slices.Concat(first, []string{filepath.Join(repo, "bin"), bin})
	var rest []string
	if path != "" {
		rest = strings.Split(path, ":")
	}
	for _, s := range systemDirs {
		if !slices.Contains(rest, s) {
			rest = append(rest, s)
		}
	}
	return strings.Join(append(dirs, rest...), ":")
}

func (d *Daemon) spawn() error {
	// Append: a restarted daemon keeps the log of the first.
	logf, err := os.OpenFile(d.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("containerd log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(d.Bin, "containerd"), "--config", filepath.Join(d.Dir, configName))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = d.environ()
	// containerd 2.x looks for a shim in its working directory before PATH
	// (pkg/shim.BinaryPath), so it runs where no stray binary can be.
	cmd.Dir = d.Dir
	// A session of its own keeps the terminal's signals (a ^C of go test)
	// from reaching the daemon before the caller's teardown does, and
	// lets it outlive hack/containerd-ctl.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start containerd %s: %w", d.Version, err)
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	d.proc, d.exited = cmd.Process, exited
	if err := os.WriteFile(filepath.Join(d.Dir, pidName), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	return nil
}

func (d *Daemon) waitReady() error {
	timeout := d.opts.ReadyTimeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		select {
		case <-d.exited:
			return fmt.Errorf("containerd %s exited during startup", d.Version)
		default:
		}
		if c, err := net.Dial("unix", d.Address); err == nil {
			c.Close()
			// The socket accepts before every service is registered; a
			// ctr round trip proves the API answers.
			out, err := exec.Command(d.Ctr, "--address", d.Address, "version").CombinedOutput()
			if err == nil {
				return nil
			}
			last = fmt.Sprintf(": ctr version: %v: %s", err, strings.TrimSpace(string(out)))
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("containerd %s did not serve %s within %v%s", d.Version, d.Address, timeout, last)
}

// Pid is containerd's process id, 0 when none runs.
func (d *Daemon) Pid() int {
	if d.proc == nil {
		return 0
	}
	return d.proc.Pid
}

// Restart SIGKILLs containerd and starts it again with the same config,
// root, state and socket, as a node whose containerd crashed and was
// brought back by its service manager. Shims keep running meanwhile.
func (d *Daemon) Restart() error {
	if d.proc == nil {
		return errors.New("containerd is not running")
	}
	if err := d.proc.Kill(); err != nil {
		return fmt.Errorf("kill containerd: %w", err)
	}
	<-d.exited
	if err := d.spawn(); err != nil {
		return err
	}
	return d.waitReady()
}

// LogSize is the length of containerd's log so far: an offset for CopyLog.
func (d *Daemon) LogSize() int64 {
	fi, err := os.Stat(d.Log)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// CopyLog copies containerd's log from byte offset from to w.
func (d *Daemon) CopyLog(w io.Writer, from int64) {
	f, err := os.Open(d.Log)
	if err != nil {
		fmt.Fprintf(w, "(no containerd log: %v)\n", err)
		return
	}
	defer f.Close()
	if _, err := f.Seek(from, io.SeekStart); err != nil {
		return
	}
	io.Copy(w, f)
}

// TailLog is the last n lines of containerd's log.
func (d *Daemon) TailLog(n int) string {
	data, err := os.ReadFile(d.Log)
	if err != nil {
		return fmt.Sprintf("(no containerd log: %v)", err)
	}
	ls := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	return strings.Join(ls[max(0, len(ls)-n):], "\n")
}

// Stop ends containerd by its pid (Terminate), kills the shims that
// serve it and their task children, unmounts what is left under the
// folder (task rootfs mounts outlive a killed daemon) and removes the
// folder unless Options.Keep. A second call does nothing and returns the
// first one's error.
func (d *Daemon) Stop() error {
	d.stopOnce.Do(func() { d.stopErr = d.teardown() })
	return d.stopErr
}

func (d *Daemon) teardown() error {
	var errs []error
	if d.proc != nil && Terminate(d.proc, d.exited, TerminateGrace) {
		errs = append(errs, fmt.Errorf("containerd ignored SIGTERM for %v", TerminateGrace))
	}
	for _, pid := range shimsOf(d.Address) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	for _, m := range MountsUnder(d.Dir) {
		if err := syscall.Unmount(m, 0); err != nil {
			if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil {
				errs = append(errs, fmt.Errorf("unmount %s: %w", m, err))
			}
		}
	}
	if !d.opts.Keep {
		if err := os.RemoveAll(d.Dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Attach finds the daemon that an earlier Start (of another process:
// hack/containerd-ctl start) left running in dir, so that it can be
// stopped. The pid file is trusted only if that process runs containerd
// with dir's config; otherwise the daemon is gone and Stop only cleans up.
// A folder whose start never got as far as writing the version file has
// no Version and no Bin.
func Attach(repo, dir string) (*Daemon, error) {
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("private containerd folder: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("%s is not a private containerd's folder", dir)
	}
	v, _ := os.ReadFile(filepath.Join(dir, versionName))
	d, err := New(Options{Repo: repo, Version: strings.TrimSpace(string(v)), Dir: dir})
	if err != nil {
		return d, err
	}
	pid := runningPid(d.Dir)
	if pid == 0 {
		return d, nil
	}
	if d.proc, err = os.FindProcess(pid); err != nil {
		return d, err
	}
	// Not our child: its new parent reaps it, and we watch for the pid
	// to disappear.
	d.exited = make(chan struct{})
	go func() {
		for syscall.Kill(pid, 0) == nil {
			time.Sleep(50 * time.Millisecond)
		}
		close(d.exited)
	}()
	return d, nil
}

// Running reports the pid of the containerd that runs with dir's config,
// or 0.
func Running(dir string) int {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return 0
	}
	return runningPid(abs)
}

func runningPid(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, pidName))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !slices.Contains(strings.Split(string(cmdline), "\x00"), filepath.Join(dir, configName)) {
		return 0
	}
	return pid
}

// readLines returns the lines of a file, nil if it cannot be read.
func readLines(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}
