package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/containerd/errdefs"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/taskchild"
)

// TestPrepareErrorClasses: what a bad module makes Prepare return carries
// the class containerd reports, never Unknown.
func TestPrepareErrorClasses(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name   string
		module string
		class  func(error) bool
	}{
		{"missing file", filepath.Join(dir, "absent.wasm"), errdefs.IsNotFound},
		{"not wasm", write("text.wasm", []byte("hello, world\n")), errdefs.IsInvalidArgument},
		{"no _start", write("empty.wasm", []byte("\x00asm\x01\x00\x00\x00")), errdefs.IsNotFound},
		{"does not compile", write("broken.wasm", []byte("\x00asm\x01\x00\x00\x00\x01\xff")), errdefs.IsInvalidArgument},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := wasmEngine{}.Prepare(taskchild.Spec{ModulePath: tc.module, Args: []string{tc.module}})
			if err == nil || !tc.class(err) {
				t.Fatalf("Prepare error %v, class %v", err, errdefs.Resolve(err))
			}
		})
	}
}
