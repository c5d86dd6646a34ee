package e2e

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// registry is a private CNCF distribution registry on 127.0.0.1 (plain
// HTTP), its storage in a temporary directory, for one test.
type registry struct {
	host   string // 127.0.0.1:PORT
	cmd    *exec.Cmd
	exited chan struct{}
	log    string
}

// startRegistry runs bin/registry (hack/install-registry.sh) for t and
// stops it, by its pid, when t ends.
func startRegistry(t *testing.T) *registry {
	t.Helper()
	bin := filepath.Join(suite.repo, "bin", "registry")
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("%s is missing (hack/install-registry.sh, or make test-e2e)", bin)
	}
	dir := t.TempDir()
	var lastErr error
	// A port found free may be taken before the registry binds it; another
	// try takes another port.
	for try := 0; try < 3; try++ {
		r, err := spawnRegistry(t, bin, dir, try)
		if err == nil {
			return r
		}
		lastErr = err
	}
	t.Fatalf("registry did not start: %v", lastErr)
	return nil
}

func spawnRegistry(t *testing.T, bin, dir string, try int) (*registry, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	r := &registry{host: fmt.Sprintf("127.0.0.1:%d", port), exited: make(chan struct{}), log: filepath.Join(dir, fmt.Sprintf("registry-%d.log", try))}
	logf, err := os.Create(r.log)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	r.cmd = exec.Command(bin, "serve", filepath.Join(suite.repo, "hack", "registry.yml"))
	r.cmd.Stdout, r.cmd.Stderr = logf, logf
	r.cmd.Env = append(os.Environ(),
		"REGISTRY_HTTP_ADDR="+r.host,
		"REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY="+filepath.Join(dir, "storage"),
		// No tracing exporter to dial.
		"OTEL_TRACES_EXPORTER=none",
	)
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := r.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		r.cmd.Wait()
		close(r.exited)
	}()
	if err := r.waitReady(30 * time.Second); err != nil {
		r.stop()
		out, _ := os.ReadFile(r.log)
		return nil, fmt.Errorf("%w\n%s", err, out)
	}
	t.Cleanup(func() {
		if err := r.stop(); err != nil {
			t.Error(err)
		}
		if t.Failed() {
			out, _ := os.ReadFile(r.log)
			t.Logf("registry log:\n%s", out)
		}
	})
	return r, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls the registry's API root until it answers.
func (r *registry) waitReady(timeout time.Duration) error {
	c := http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-r.exited:
			return fmt.Errorf("registry exited during startup: %v", r.cmd.ProcessState)
		default:
		}
		if resp, err := c.Get("http://" + r.host + "/v2/"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("registry did not answer on %s within %v", r.host, timeout)
}

// stop ends the registry: SIGTERM, then SIGKILL if it lingers.
func (r *registry) stop() error {
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
		return nil
	case <-time.After(10 * time.Second):
		r.cmd.Process.Kill()
		<-r.exited
		return errors.New("registry ignored SIGTERM for 10s")
	}
}

// ref names an image of this registry.
func (r *registry) ref(name string) string { return r.host + "/" + strings.TrimPrefix(name, "/") }

// goTools are the repository's commands that tests run, each built once
// per run into the daemon's directory.
var goTools struct {
	mu    sync.Mutex // guards built
	built map[string]*goTool
}

type goTool struct {
	once sync.Once
	path string
	err  error
}

// buildGoTool builds the command in pkg (./hack/NAME) once per run and
// returns its path.
func buildGoTool(t *testing.T, pkg string) string {
	t.Helper()
	goTools.mu.Lock()
	if goTools.built == nil {
		goTools.built = map[string]*goTool{}
	}
	tool, ok := goTools.built[pkg]
	if !ok {
		tool = &goTool{path: filepath.Join(suite.daemon.Dir, filepath.Base(pkg))}
		goTools.built[pkg] = tool
	}
	goTools.mu.Unlock()
	tool.once.Do(func() {
		cmd := exec.Command("go", "build", "-o", tool.path, pkg)
		cmd.Dir = suite.repo
		if out, err := cmd.CombinedOutput(); err != nil {
			tool.err = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
	})
	if tool.err != nil {
		t.Fatal(tool.err)
	}
	return tool.path
}

// wasmImage runs the image builder (hack/wasm-image) with args.
// importWasmImage builds archive with wasm-image, named ref and made of
// args, and imports it into the suite's containerd.
func importWasmImage(t *testing.T, archive, ref string, args ...string) {
	t.Helper()
	wasmImage(t, append([]string{"-o", archive, "-ref", ref}, args...)...)
	if _, errOut, exit := runCtr(t, "images", "import", "--platform", wasmPlatform, archive); exit != 0 {
		t.Fatalf("ctr images import %s: %s", archive, errOut)
	}
}

func wasmImage(t *testing.T, args ...string) {
	t.Helper()
	path := buildGoTool(t, "./hack/wasm-image")
	out, err := exec.Command(path, args...).CombinedOutput()
	t.Logf("wasm-image %s: %s", strings.Join(args, " "), out)
	if err != nil {
		t.Fatalf("wasm-image: %v", err)
	}
}
