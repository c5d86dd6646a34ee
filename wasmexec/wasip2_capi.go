package wasmexec

// The C side of the WASI 0.2 host: reading the names of a component's
// imports from its type.

/*
#include "capi_types.h"

typedef struct wasmtime_component_type_t wasmtime_component_type_t;

// wasmtime_component_item_t: a one-byte kind and a union whose largest
// case is a valtype (a kind and a pointer); only deleted here.
typedef struct {
	uint8_t kind;
	union { void *ptr; struct { uint8_t kind; void *of; } type; } of;
} cswasm_item_t;

wasmtime_component_type_t *wasmtime_component_type(const wasmtime_component_t *);
void wasmtime_component_type_delete(wasmtime_component_type_t *);
size_t wasmtime_component_type_import_count(const wasmtime_component_type_t *, const wasm_engine_t *);
bool wasmtime_component_type_import_nth(const wasmtime_component_type_t *, const wasm_engine_t *,
	size_t, const char **, size_t *, cswasm_item_t *);
void wasmtime_component_item_delete(cswasm_item_t *);

static size_t cswasm_item_size(void) { return sizeof(cswasm_item_t); }
*/
import "C"

import (
	"errors"
	"fmt"
)

// componentImports returns the names of everything comp imports
// (instances such as "wasi:io/streams@0.2.12", and any other item), in
// the component's order.
func componentImports(comp *componentArtifact) ([]string, error) {
	if comp == nil || comp.ptr == nil || comp.engine == nil {
		return nil, errors.New("component imports: no compiled component")
	}
	ty := C.wasmtime_component_type(comp.ptr)
	defer C.wasmtime_component_type_delete(ty)
	n := int(C.wasmtime_component_type_import_count(ty, comp.engine))
	names := make([]string, 0, n)
	for i := 0; i < n; i++ {
		var name *C.char
		var size C.size_t
		var item C.cswasm_item_t
		if !C.wasmtime_component_type_import_nth(ty, comp.engine, C.size_t(i), &name, &size, &item) {
			return nil, fmt.Errorf("component imports: import %d of %d is missing", i, n)
		}
		// The name points into the type, which outlives this copy.
		names = append(names, C.GoStringN(name, C.int(size)))
		C.wasmtime_component_item_delete(&item)
	}
	return names, nil
}

// p2DeclaredLayout reports the layout this file relies on, for
// TestCDeclarationsMatchHeaders.
func p2DeclaredLayout() map[string]int {
	return map[string]int{"sizeof(wasmtime_component_item_t)": int(C.cswasm_item_size())}
}
