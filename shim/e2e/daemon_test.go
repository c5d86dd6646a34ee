package e2e

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/hack/privatecontainerd"
)

// daemon is the suite's private containerd (hack/privatecontainerd: its
// own root, state, socket and log under a short folder in /tmp) with what
// the tests add: the containerd namespace of the run and the names they
// derive from the folder.
type daemon struct {
	*privatecontainerd.Daemon
	fifoDir string
	ns      string // containerd namespace of this run
	// cgroupName names the cgroup folders that teardown removes (ns when
	// empty); a CRI daemon's Pods live under a cgroup parent of its own.
	cgroupName string
	token      string // makes container ids unique across concurrent runs
}

func startDaemon(repo, version string) (*daemon, error) {
	return startDaemonWith(repo, version, func(d *daemon) (string, error) { return d.PlainConfig(), nil }, nil)
}

// startDaemonWith starts a daemon whose config is config's; prepare may
// adjust the daemon (its namespace, say) before that.
func startDaemonWith(repo, version string, config func(*daemon) (string, error), prepare func(*daemon)) (*daemon, error) {
	const prefix = "ce2e"
	pd, err := privatecontainerd.New(privatecontainerd.Options{
		Repo: repo, Version: version, Prefix: prefix,
		// Debug logs, which failing tests print, and the opt plugin
		// kept in the daemon's folder.
		LogLevel: "debug", Opt: true,
		Env: []string{hostSecretVar + "=leak"},
	})
	if pd == nil {
		return nil, err
	}
	token := strings.TrimPrefix(filepath.Base(pd.Dir), prefix)
	d := &daemon{
		Daemon:  pd,
		fifoDir: filepath.Join(pd.Dir, "fifo"),
		ns:      "e2e-" + token,
		token:   token,
	}
	if err != nil {
		return d, err
	}
	if prepare != nil {
		prepare(d)
	}
	cfg, err := config(d)
	if err != nil {
		return d, err
	}
	return d, d.Start(cfg)
}

// linuxImages are the archives of linux/amd64 images (native programs
// for Pods); the others are wasi/wasm.
var linuxImages = map[string]bool{"pause.tar": true, "native.tar": true, "hello-linux.tar": true, "net-linux.tar": true, "http-linux.tar": true}

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

// stop ends containerd and everything it left (privatecontainerd's Stop:
// the daemon by its pid, its shims and their task children, the mounts
// and the folder), then the cgroup folders of the run. A second call (the
// timeout watchdog, then TestMain) returns the first one's error.
func (d *daemon) stop() error {
	err := d.Stop()
	cgroupName := d.cgroupName
	if cgroupName == "" {
		cgroupName = d.ns
	}
	for _, dir := range cgroupDirsNamed(cgroupName) {
		removeCgroupTree(dir)
	}
	return err
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
