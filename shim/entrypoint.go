package shim

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/containerd/errdefs"
	securejoin "github.com/cyphar/filepath-securejoin"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/entrypoint"
	"github.com/containerd-shim-wasm/containerd-shim-wasm/wasmexec/wasmbin"
)

// entrypointKind says who runs a process: wasmtime in a task child, or
// runc as a native Linux container.
type entrypointKind int

const (
	entrypointWasm entrypointKind = iota
	entrypointNative
)

var elfMagic = []byte("\x7fELF")

// defaultPath is where a bare args[0] is looked up when the process's env
// sets no PATH, as runc does.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// classifyEntrypoint reads the start of the file that args[0] names in the
// rootfs: wasm magic or a .wat name goes to wasmtime, an ELF binary or a #!
// script to runc. A file that is found and is neither is refused with what
// it is. What is not found in the rootfs (an empty args, a module in a bind
// mount, a wasm-layer image with an empty rootfs) is left to the wasm path,
// which resolves modules and explains what is missing.
func classifyEntrypoint(proc *specs.Process, rootfs string) (entrypointKind, error) {
	if proc == nil {
		return entrypointWasm, nil
	}
	ref, ok := entrypoint.Parse(proc.Args, proc.Cwd)
	if !ok || strings.HasSuffix(ref.Name, ".wat") {
		return entrypointWasm, nil
	}
	host, ok := findEntrypoint(ref, proc.Env, rootfs)
	if !ok {
		return entrypointWasm, nil
	}
	head, err := readHead(host)
	if err != nil {
		return entrypointWasm, nil
	}
	switch {
	case wasmbin.HasMagic(head):
		return entrypointWasm, nil
	case bytes.HasPrefix(head, elfMagic), bytes.HasPrefix(head, []byte("#!")):
		return entrypointNative, nil
	case len(head) == 0:
		return 0, fmt.Errorf("entrypoint %s is an empty file, not a wasm module, an ELF binary or a #! script: %w", ref.Name, errdefs.ErrInvalidArgument)
	case utf8.Valid(head) && !bytes.ContainsRune(head, 0):
		return 0, fmt.Errorf("entrypoint %s is a text file without #!, not a wasm module, an ELF binary or a #! script: %w", ref.Name, errdefs.ErrInvalidArgument)
	default:
		return 0, fmt.Errorf("entrypoint %s is not a wasm module, an ELF binary or a #! script (it starts with % x): %w", ref.Name, head[:min(len(head), 4)], errdefs.ErrInvalidArgument)
	}
}

// findEntrypoint resolves args[0] inside the rootfs, never leaving it: a
// path is taken relative to process.cwd, a bare name is tried there and
// then on the process's PATH, as an exec would.
func findEntrypoint(ref entrypoint.Ref, env []string, rootfs string) (string, bool) {
	candidates := []string{ref.Path}
	if ref.Bare() {
		for _, dir := range strings.Split(envPath(env), ":") {
			if dir != "" {
				candidates = append(candidates, path.Join("/", dir, ref.Name))
			}
		}
	}
	for _, guest := range candidates {
		host, err := securejoin.SecureJoin(rootfs, guest)
		if err != nil {
			continue
		}
		if fi, err := os.Stat(host); err == nil && fi.Mode().IsRegular() {
			return host, true
		}
	}
	return "", false
}

func envPath(env []string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			return v
		}
	}
	return defaultPath
}

// readHead reads the first bytes of a file: enough for the magic numbers
// and to tell text from binary.
func readHead(file string) ([]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	buf := make([]byte, 512)
	n, err := io.ReadFull(f, buf)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, err
	}
	return buf[:n], nil
}
