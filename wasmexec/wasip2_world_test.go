package wasmexec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/wasmexec/internal/capilayout"
)

func TestP2CDeclarationsMatchHeaders(t *testing.T) {
	capilayout.Check(t, p2DeclaredLayout())
}

func TestP2SplitName(t *testing.T) {
	for _, tc := range []struct {
		name, base string
		patch      int
		bad        string
	}{
		{name: "wasi:io/streams@0.2.0", base: "wasi:io/streams", patch: 0},
		{name: "wasi:io/streams@0.2.12", base: "wasi:io/streams", patch: 12},
		{name: "wasi:io/streams@0.2.13", bad: "newer than 0.2.12"},
		{name: "wasi:io/streams@0.3.0", bad: "not 0.2.x"},
		{name: "wasi:io/streams@0.2.0-rc-2023-11-10", bad: "not a 0.2.x release"},
		{name: "wasi:io/streams@0.2.+1", bad: "not a 0.2.x release"},
		{name: "wasi:io/streams@0.2.01", bad: "not a 0.2.x release"},
		{name: "wasi:io/streams@0.2.", bad: "not a 0.2.x release"},
		{name: "wasi:io/streams", bad: "no version"},
	} {
		base, patch, err := splitP2Name(tc.name)
		if tc.bad != "" {
			if err == nil || !strings.Contains(err.Error(), tc.bad) {
				t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.bad)
			}
			continue
		}
		if err != nil || base != tc.base || patch != tc.patch {
			t.Errorf("%s: %q %d %v, want %q %d", tc.name, base, patch, err, tc.base, tc.patch)
		}
	}
}

// compileComponent compiles wasm (or WAT text) with a fresh engine; both
// are freed when the test ends.
func compileComponent(t testing.TB, wasm []byte) (*componentCompiler, *componentArtifact) {
	t.Helper()
	cc := newComponentCompiler(defaultSettings)
	a, err := cc.compile(wasm)
	if err != nil {
		cc.close()
		t.Fatal(err)
	}
	comp := a.(*componentArtifact)
	t.Cleanup(func() {
		comp.close()
		cc.close()
	})
	return cc, comp
}

// exampleHTTPItems reads an example's .imports.txt (hack/component-
// imports.awk): for each wasi:http interface, the resources and
// functions its import type lists.
func exampleHTTPItems(t *testing.T, path string) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("%s: %v (make http-examples builds it)", path, err)
	}
	items := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		name, list, _ := strings.Cut(line, ": ")
		if strings.HasPrefix(name, "wasi:http/") {
			items[name] = strings.Split(list, ", ")
		}
	}
	return items
}

// TestP2ExampleComponentsTypeCheck builds a linker for each wasi:http
// example with defineImports and instantiates the component, with no
// import stubbed by wasmtime: every item of every wasi:io, cli, clocks,
// random and filesystem import must be defined by this host, with the
// resource types the component expects. Until wasi:http is registered,
// its interfaces are defined here with the items the example lists, as
// functions that trap.
func TestP2ExampleComponentsTypeCheck(t *testing.T) {
	// http-js-fetch-event imports what http-js-incoming-handler does
	// (docs/wasi-http-examples.md); compiling it too would only cost time.
	for _, ex := range []string{"http-c", "http-js-incoming-handler"} {
		t.Run(ex, func(t *testing.T) {
			path := filepath.Join("..", "bin", "examples", "http", ex+".wasm")
			wasm, err := os.ReadFile(path)
			if err != nil {
				t.Skipf("%s: %v (make http-examples builds it)", path, err)
			}
			httpItems := exampleHTTPItems(t, strings.TrimSuffix(path, ".wasm")+".imports.txt")
			cc, comp := compileComponent(t, wasm)
			imports, err := componentImports(comp)
			if err != nil {
				t.Fatal(err)
			}
			l := newHostLinker(cc)
			defer l.close()
			w := newP2World(l)
			var p2 []string
			for _, name := range imports {
				base, _, _ := strings.Cut(name, "@")
				if _, registered := p2Registry[base]; !registered && strings.HasPrefix(base, "wasi:http/") {
					defineTrapping(t, l, name, httpItems[name])
					continue
				}
				p2 = append(p2, name)
			}
			if err := w.defineImports(p2); err != nil {
				t.Fatal(err)
			}
			if err := l.build(); err != nil {
				t.Fatal(err)
			}
			h, err := l.instantiate(comp, &p2Context{}, 0)
			if err != nil {
				t.Fatalf("instantiate with %v: %v", imports, err)
			}
			h.close()
		})
	}
}

// defineTrapping defines the interface name with items (as
// component-imports.awk lists them) as resources and functions that
// trap.
func defineTrapping(t *testing.T, l *hostLinker, name string, items []string) {
	t.Helper()
	if len(items) == 0 {
		t.Fatalf("no items listed for %s", name)
	}
	for _, item := range items {
		if res, ok := strings.CutPrefix(item, "resource "); ok {
			l.defineResource(name, res, nil)
			continue
		}
		fn := item
		l.defineFunc(name, fn, func(h *hostInstance, p, r []cval) error {
			t.Errorf("the test's stand-in for %s#%s was called", name, fn)
			return os.ErrInvalid
		})
	}
}
