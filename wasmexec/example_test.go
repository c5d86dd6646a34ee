package wasmexec_test

import (
	"bytes"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/wasmexec"
)

// greet writes "hello from wasm" into greeting.txt of the first
// directory it was given (fd 3, the first preopen). Prepare reads the
// text format from a .wat file as it reads a .wasm binary.
const greet = `(module
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write"
    (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "greeting.txt")
  (data (i32.const 16) "hello from wasm\n")
  (func $check (param $errno i32)
    (if (local.get $errno) (then (call $exit (local.get $errno)))))
  (func (export "_start")
    ;; open greeting.txt (creat|trunc, the fd_write right) into the fd at 32
    (call $check (call $path_open (i32.const 3) (i32.const 0) (i32.const 0) (i32.const 12)
      (i32.const 9) (i64.const 64) (i64.const 0) (i32.const 0) (i32.const 32)))
    ;; write one iovec, at 40: the 16 bytes at 16
    (i32.store (i32.const 40) (i32.const 16))
    (i32.store (i32.const 44) (i32.const 16))
    (call $check (call $fd_write (i32.load (i32.const 32)) (i32.const 40) (i32.const 1) (i32.const 48)))))`

// writeModule writes a module's text to a fresh directory.
func writeModule(name, wat string) string {
	dir, err := os.MkdirTemp("", "wasmexec-example-")
	if err != nil {
		log.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(wat), 0o644); err != nil {
		log.Fatal(err)
	}
	return path
}

// A module sees the directories that Config.Preopens gives it, and
// nothing else of the host.
func ExamplePrepare() {
	module := writeModule("greet.wat", greet)
	defer os.RemoveAll(filepath.Dir(module))
	shared := filepath.Join(filepath.Dir(module), "shared")
	if err := os.Mkdir(shared, 0o755); err != nil {
		log.Fatal(err)
	}

	prog, err := wasmexec.Prepare(wasmexec.Config{
		ModulePath: module,
		Args:       []string{"greet.wat"},
		Preopens:   []wasmexec.Preopen{{HostPath: shared, GuestPath: "/"}},
	})
	if err != nil {
		log.Fatal(err) // not wasm, no entrypoint, an unknown import...
	}
	status := prog.Run(os.Stderr)

	greeting, err := os.ReadFile(filepath.Join(shared, "greeting.txt"))
	fmt.Printf("status %d, greeting.txt: %q %v\n", status, greeting, err)
	// Output:
	// status 0, greeting.txt: "hello from wasm\n" <nil>
}

// Run maps every way a module ends to the status of a native process:
// proc_exit(n) is n, a trap is TrapExitStatus with its cause on stderr.
func ExampleProgram_Run() {
	for _, wat := range []string{
		`(module (func (export "_start")))`,
		`(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
		   (func (export "_start") (call $exit (i32.const 3))))`,
		`(module (func (export "_start") unreachable))`,
	} {
		module := writeModule("m.wat", wat)
		prog, err := wasmexec.Prepare(wasmexec.Config{ModulePath: module})
		if err != nil {
			log.Fatal(err)
		}
		var stderr bytes.Buffer
		status := prog.Run(&stderr)
		cause, _, _ := bytes.Cut(stderr.Bytes(), []byte("\n"))
		fmt.Printf("%d %q\n", status, cause)
		os.RemoveAll(filepath.Dir(module))
	}
	// Output:
	// 0 ""
	// 3 ""
	// 70 "wasm trap: wasm `unreachable` instruction executed"
}

// With Config.CacheDir, the first Prepare of a module compiles it into the
// cache and later ones, in any process, load the compiled code.
func ExampleConfig_cacheDir() {
	module := writeModule("m.wat", `(module (func (export "_start")))`)
	defer os.RemoveAll(filepath.Dir(module))
	cfg := wasmexec.Config{ModulePath: module, CacheDir: filepath.Join(filepath.Dir(module), "cache")}
	for range 2 {
		prog, err := wasmexec.Prepare(cfg)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("cache", prog.Stats().Cache)
		prog.Close()
	}
	// Output:
	// cache miss
	// cache hit
}
