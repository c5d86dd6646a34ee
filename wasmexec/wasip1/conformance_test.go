package wasip1

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// testsuiteDir holds the prebuilt WebAssembly/wasi-testsuite tests; see
// its README.
const testsuiteDir = "../../../shared/wasi-testsuite/tests"

// expectedFailures are the tests our host does not pass, and why, by
// "lang/name". None today: all 72 pass. (Through the shim with wasmtime's
// own host, 68 pass: c/sock_shutdown-invalid_fd gets another errno there,
// and the three AssemblyScript environ tests see containerd's PATH; in
// process the environment is the test's own.) A test listed here that
// passes fails, so the list cannot go stale.
var expectedFailures = map[string]string{}

// suiteCase is a test's JSON expectation; missing keys take the suite's
// defaults.
type suiteCase struct {
	Args     []string          `json:"args"`
	Env      map[string]string `json:"env"`
	Root     string            `json:"root"`
	ExitCode uint32            `json:"exit_code"`
	Stdout   *string           `json:"stdout"`
}

// TestConformance runs every wasm32-wasip1 test of the WASI test suite
// through the host, in process, and compares exit code and stdout.
func TestConformance(t *testing.T) {
	modules, _ := filepath.Glob(filepath.Join(testsuiteDir, "*", "testsuite", "wasm32-wasip1", "*.wasm"))
	if len(modules) == 0 {
		t.Skipf("no WASI test suite at %s (see /work/shared/wasi-testsuite/README.md)", testsuiteDir)
	}
	for _, m := range modules {
		lang := filepath.Base(filepath.Dir(filepath.Dir(filepath.Dir(m))))
		name := lang + "/" + strings.TrimSuffix(filepath.Base(m), ".wasm")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			err := runSuiteCase(t, m)
			reason, expected := expectedFailures[name]
			switch {
			case err != nil && !expected:
				t.Fatal(err)
			case err != nil:
				t.Skipf("expected failure (%s): %v", reason, err)
			case expected:
				t.Fatalf("passes but is listed as an expected failure (%s)", reason)
			}
		})
	}
}

func runSuiteCase(t *testing.T, module string) error {
	wasm, err := os.ReadFile(module)
	if err != nil {
		t.Fatal(err)
	}
	var tc suiteCase
	if b, err := os.ReadFile(strings.TrimSuffix(module, ".wasm") + ".json"); err == nil {
		if err := json.Unmarshal(b, &tc); err != nil {
			t.Fatalf("%s: %v", module, err)
		}
	}
	cfg := Config{Args: append([]string{filepath.Base(module)}, tc.Args...)}
	for k, v := range tc.Env {
		cfg.Env = append(cfg.Env, k+"="+v)
	}
	sort.Strings(cfg.Env)
	if tc.Root != "" {
		root := filepath.Join(t.TempDir(), "root")
		copyTree(t, filepath.Join(filepath.Dir(module), tc.Root), root)
		cfg.Dirs = []Dir{{HostPath: root, GuestPath: "/"}}
	}
	out := runModule(t, wasm, cfg)
	if out.err != nil {
		msg := out.err.Error()
		if _, cause, ok := strings.Cut(msg, "Caused by:"); ok {
			msg, _, _ = strings.Cut(strings.TrimSpace(cause), "\n")
		}
		return &suiteError{"run: " + msg, out.stderr}
	}
	if out.status != tc.ExitCode {
		return &suiteError{"exit code " + itoa(out.status) + ", want " + itoa(tc.ExitCode), out.stderr}
	}
	if tc.Stdout != nil && out.stdout != *tc.Stdout {
		return &suiteError{"stdout " + quote(out.stdout) + ", want " + quote(*tc.Stdout), out.stderr}
	}
	return nil
}

type suiteError struct{ msg, stderr string }

func (e *suiteError) Error() string { return e.msg + "; stderr: " + e.stderr }

func itoa(n uint32) string  { b, _ := json.Marshal(n); return string(b) }
func quote(s string) string { b, _ := json.Marshal(s); return string(b) }

// copyTree copies a test's root directory, which the suite ships read
// only, into a writable one.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
}
