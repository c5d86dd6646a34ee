package e2e

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/hack/containerdconfig"
)

// daemon is one private containerd: its own root, state, socket and log
// under a short temporary directory (unix socket paths must stay under
// 108 bytes, which rules out t.TempDir's long names).
type daemon struct {
	version string
	bin     string // folder with containerd and ctr
	ctr     string
	dir     string // the temporary directory holding everything below
	root    string
	state   string
	address string
	fifoDir string
	ns      string // containerd namespace of this run
	// cgroupName names the cgroup folders that teardown removes (ns when
	// empty); a CRI daemon's Pods live under a cgroup parent of its own.
	cgroupName string
	token      string // makes container ids unique across concurrent runs
	logPath    string
	cmd        *exec.Cmd
	exited     chan struct{} // closed when the containerd process is reaped

	stopOnce sync.Once
	stopErr  error
}

// configDaemon is where the daemon keeps its files, for
// hack/containerdconfig: debug logs, which failing tests print, and the
// opt plugin kept in the daemon's folder.
func (d *daemon) configDaemon() containerdconfig.Daemon {
	return containerdconfig.Daemon{Root: d.root, State: d.state, Address: d.address, Opt: filepath.Join(d.dir, "opt"), LogLevel: "debug"}
}

func startDaemon(repo, version string) (*daemon, error) {
	return startDaemonWith(repo, version, (*daemon).writeConfig, nil)
}

// startDaemonWith starts a daemon whose config is written by config;
// prepare may adjust the daemon (its namespace, say) before that.
func startDaemonWith(repo, version string, config func(*daemon) error, prepare func(*daemon)) (*daemon, error) {
	dir, err := os.MkdirTemp("/tmp", "ce2e")
	if err != nil {
		return nil, err
	}
	token := strings.TrimPrefix(filepath.Base(dir), "ce2e")
	d := &daemon{
		version: version,
		bin:     filepath.Join(repo, "bin", "containerd-"+version),
		dir:     dir,
		root:    filepath.Join(dir, "root"),
		state:   filepath.Join(dir, "state"),
		address: filepath.Join(dir, "c.sock"),
		fifoDir: filepath.Join(dir, "fifo"),
		ns:      "e2e-" + token,
		token:   token,
		logPath: filepath.Join(dir, "containerd.log"),
		exited:  make(chan struct{}),
	}
	d.ctr = filepath.Join(d.bin, "ctr")
	if prepare != nil {
		prepare(d)
	}
	if err := config(d); err != nil {
		return d, err
	}
	if err := d.spawn(repo); err != nil {
		return d, err
	}
	return d, d.waitReady(60 * time.Second)
}

func (d *daemon) configPath() string { return filepath.Join(d.dir, "config.toml") }

func (d *daemon) writeConfig() error {
	return os.WriteFile(d.configPath(), []byte(containerdconfig.Plain(d.configDaemon())), 0o644)
}

func (d *daemon) spawn(repo string) error {
	// Append: a restarted daemon (restart) keeps the log of the first.
	logf, err := os.OpenFile(d.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(filepath.Join(d.bin, "containerd"), "--config", d.configPath())
	cmd.Stdout = logf
	cmd.Stderr = logf
	// The shim under test must win over any other containerd-shim-wasm-v1
	// on the host, so its folder goes first on containerd's PATH.
	cmd.Env = append(withoutVar(os.Environ(), "PATH"),
		"PATH="+filepath.Join(repo, "bin")+":"+d.bin+":"+os.Getenv("PATH"),
		hostSecretVar+"=leak",
		// A compile cache of the run's own, removed with the daemon's
		// directory, instead of the node's.
		"CONTAINERD_SHIM_WASM_CACHE_DIR="+filepath.Join(d.dir, "wasm-cache"),
	)
	// A process group of its own keeps a ^C of go test from reaching the
	// daemon before the teardown does.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// containerd 2.x looks for a shim in its working directory before PATH
	// (pkg/shim.BinaryPath), so it runs where no stray binary can be.
	cmd.Dir = d.dir
	if err := cmd.Start(); err != nil {
		return err
	}
	d.cmd = cmd
	go func() {
		cmd.Wait()
		close(d.exited)
	}()
	return nil
}

func withoutVar(env []string, name string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

func (d *daemon) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-d.exited:
			return fmt.Errorf("containerd %s exited during startup: %v", d.version, d.cmd.ProcessState)
		default:
		}
		if c, err := net.Dial("unix", d.address); err == nil {
			c.Close()
			// The socket accepts before every service is registered; a
			// ctr round trip proves the API answers.
			if _, errOut, code := d.ctrCmd(nil, nil, "version"); code == 0 {
				return nil
			} else if time.Now().After(deadline) {
				return fmt.Errorf("ctr version: %s", errOut)
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("containerd %s did not serve %s within %v", d.version, d.address, timeout)
}

// linuxImages are the archives of linux/amd64 images (native programs
// for Pods); the others are wasi/wasm.
var linuxImages = map[string]bool{"pause.tar": true, "native.tar": true, "hello-linux.tar": true}

// importImages loads the test images once for the whole run, with the one
// import form that works on every version (hack/README.md).
func (d *daemon) importImages() error {
	tars, err := filepath.Glob(filepath.Join(imagesDir(suite.repo), "*.tar"))
	if err != nil || len(tars) == 0 {
		return fmt.Errorf("no image archives in %s: %v", imagesDir(suite.repo), err)
	}
	sort.Strings(tars)
	for _, tar := range tars {
		platform := wasmPlatform
		if linuxImages[filepath.Base(tar)] {
			platform = nativePlatform
		}
		if _, errOut, code := d.ctrCmd(nil, nil, "images", "import", "--platform", platform, tar); code != 0 {
			return fmt.Errorf("ctr images import --platform %s %s: %s", platform, tar, errOut)
		}
	}
	out, errOut, code := d.ctrCmd(nil, nil, "images", "ls", "-q")
	if code != 0 {
		return fmt.Errorf("ctr images ls: %s", errOut)
	}
	if !strings.Contains(out, testdataImage) {
		return fmt.Errorf("%s not among the imported images:\n%s", testdataImage, out)
	}
	return nil
}

func (d *daemon) logSize() int64 {
	fi, err := os.Stat(d.logPath)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// printLog copies containerd's log from byte offset from to w.
func (d *daemon) printLog(w io.Writer, from int64) {
	f, err := os.Open(d.logPath)
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

// terminateGrace is how long a process we started gets to exit after
// SIGTERM before it is killed.
const terminateGrace = 15 * time.Second

// terminate sends p SIGTERM, and SIGKILL if it has not exited after
// terminateGrace; exited is closed once p is reaped. It reports whether p
// had to be killed.
func terminate(p *os.Process, exited <-chan struct{}) (killed bool) {
	p.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		return false
	case <-time.After(terminateGrace):
		p.Kill()
		<-exited
		return true
	}
}

// stop ends containerd and everything it left: shims started for this
// daemon (found by its socket address on their command line) and their task
// children, mounts under the temporary directory and the namespace's cgroup
// folders. A second call (the timeout watchdog, then TestMain) does nothing.
func (d *daemon) stop() error {
	d.stopOnce.Do(func() { d.stopErr = d.teardown() })
	return d.stopErr
}

func (d *daemon) teardown() error {
	var errs []error
	if d.cmd != nil && d.cmd.Process != nil {
		if terminate(d.cmd.Process, d.exited) {
			errs = append(errs, fmt.Errorf("containerd ignored SIGTERM for %v", terminateGrace))
		}
	}
	for _, p := range processesMentioning(d.address) {
		for _, c := range childrenOf(p.pid) {
			syscall.Kill(c, syscall.SIGKILL)
		}
		syscall.Kill(p.pid, syscall.SIGKILL)
	}
	for _, m := range mountsUnder(d.dir) {
		if err := syscall.Unmount(m, syscall.MNT_DETACH); err != nil {
			errs = append(errs, fmt.Errorf("unmount %s: %w", m, err))
		}
	}
	cgroupName := d.cgroupName
	if cgroupName == "" {
		cgroupName = d.ns
	}
	for _, dir := range cgroupDirsNamed(cgroupName) {
		removeCgroupTree(dir)
	}
	if err := os.RemoveAll(d.dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// lines splits command output into trimmed non-empty lines.
func lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// removeCgroupTree removes a cgroup folder and the empty ones below it,
// innermost first, as cgroupfs only lets empty leaves go.
func removeCgroupTree(dir string) {
	var dirs []string
	filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err == nil && e.IsDir() {
			dirs = append(dirs, path)
		}
		return nil
	})
	sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
	for _, p := range dirs {
		os.Remove(p)
	}
}
