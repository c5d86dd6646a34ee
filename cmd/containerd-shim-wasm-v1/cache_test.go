package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestCacheCommands(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	module := filepath.Join(t.TempDir(), "empty.wasm")
	if err := os.WriteFile(module, []byte("\x00asm\x01\x00\x00\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(want int, args ...string) string {
		t.Helper()
		var out, errs bytes.Buffer
		if got := cacheMain(append([]string{"-dir", dir}, args...), &out, &errs); got != want {
			t.Fatalf("cache %v: status %d, want %d\n%s%s", args, got, want, out.String(), errs.String())
		}
		return out.String() + errs.String()
	}
	if out := run(0, "warm", module); !strings.Contains(out, ": miss") {
		t.Fatalf("first warm: %s", out)
	}
	if out := run(0, "warm", module); !strings.Contains(out, ": hit") {
		t.Fatalf("second warm: %s", out)
	}
	if out := run(0, "ls"); !strings.Contains(out, "1 entries") {
		t.Fatalf("ls: %s", out)
	}
	run(0, "wipe")
	if out := run(0, "ls"); !strings.Contains(out, "0 entries") {
		t.Fatalf("ls after wipe: %s", out)
	}
	run(1, "warm", filepath.Join(t.TempDir(), "missing.wasm"))
	run(1, "frobnicate")
	run(2)
}
