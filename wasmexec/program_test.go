package wasmexec

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// checkRun prepares and runs cfg and checks its exit status and that its
// stderr starts with wantStderr (is empty when wantStderr is).
func checkRun(t *testing.T, cfg Config, want int, wantStderr string) {
	t.Helper()
	prog, err := Prepare(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if got := prog.Run(&stderr); got != want {
		t.Fatalf("status = %d, want %d (stderr %q)", got, want, stderr.String())
	}
	if wantStderr == "" && stderr.Len() > 0 || !strings.HasPrefix(stderr.String(), wantStderr) {
		t.Fatalf("stderr = %q, want prefix %q", stderr.String(), wantStderr)
	}
}

// writeWat compiles WAT text to a module file in a temp dir.
func writeWat(t *testing.T, wat string) string {
	t.Helper()
	wasm, err := wasmtime.Wat2Wasm(wat)
	if err != nil {
		t.Fatal(err)
	}
	return writeBytes(t, wasm)
}

func writeBytes(t *testing.T, b []byte) string {
	t.Helper()
	return writeText(t, "m.wasm", string(b))
}

const procExit = `(import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32))) (memory (export "memory") 1)`

func TestRunExitStatus(t *testing.T) {
	tests := []struct {
		name       string
		wat        string
		entry      string
		want       int
		wantStderr string
	}{
		{name: "return from _start", wat: `(module (func (export "_start")))`, want: 0},
		{name: "proc_exit 3", wat: `(module ` + procExit + ` (func (export "_start") (call $exit (i32.const 3))))`, want: 3},
		{name: "proc_exit 125 is the highest status WASI allows", wat: `(module ` + procExit + ` (func (export "_start") (call $exit (i32.const 125))))`, want: 125},
		{name: "proc_exit 200 as a native exit(200)", wat: `(module ` + procExit + ` (func (export "_start") (call $exit (i32.const 200))))`, want: 200},
		{name: "proc_exit 257 keeps the low byte like exit(2)", wat: `(module ` + procExit + ` (func (export "_start") (call $exit (i32.const 257))))`, want: 1},
		{name: "unreachable traps", wat: `(module (func (export "_start") unreachable))`, want: TrapExitStatus, wantStderr: "wasm trap: wasm `unreachable` instruction executed"},
		{name: "stack overflow traps", wat: `(module (func $f (export "_start") (call $f)))`, want: TrapExitStatus, wantStderr: "wasm trap: call stack exhausted"},
		{name: "named entrypoint", wat: `(module ` + procExit + ` (func (export "main") (call $exit (i32.const 9))))`, entry: "main", want: 9},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			checkRun(t, Config{ModulePath: writeWat(t, tc.wat), Args: []string{"m.wasm"}, Entrypoint: tc.entry}, tc.want, tc.wantStderr)
		})
	}
}

func TestStackOverflowTraceIsBounded(t *testing.T) {
	prog, err := Prepare(Config{ModulePath: writeWat(t, `(module (func $f (export "_start") (call $f)))`)})
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	prog.Run(&stderr)
	if lines := strings.Count(stderr.String(), "\n"); lines > maxTraceFrames+4 {
		t.Fatalf("trap report has %d lines:\n%s", lines, stderr.String())
	}
	if !strings.Contains(stderr.String(), "more frames") {
		t.Fatalf("trap report does not say frames were left out:\n%s", stderr.String())
	}
}

func TestPrepareRefusesBadModules(t *testing.T) {
	tests := []struct {
		name    string
		module  func(t *testing.T) string
		wantErr error
		wantMsg string
	}{
		{name: "missing file", module: func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope.wasm") }, wantErr: os.ErrNotExist},
		{name: "not wasm", module: func(t *testing.T) string { return writeBytes(t, []byte("#!/bin/sh\necho hi\n")) }, wantErr: ErrNotWasm},
		{name: "empty file", module: func(t *testing.T) string { return writeBytes(t, nil) }, wantErr: ErrNotWasm},
		{name: "component", module: func(t *testing.T) string { return writeBytes(t, []byte("\x00asm\x0d\x00\x01\x00")) }, wantMsg: "component"},
		{name: "truncated module", module: func(t *testing.T) string { return writeBytes(t, []byte("\x00asm\x01\x00\x00\x00\x01\x05")) }, wantMsg: "compile"},
		{name: "no _start", module: func(t *testing.T) string { return writeWat(t, `(module (func (export "main")))`) }, wantErr: ErrNoEntrypoint},
		{name: "_start is not a function", module: func(t *testing.T) string { return writeWat(t, `(module (memory (export "_start") 1))`) }, wantErr: ErrNoEntrypoint},
		{name: "text format with a syntax error", module: func(t *testing.T) string { return writeText(t, "m.wat", `(module (func (export "_start")`) }, wantMsg: "WebAssembly text format"},
		{name: "text format under a .wasm name", module: func(t *testing.T) string { return writeText(t, "m.wasm", `(module (func (export "_start")))`) }, wantErr: ErrNotWasm},
		{name: "unknown import", module: func(t *testing.T) string {
			return writeWat(t, `(module (import "wasi_snapshot_preview1" "not_a_real_function" (func)) (func (export "_start")))`)
		}, wantMsg: "not_a_real_function"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Prepare(Config{ModulePath: tc.module(t)})
			if err == nil {
				t.Fatal("no error")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("error = %v, want %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Fatalf("error = %v, want it to mention %q", err, tc.wantMsg)
			}
		})
	}
}

// writeText writes a module's text as the file name in a temp dir.
func writeText(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTextFormatModuleRuns(t *testing.T) {
	path := writeText(t, "exit.wat", `(module `+procExit+` (func (export "_start") (call $exit (i32.const 6))))`)
	checkRun(t, Config{ModulePath: path, Args: []string{"exit.wat"}}, 6, "")
}

func TestPreopenOfMissingDirectoryFails(t *testing.T) {
	path := writeWat(t, `(module (func (export "_start")))`)
	_, err := Prepare(Config{ModulePath: path, Preopens: []Preopen{{HostPath: "/does/not/exist", GuestPath: "/"}}})
	if err == nil || !strings.Contains(err.Error(), "preopen /does/not/exist") {
		t.Fatalf("error = %v", err)
	}
}

// growUntilRefused grows memory one page at a time until memory.grow
// fails, then exits 1, the way a runtime gives up when out of memory.
const growUntilRefused = `(module ` + procExit + `
  (func (export "_start")
    (block $refused (loop $grow
      (br_if $refused (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
      (br $grow)))
    (call $exit (i32.const 1))))`

func TestMemoryLimit(t *testing.T) {
	limit := int64(4 << 20)
	prog, err := Prepare(Config{ModulePath: writeWat(t, growUntilRefused), MaxMemoryBytes: limit})
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if got := prog.Run(&stderr); got != 1 {
		t.Fatalf("status = %d, want 1", got)
	}
	if !prog.MemoryLimitReached() {
		t.Fatal("MemoryLimitReached() = false for a module stopped by its limit")
	}
	if !strings.Contains(stderr.String(), "reached its limit of 4 MiB") {
		t.Fatalf("stderr = %q, want the limit named", stderr.String())
	}
}

func TestMemoryLimitNotReachedByAnOrdinaryFailure(t *testing.T) {
	prog, err := Prepare(Config{ModulePath: writeWat(t, `(module (memory (export "memory") 1) (func (export "_start") unreachable))`), MaxMemoryBytes: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	prog.Run(&stderr)
	if prog.MemoryLimitReached() {
		t.Fatal("a trap far below the limit was taken for running out of memory")
	}
}

func TestMemoryLimitBelowTheModulesMinimum(t *testing.T) {
	_, err := Prepare(Config{ModulePath: writeWat(t, `(module (memory 100) (func (export "_start")))`), MaxMemoryBytes: 1 << 20})
	if err == nil {
		t.Fatal("a module needing 6.25 MiB was instantiated under a 1 MiB limit")
	}
}

func TestEngineErrorsAreOneLine(t *testing.T) {
	raw := errors.New("failed to parse WebAssembly module\n\nCaused by:\n    functions count exceeds limit of 1000000 (at offset 0x12)\n\nStack backtrace:\n   0: <unknown>\n   1: <unknown>")
	got := oneLine(raw)
	if want := "failed to parse WebAssembly module: functions count exceeds limit of 1000000 (at offset 0x12)"; got.Error() != want {
		t.Fatalf("oneLine = %q, want %q", got, want)
	}
	if !errors.Is(got, raw) {
		t.Fatal("the engine's error is not kept in the chain")
	}
	if got := oneLine(errors.New("unknown import: `a::b`\n")); got.Error() != "unknown import: `a::b`" {
		t.Fatalf("oneLine = %q", got)
	}
}
