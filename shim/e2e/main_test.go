package e2e

import (
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/hack/privatecontainerd"
)

const (
	runtimeName   = "io.containerd.wasm.v1"
	shimBinary    = "containerd-shim-wasm-v1"
	wasmPlatform  = "wasi/wasm"
	testdataImage = "localhost/wasm/testdata:latest"

	// hostSecretVar is set in containerd's environment (and ours): a wasm
	// task must see only the environment of its OCI spec, never the host's.
	hostSecretVar = "E2E_HOST_SECRET"
)

// suite is the state shared by every test: nil fields mean skipped.
var suite struct {
	skip   string // why every test is skipped; empty when the daemon runs
	repo   string
	daemon *daemon
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	repo, err := privatecontainerd.RepoRoot()
	if err != nil {
		suite.skip = err.Error()
	} else {
		suite.repo = repo
		suite.skip = prerequisites(repo)
	}
	if suite.skip != "" {
		fmt.Printf("SKIP: e2e: %s\n", suite.skip)
		return m.Run()
	}
	os.Setenv(hostSecretVar, "leak")
	d, err := startDaemon(repo, daemonVersion())
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		if d != nil {
			d.CopyLog(os.Stderr, 0)
			d.stop()
		}
		return 1
	}
	suite.daemon = d
	defer stopBeforeTimeout(d).Stop()
	if err := d.importImages(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		d.CopyLog(os.Stderr, 0)
		d.stop()
		return 1
	}
	code := m.Run()
	if err := d.stop(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: teardown: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// stopBeforeTimeout stops the daemon shortly before go test's -timeout
// would panic: that panic exits without returning to TestMain, and would
// leave containerd, its shims and mounts running on the host. A hung test
// then fails against a dead daemon instead of hanging until the panic.
func stopBeforeTimeout(d *daemon) *time.Timer {
	if !flag.Parsed() {
		flag.Parse()
	}
	var timeout time.Duration
	if f := flag.Lookup("test.timeout"); f != nil {
		timeout, _ = f.Value.(flag.Getter).Get().(time.Duration)
	}
	if timeout <= 0 {
		return time.NewTimer(time.Duration(math.MaxInt64))
	}
	margin := min(30*time.Second, timeout/10)
	return time.AfterFunc(timeout-margin, func() {
		fmt.Fprintf(os.Stderr, "e2e: go test -timeout %v is %v away: stopping containerd %s now\n", timeout, margin, d.Version)
		d.CopyLog(os.Stderr, 0)
		if err := d.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: teardown: %v\n", err)
		}
	})
}

func daemonVersion() string {
	if v := os.Getenv("E2E_CONTAINERD_VERSION"); v != "" {
		return v
	}
	return "2.4.2"
}

// imagesDir holds the image archives to import: bin/images, or
// E2E_IMAGES_DIR to try images built elsewhere.
func imagesDir(repo string) string {
	if dir := os.Getenv("E2E_IMAGES_DIR"); dir != "" {
		return dir
	}
	return filepath.Join(repo, "bin", "images")
}

// prerequisites names what is missing to run the suite, or returns "".
func prerequisites(repo string) string {
	if os.Geteuid() != 0 {
		return "needs root (containerd mounts and cgroups)"
	}
	v := daemonVersion()
	need := []string{
		filepath.Join(privatecontainerd.BinDir(repo, v), "containerd"),
		filepath.Join(privatecontainerd.BinDir(repo, v), "ctr"),
		filepath.Join(repo, "bin", shimBinary),
		filepath.Join(imagesDir(repo), "testdata.tar"),
	}
	for _, p := range need {
		if _, err := os.Stat(p); err != nil {
			return fmt.Sprintf("%s is missing (make build, hack/install-containerd.sh %s, hack/build-images.sh)", p, v)
		}
	}
	return ""
}

// needDaemon skips t when the suite could not start its containerd, and
// prints the part of containerd's log written during t if t fails.
func needDaemon(t *testing.T) *daemon {
	t.Helper()
	if suite.skip != "" {
		t.Skip(suite.skip)
	}
	d := suite.daemon
	from := d.LogSize()
	t.Cleanup(func() {
		if t.Failed() {
			var b strings.Builder
			d.CopyLog(&b, from)
			t.Logf("containerd %s log during %s:\n%s", d.Version, t.Name(), b.String())
		}
	})
	return d
}
