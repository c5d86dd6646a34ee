package wasmbin_test

import (
	"fmt"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/wasmexec/wasmbin"
)

func ExampleKindOf() {
	for _, header := range []string{
		"\x00asm\x01\x00\x00\x00", // what wat2wasm writes
		"\x00asm\x0d\x00\x01\x00", // what wasm-tools component new writes
		"#!/bin/sh\n",
	} {
		kind, err := wasmbin.KindOf([]byte(header))
		fmt.Println(kind, err)
	}
	// Output:
	// core module <nil>
	// component <nil>
	// Kind(0) not a WebAssembly module
}
