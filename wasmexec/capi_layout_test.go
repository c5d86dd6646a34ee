package wasmexec

import (
	"testing"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/wasmexec/internal/capilayout"
)

// TestCDeclarationsMatchHeaders compiles a C program against the headers
// of the wasmtime-go release in go.mod and checks that the declarations of
// component_capi.go, wasi_capi.go and component_host_capi.go lay out
// every shared type and constant the same way.
func TestCDeclarationsMatchHeaders(t *testing.T) {
	want := declaredLayout()
	for name, v := range hostDeclaredLayout() {
		if w, ok := want[name]; ok && w != v {
			t.Errorf("%s: declaredLayout says %d, component_host_capi.go %d", name, w, v)
		}
		want[name] = v
	}
	// The C mirror of the value union must agree with the Go offsets.
	for name, v := range hostMirrorLayout() {
		if want[name] != v {
			t.Errorf("%s: component_host_capi.go's C mirror says %d, its Go side %d", name, v, want[name])
		}
	}
	capilayout.Check(t, want)
}
