package wasip1

import (
	"testing"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/wasmexec/internal/capilayout"
)

// TestCDeclarationsMatchHeaders checks that trampoline.h lays out every
// type and constant it shares with wasmtime's headers the same way.
func TestCDeclarationsMatchHeaders(t *testing.T) {
	want := declaredLayout()
	rawVal := want["sizeof(rawVal)"]
	delete(want, "sizeof(rawVal)")
	capilayout.Check(t, want)
	if rawVal != want["sizeof(wasmtime_val_raw_t)"] {
		t.Errorf("rawVal is %d bytes, wasmtime_val_raw_t %d", rawVal, want["sizeof(wasmtime_val_raw_t)"])
	}
}
