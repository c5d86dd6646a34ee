// Package wasmbin tells a WebAssembly binary by its first eight bytes: the
// magic number every module and component starts with, then whether it is
// a core module or a component. It is plain Go, without cgo, so that the
// shim (which builds with CGO_ENABLED=0 and never links wasmtime) and
// wasmexec read headers the same way.
package wasmbin

import (
	"bytes"
	"errors"
	"fmt"
)

// Magic is "\0asm", the first four bytes of every WebAssembly binary,
// core module or component.
const Magic = "\x00asm"

// HeaderSize is how many bytes KindOf needs.
const HeaderSize = 8

// ErrNotWasm means the bytes do not start with Magic.
var ErrNotWasm = errors.New("not a WebAssembly module")

// Kind is what a WebAssembly binary holds.
type Kind int

const (
	// Module is a core module: WASI preview 1, an exported _start.
	Module Kind = iota + 1
	// Component is a component: WASI 0.2, an exported wasi:cli/run.
	Component
)

func (k Kind) String() string {
	switch k {
	case Module:
		return "core module"
	case Component:
		return "component"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

var (
	// A core module's 32-bit version, 1, follows the magic.
	moduleVersion = []byte{0x01, 0x00, 0x00, 0x00}
	// A component has a 16-bit version (0x0d while the component model
	// is a draft, so any value is taken) and then the layer, 1.
	componentLayer = []byte{0x01, 0x00}
)

// HasMagic says whether b starts with Magic.
func HasMagic(b []byte) bool { return bytes.HasPrefix(b, []byte(Magic)) }

// KindOf reads the header at the start of wasm. Bytes that are not a
// WebAssembly binary are ErrNotWasm; a binary of another version or layer
// is an error that says so.
func KindOf(wasm []byte) (Kind, error) {
	if len(wasm) < HeaderSize || !HasMagic(wasm) {
		return 0, ErrNotWasm
	}
	switch {
	case bytes.Equal(wasm[4:8], moduleVersion):
		return Module, nil
	case bytes.Equal(wasm[6:8], componentLayer):
		return Component, nil
	}
	return 0, fmt.Errorf("unknown WebAssembly binary version or layer %x: neither a core module nor a component", wasm[4:8])
}
