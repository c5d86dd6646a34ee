package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The example programs each runtime runs, built from the same Go source
// as a WASI module and as a static linux binary.
var programs = []string{"hello", "idle", "kernel"}

const (
	wasmImage   = "localhost/bench/wasm:latest"
	nativeImage = "localhost/bench/native:latest"
)

// assets are the built files the benchmark needs, under bin/bench.
type assets struct {
	repo, out string
}

func (a assets) wasmModule(name string) string { return filepath.Join(a.out, "wasm", name+".wasm") }
func (a assets) native(name string) string     { return filepath.Join(a.out, "native", name) }
func (a assets) image(kind string) string      { return filepath.Join(a.out, "images", kind+".tar") }
func (a assets) toolDir() string               { return filepath.Join(a.out, "tools") }

// build compiles the programs both ways, the runc shim of the pinned
// containerd (from the module this repo already requires), and the two
// images: wasi/wasm with /NAME.wasm, linux/amd64 with /NAME.
func (a assets) build() error {
	for _, name := range programs {
		pkg := "./examples/" + name
		if err := a.goBuild([]string{"GOOS=wasip1", "GOARCH=wasm"}, a.wasmModule(name), pkg); err != nil {
			return err
		}
		if err := a.goBuild([]string{"CGO_ENABLED=0", "GOOS=linux"}, a.native(name), pkg); err != nil {
			return err
		}
	}
	tools := []struct{ out, pkg string }{
		{filepath.Join(a.toolDir(), "containerd-shim-runc-v2"), "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2"},
		{filepath.Join(a.toolDir(), "wasm-image"), "./hack/wasm-image"},
	}
	// The networking workloads: the Go HTTP server of examples/net/go both
	// ways (natively it serves the listener fdlisten opens for it), and the
	// WASI-call-heavy program as a module.
	net := []struct {
		env      []string
		out, pkg string
	}{
		{[]string{"GOOS=wasip1", "GOARCH=wasm"}, a.wasmModule("go-server"), "./examples/net/go"},
		{[]string{"CGO_ENABLED=0", "GOOS=linux"}, a.native("go-server"), "./examples/net/go"},
		{[]string{"CGO_ENABLED=0", "GOOS=linux"}, a.native("fdlisten"), "./hack/bench/fdlisten"},
		{[]string{"GOOS=wasip1", "GOARCH=wasm"}, a.wasmModule("wasicalls"), "./hack/bench/wasicalls"},
	}
	for _, b := range net {
		if err := a.goBuild(b.env, b.out, b.pkg); err != nil {
			return err
		}
	}
	for _, t := range tools {
		if err := a.goBuild([]string{"CGO_ENABLED=0"}, t.out, t.pkg, "-tags", "no_btrfs"); err != nil {
			return err
		}
	}
	// The same idle loop without Go's runtime and heap in the module.
	wat := filepath.Join(a.repo, "examples", "idle", "idle.wat")
	if b, err := exec.Command("wat2wasm", wat, "-o", a.wasmModule("idle-wat")).CombinedOutput(); err != nil {
		return fmt.Errorf("wat2wasm %s (apt-get install wabt): %v\n%s", wat, err, b)
	}
	wasmFiles := []string{a.wasmModule("idle-wat"), a.wasmModule("go-server"), a.wasmModule("wasicalls")}
	nativeFiles := []string{a.native("go-server"), a.native("fdlisten")}
	for _, name := range programs {
		wasmFiles = append(wasmFiles, a.wasmModule(name))
		nativeFiles = append(nativeFiles, a.native(name))
	}
	// The wasi:http components, when make http-examples has built them
	// (run checks for them when a test needs them).
	for _, name := range wasiHTTPComponents {
		if p := a.httpComponent(name); exists(p) {
			wasmFiles = append(wasmFiles, p)
		}
	}
	if err := a.wasmImage(a.image("wasm"), wasmImage, "wasi/wasm", "/hello.wasm", wasmFiles); err != nil {
		return err
	}
	return a.wasmImage(a.image("native"), nativeImage, "linux/amd64", "/hello", nativeFiles)
}

func (a assets) goBuild(env []string, out, pkg string, extra ...string) error {
	args := append([]string{"build", "-o", out}, extra...)
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Dir = a.repo
	cmd.Env = append(os.Environ(), env...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s (%s): %v\n%s", pkg, strings.Join(env, " "), err, b)
	}
	return nil
}

func (a assets) wasmImage(out, ref, platform, entrypoint string, files []string) error {
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	args := append([]string{"-o", out, "-ref", ref, "-platform", platform, "-entrypoint", entrypoint}, files...)
	if b, err := exec.Command(filepath.Join(a.toolDir(), "wasm-image"), args...).CombinedOutput(); err != nil {
		return fmt.Errorf("wasm-image %s: %v\n%s", ref, err, b)
	}
	return nil
}
