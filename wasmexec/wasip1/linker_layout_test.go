package wasip1

import (
	"reflect"
	"strings"
	"testing"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// linkerPtr reads the C linker out of wasmtime-go's Linker, which has no
// accessor for it. This pins the layout it relies on, so that an upgrade
// of wasmtime-go that moves the field fails here rather than at run time.
func TestLinkerLayout(t *testing.T) {
	typ := reflect.TypeOf(wasmtime.Linker{})
	first := typ.Field(0)
	if first.Offset != 0 || first.Type.Kind() != reflect.Pointer || !strings.Contains(first.Type.Elem().Name(), "wasmtime_linker") {
		t.Fatalf("wasmtime.Linker's first field is %s %s at %d; linkerPtr expects a *wasmtime_linker_t at 0", first.Name, first.Type, first.Offset)
	}
	engine := wasmtime.NewEngine()
	defer engine.Close()
	l := wasmtime.NewLinker(engine)
	defer l.Close()
	if linkerPtr(l) == nil {
		t.Fatal("linkerPtr of a live linker is nil")
	}
}
