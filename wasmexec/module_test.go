package wasmexec

import (
	"bytes"
	"strings"
	"testing"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// TestModuleWASIHostIsOneStep: the WASI preview 1 host of a module is the
// linkWASI step alone. A host of the test's own takes wasmtime's place
// (a module that imports what only wasmtime's host defines is then
// refused), and proc_exit still ends the module as with wasmtime's host.
func TestModuleWASIHostIsOneStep(t *testing.T) {
	// args_sizes_get's errno becomes the exit status.
	argc := writeWat(t, `(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $sizes (param i32 i32) (result i32)))
  `+procExit+`
  (func (export "_start") (call $exit (call $sizes (i32.const 0) (i32.const 4)))))`)
	usesFdWrite := writeWat(t, `(module
  (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
  (func (export "_start")))`)
	var linked Config
	host := func(l *wasmtime.Linker, _ *wasmtime.Store, cfg Config) error {
		linked = cfg
		return l.FuncWrap("wasi_snapshot_preview1", "args_sizes_get", func(int32, int32) int32 { return int32(len(cfg.Args)) })
	}
	prepare := func(path string) (*moduleProgram, error) {
		wasm, _, err := readModule(path)
		if err != nil {
			t.Fatal(err)
		}
		m := newModuleProgram(wasiLinker(host))
		if err := m.prepare(Config{ModulePath: path, Args: []string{"a", "b", "c"}}, wasm); err != nil {
			m.Close()
			return nil, err
		}
		return m, nil
	}

	m, err := prepare(argc)
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if got := m.Run(&stderr); got != 3 {
		t.Fatalf("status %d, want 3 (argc from the test's host); stderr %q", got, stderr.String())
	}
	if len(linked.Args) != 3 {
		t.Fatalf("the host was given %+v, not the Config", linked)
	}
	if _, err := prepare(usesFdWrite); err == nil || !strings.Contains(err.Error(), "fd_write") {
		t.Fatalf("a module importing fd_write under a host without it: %v, want an unknown import", err)
	}
}

// TestWASIConfigIsOneForModulesAndComponents: modules and components get
// their WASI configuration from one builder, so they refuse what it
// refuses in the same words.
func TestWASIConfigIsOneForModulesAndComponents(t *testing.T) {
	binaries := map[string]string{
		"module":    writeWat(t, `(module (func (export "_start")))`),
		"component": writeWat(t, componentWat(`i32.const 0`)),
	}
	bad := map[string]Config{
		"argv not UTF-8":  {Args: []string{"m.wasm", "\xff"}},
		"env not UTF-8":   {Env: []string{"A=\xff"}},
		"missing preopen": {Preopens: []Preopen{{HostPath: "/does/not/exist", GuestPath: "/"}}},
	}
	for kind, path := range binaries {
		for name, cfg := range bad {
			t.Run(kind+"/"+name, func(t *testing.T) {
				cfg.ModulePath = path
				// The builder is wasmtime's; the Go host has its own.
				cfg.WASI = WASIWasmtime
				_, err := Prepare(cfg)
				if err == nil || !strings.Contains(err.Error(), "configure WASI") && !strings.Contains(err.Error(), "preopen /does/not/exist") {
					t.Fatalf("Prepare: %v, want WASI's configuration refused", err)
				}
			})
		}
	}
}
