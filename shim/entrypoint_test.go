package shim

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestClassifyEntrypoint(t *testing.T) {
	rootfs := t.TempDir()
	files := map[string]string{
		"mod.wasm":    "\x00asm\x01\x00\x00\x00",
		"bin/elf":     "\x7fELF\x02\x01\x01",
		"script.sh":   "#!/bin/sh\necho hi\n",
		"notes.txt":   "just some text\n",
		"blob":        "\x01\x02\x03\x04\x00\xff",
		"empty":       "",
		"sub/app.wat": "(module)",
	}
	for name, data := range files {
		p := filepath.Join(rootfs, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/bin/elf", filepath.Join(rootfs, "link")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		env     []string
		want    entrypointKind
		wantErr string
	}{
		{name: "wasm", args: []string{"/mod.wasm"}, want: entrypointWasm},
		{name: "wasm-entry", args: []string{"/mod.wasm#run"}, want: entrypointWasm},
		{name: "wat", args: []string{"/sub/app.wat"}, want: entrypointWasm},
		{name: "elf", args: []string{"/bin/elf"}, want: entrypointNative},
		{name: "symlink-in-rootfs", args: []string{"/link"}, want: entrypointNative},
		{name: "script", args: []string{"/script.sh"}, want: entrypointNative},
		{name: "on-path", args: []string{"elf"}, env: []string{"PATH=/nowhere:/bin"}, want: entrypointNative},
		{name: "relative-to-cwd", args: []string{"mod.wasm"}, want: entrypointWasm},
		{name: "missing", args: []string{"/nope"}, want: entrypointWasm},
		{name: "empty-args", args: nil, want: entrypointWasm},
		{name: "text", args: []string{"/notes.txt"}, wantErr: "/notes.txt is a text file without #!"},
		{name: "binary", args: []string{"/blob"}, wantErr: "/blob is not a wasm module, an ELF binary or a #! script (it starts with 01 02 03 04)"},
		{name: "empty-file", args: []string{"/empty"}, wantErr: "/empty is an empty file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := classifyEntrypoint(&specs.Process{Args: tc.args, Env: tc.env, Cwd: "/"}, rootfs)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}
