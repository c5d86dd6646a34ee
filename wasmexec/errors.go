package wasmexec

import (
	"errors"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/wasmexec/wasmbin"
)

var (
	// ErrNotWasm means the file is not a WebAssembly binary.
	ErrNotWasm = wasmbin.ErrNotWasm
	// ErrNoEntrypoint means the module does not export the function to run.
	ErrNoEntrypoint = errors.New("entrypoint not exported")
)
