package wasmexec

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

// componentWat is a wasi:cli/run command component whose run does body (a
// core function body with the type (result i32): 0 returns ok, 1 err); the
// core module may call $exit, wasi:cli/exit's exit lowered (0 ok, 1 err).
func componentWat(body string) string {
	return `(component
  (import "wasi:cli/exit@0.2.0" (instance $exit (export "exit" (func (param "status" (result))))))
  (core func $exit (canon lower (func $exit "exit")))
  (core module $m
    (import "host" "exit" (func $exit (param i32)))
    (memory 1)
    (func (export "run") (result i32) ` + body + `))
  (core instance $host (export "exit" (func $exit)))
  (core instance $i (instantiate $m (with "host" (instance $host))))
  (func $run (result (result)) (canon lift (core func $i "run")))
  (instance $cli (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $cli)))`
}

func TestComponentExitStatus(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		want       int
		wantStderr string
	}{
		{name: "run returns ok", body: `i32.const 0`, want: 0},
		{name: "run returns err", body: `i32.const 1`, want: 1},
		{name: "exit ok", body: `(call $exit (i32.const 0)) unreachable`, want: 0},
		{name: "exit err", body: `(call $exit (i32.const 1)) unreachable`, want: 1},
		{name: "unreachable traps", body: `unreachable`, want: TrapExitStatus, wantStderr: "wasm trap: wasm `unreachable` instruction executed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkRun(t, Config{ModulePath: writeWat(t, componentWat(tc.body)), Args: []string{"c.wasm"}}, tc.want, tc.wantStderr)
		})
	}
}

// touchMemory writes to the component's linear memory, so that an
// instance that is never freed costs resident pages.
const touchMemory = `(i32.store (i32.const 0) (i32.const 1)) (i32.store (i32.const 65532) (i32.const 1)) i32.const 0`

func TestComponentWithoutRunExport(t *testing.T) {
	wat := `(component
  (core module $m (func (export "f")))
  (core instance $i (instantiate $m))
  (func $f (canon lift (core func $i "f")))
  (export "f" (func $f)))`
	_, err := Prepare(Config{ModulePath: writeWat(t, wat)})
	if !errors.Is(err, ErrNoEntrypoint) || !strings.Contains(err.Error(), "wasi:cli/run") {
		t.Fatalf("err = %v, want ErrNoEntrypoint naming wasi:cli/run", err)
	}
}

func TestComponentRefusesAnEntrypoint(t *testing.T) {
	_, err := Prepare(Config{ModulePath: writeWat(t, componentWat(`i32.const 0`)), Entrypoint: "main"})
	if !errors.Is(err, ErrNoEntrypoint) {
		t.Fatalf("err = %v, want ErrNoEntrypoint", err)
	}
}

func TestComponentUnknownImportIsRefused(t *testing.T) {
	wat := `(component
  (import "example:nope/thing" (instance $x (export "f" (func))))
  (core module $m (func (export "run") (result i32) i32.const 0))
  (core instance $i (instantiate $m))
  (func $run (result (result)) (canon lift (core func $i "run")))
  (instance $cli (export "run" (func $run)))
  (export "wasi:cli/run@0.2.0" (instance $cli)))`
	_, err := Prepare(Config{ModulePath: writeWat(t, wat)})
	if err == nil || !strings.Contains(err.Error(), "example:nope/thing") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v, want a one-line error naming the import", err)
	}
}

func TestComponentCacheMissThenHit(t *testing.T) {
	dir := openTestCache(t, 0).Dir()
	component := writeWat(t, componentWat(`i32.const 0`))
	module := exitModule(t, 0)
	wantOutcome(t, prepareAndRun(t, dir, component, 0), CacheMiss)
	hit := prepareAndRun(t, dir, component, 0)
	wantOutcome(t, hit, CacheHit)
	// A module is keyed apart from a component: its first run is a miss.
	st := prepareAndRun(t, dir, module, 0)
	wantOutcome(t, st, CacheMiss)
	if st.Key == hit.Key {
		t.Fatalf("module and component share the key %s", st.Key)
	}
	c := openTestCache(t, 0)
	c.dir = dir
	if entries, _ := c.List(); len(entries) != 2 {
		t.Fatalf("cache holds %d entries, want 2", len(entries))
	}
}

func TestComponentKeyIsNotTheModuleKey(t *testing.T) {
	wasm := []byte("\x00asm\x0d\x00\x01\x00")
	if key(&compiler{settings: defaultSettings}, wasm) == key(&componentCompiler{settings: defaultSettings}, wasm) {
		t.Fatal("a module and a component of the same bytes share a cache key")
	}
}

// rssBytes is the process's resident set size, from /proc/self/statm,
// after Go has returned what it could to the OS.
func rssBytes(t *testing.T) int64 {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		t.Skipf("no /proc/self/statm: %v", err)
	}
	fields := strings.Fields(string(b))
	pages, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}

// rssCycles and rssBound: an object of the C API that a cycle leaks costs
// far more than rssBound/rssCycles (an engine hundreds of KiB, a store the
// 128 KiB of linear memory the programs touch, a compiled component or
// module tens of KiB), while allocator noise stays well under the bound.
const (
	rssWarmup = 200
	rssCycles = 1000
	rssBound  = 32 << 20
)

// checkRSSFlat runs cycle rssWarmup times, then rssCycles times, and fails
// t if the resident set grew by more than rssBound over the second run.
func checkRSSFlat(t *testing.T, cycle func(*testing.T)) {
	t.Helper()
	for i := 0; i < rssWarmup; i++ {
		cycle(t)
	}
	before := rssBytes(t)
	for i := 0; i < rssCycles; i++ {
		cycle(t)
	}
	after := rssBytes(t)
	t.Logf("RSS %d KiB after the warm-up, %d KiB after %d cycles", before>>10, after>>10, rssCycles)
	if after-before > rssBound {
		t.Fatalf("RSS grew by %d KiB over %d cycles (bound %d KiB): something is not freed", (after-before)>>10, rssCycles, rssBound>>10)
	}
}

// TestNoLeakPerPrepareAndRun: 1,000 cycles through each way into the
// engine leave the resident set where the warm-up left it, so every
// object that wasmexec creates in wasmtime is freed: Prepare and Run of a
// component and of a module (compiled each time, and loaded from the
// cache), a component that traps, one refused at Prepare, one prepared
// and closed without running, Cache.Warm of a component, and a module
// refused at Prepare.
func TestNoLeakPerPrepareAndRun(t *testing.T) {
	if testing.Short() {
		t.Skip("1,000 cycles")
	}
	component := writeWat(t, componentWat(touchMemory))
	trapping := writeWat(t, componentWat(touchMemory+` drop unreachable`))
	noRun := writeWat(t, `(component (core module $m (memory 1)) (core instance $i (instantiate $m)))`)
	module := writeWat(t, `(module (memory (export "memory") 2)
  (func (export "_start") (i32.store (i32.const 0) (i32.const 1)) (i32.store (i32.const 65536) (i32.const 1))))`)
	badImport := writeWat(t, `(module (import "wasi_snapshot_preview1" "nope" (func)) (memory 1) (func (export "_start")))`)
	cacheDir := filepath.Join(t.TempDir(), "cache")
	cfg := func(path, cacheDir string) Config {
		return Config{ModulePath: path, Args: []string{"x"}, Env: []string{"A=b"},
			Preopens: []Preopen{{HostPath: t.TempDir(), GuestPath: "/"}}, CacheDir: cacheDir, MaxMemoryBytes: 1 << 20}
	}
	prepareAndRun := func(path, cacheDir string, want int) func(t *testing.T) {
		return func(t *testing.T) {
			prog, err := Prepare(cfg(path, cacheDir))
			if err != nil {
				t.Fatal(err)
			}
			if status := prog.Run(io.Discard); status != want {
				t.Fatalf("status %d, want %d", status, want)
			}
		}
	}
	cache, err := OpenCache(filepath.Join(t.TempDir(), "warm"), 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		cycle func(t *testing.T)
	}{
		{"component compiled", prepareAndRun(component, "", 0)},
		{"component from the cache", prepareAndRun(component, cacheDir, 0)},
		{"component that traps", prepareAndRun(trapping, cacheDir, TrapExitStatus)},
		{"component refused at Prepare", func(t *testing.T) {
			if _, err := Prepare(cfg(noRun, cacheDir)); !errors.Is(err, ErrNoEntrypoint) {
				t.Fatalf("Prepare: %v, want ErrNoEntrypoint", err)
			}
		}},
		{"component closed without running", func(t *testing.T) {
			prog, err := Prepare(cfg(component, cacheDir))
			if err != nil {
				t.Fatal(err)
			}
			prog.Close()
		}},
		{"component warmed into the cache", func(t *testing.T) {
			if _, err := cache.Warm(component); err != nil {
				t.Fatal(err)
			}
		}},
		{"module compiled", prepareAndRun(module, "", 0)},
		{"module from the cache", prepareAndRun(module, cacheDir, 0)},
		{"module refused at Prepare", func(t *testing.T) {
			if _, err := Prepare(cfg(badImport, cacheDir)); err == nil || !strings.Contains(err.Error(), "unknown import") {
				t.Fatalf("Prepare: %v, want an unknown import", err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkRSSFlat(t, tc.cycle)
		})
	}
}

// TestComponentMemoryLimit: the memory limit bounds a component's linear
// memory as it does a module's: memory.grow past it fails.
func TestComponentMemoryLimit(t *testing.T) {
	// run returns err (1) when growing by 100 pages (6.25 MiB) fails.
	grow := `(if (result i32) (i32.eq (memory.grow (i32.const 100)) (i32.const -1)) (then (i32.const 1)) (else (i32.const 0)))`
	path := writeWat(t, componentWat(grow))
	for _, tc := range []struct {
		name  string
		limit int64
		want  int
	}{
		{"no limit", 0, 0},
		{"limit 1 MiB", 1 << 20, 1},
		{"limit 16 MiB", 16 << 20, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prog, err := Prepare(Config{ModulePath: path, MaxMemoryBytes: tc.limit})
			if err != nil {
				t.Fatal(err)
			}
			if got := prog.Run(os.Stderr); got != tc.want {
				t.Fatalf("status %d, want %d", got, tc.want)
			}
		})
	}
}
