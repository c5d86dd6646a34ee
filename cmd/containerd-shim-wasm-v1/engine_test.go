package main

import (
	"testing"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/taskchild"
	"github.com/containerd-shim-wasm/containerd-shim-wasm/wasmexec"
)

// The shim checks the WASI host annotation against taskchild.WASIHosts
// (it cannot import the engine); the engine must take exactly those.
func TestWASIHostsAreTheEngines(t *testing.T) {
	for _, name := range taskchild.WASIHosts {
		if _, err := wasmexec.ParseWASIHost(name); err != nil {
			t.Errorf("the shim offers WASI host %q, the engine refuses it: %v", name, err)
		}
	}
	for _, h := range []wasmexec.WASIHost{wasmexec.WASIGo, wasmexec.WASIWasmtime} {
		found := false
		for _, name := range taskchild.WASIHosts {
			found = found || name == string(h)
		}
		if !found {
			t.Errorf("the engine has WASI host %q, taskchild.WASIHosts lacks it", h)
		}
	}
}
