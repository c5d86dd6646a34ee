package wasmexec

import "errors"

var (
	// ErrNotWasm means the file is not a WebAssembly binary.
	ErrNotWasm = errors.New("not a WebAssembly module")
	// ErrNoEntrypoint means the module does not export the function to run.
	ErrNoEntrypoint = errors.New("entrypoint not exported")
)
