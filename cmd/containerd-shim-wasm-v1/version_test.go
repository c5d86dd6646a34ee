package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/containerd/api/types"
	"github.com/containerd/containerd/v2/pkg/protobuf/proto"
)

const testVersion = "v0.0.0-versiontest"

// buildShim builds the shim binary as `make build` does, with testVersion
// stamped in, and returns its path.
func buildShim(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the shim binary")
	}
	bin := filepath.Join(t.TempDir(), "containerd-shim-wasm-v1")
	out, err := exec.Command("go", "build", "-ldflags", "-X main.version="+testVersion, "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// wasmtimeVersion is the wasmtime-go version go.mod requires.
func wasmtimeVersion(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "github.com/bytecodealliance/wasmtime-go/v39").Output()
	if err != nil {
		t.Fatalf("go list -m wasmtime-go: %v", err)
	}
	return strings.TrimSpace(string(out))
}

// TestVersionAndInfo: `--version` (and `-v`) names the runtime, the
// stamped version and the wasmtime version; `-info` answers containerd
// 2.x with the same as a RuntimeInfo protobuf.
func TestVersionAndInfo(t *testing.T) {
	bin := buildShim(t)
	wasmtime := wasmtimeVersion(t)
	for _, flag := range []string{"--version", "-v"} {
		t.Run(flag, func(t *testing.T) {
			out, err := exec.Command(bin, flag).Output()
			if err != nil {
				t.Fatalf("%s: %v", flag, err)
			}
			for _, want := range []string{"io.containerd.wasm.v1", "Version:  " + testVersion, "Wasmtime: " + wasmtime} {
				if !strings.Contains(string(out), want) {
					t.Errorf("%s output lacks %q:\n%s", flag, want, out)
				}
			}
		})
	}
	t.Run("-info", func(t *testing.T) {
		out, err := exec.Command(bin, "-info").Output()
		if err != nil {
			t.Fatalf("-info: %v", err)
		}
		var info types.RuntimeInfo
		if err := proto.Unmarshal(out, &info); err != nil {
			t.Fatalf("-info output is not a RuntimeInfo protobuf: %v (%q)", err, out)
		}
		if info.Name != "io.containerd.wasm.v1" || info.GetVersion().GetVersion() != testVersion || info.Annotations["wasmtime.version"] != wasmtime {
			t.Errorf("-info: name %q version %q wasmtime %q, want io.containerd.wasm.v1, %s, %s",
				info.Name, info.GetVersion().GetVersion(), info.Annotations["wasmtime.version"], testVersion, wasmtime)
		}
	})
}
