package wasmexec

// The C side of telling a wasi:http server from a command: the names of
// a component's exports, from its type.

/*
#include "capi_types.h"

typedef struct wasmtime_component_type_t wasmtime_component_type_t;

// wasmtime_component_item_t: a one-byte kind and a union whose largest
// case is a valtype (a kind and a pointer); only deleted here.
typedef struct {
	uint8_t kind;
	union { void *ptr; struct { uint8_t kind; void *of; } type; } of;
} cswasm_http_item_t;

wasmtime_component_type_t *wasmtime_component_type(const wasmtime_component_t *);
void wasmtime_component_type_delete(wasmtime_component_type_t *);
size_t wasmtime_component_type_export_count(const wasmtime_component_type_t *, const wasm_engine_t *);
bool wasmtime_component_type_export_nth(const wasmtime_component_type_t *, const wasm_engine_t *,
	size_t, const char **, size_t *, cswasm_http_item_t *);
void wasmtime_component_item_delete(cswasm_http_item_t *);

// cswasm_http_exports calls back name for each export of comp: its
// name is copied by the Go side before the type is deleted.
static size_t cswasm_http_export_count(const wasmtime_component_t *comp, const wasm_engine_t *engine,
		wasmtime_component_type_t **ty) {
	*ty = wasmtime_component_type(comp);
	return wasmtime_component_type_export_count(*ty, engine);
}
static bool cswasm_http_export_nth(const wasmtime_component_type_t *ty, const wasm_engine_t *engine,
		size_t i, const char **name, size_t *len) {
	cswasm_http_item_t item;
	if (!wasmtime_component_type_export_nth(ty, engine, i, name, len, &item)) return false;
	wasmtime_component_item_delete(&item);
	return true;
}
static void cswasm_http_type_delete(wasmtime_component_type_t *ty) { wasmtime_component_type_delete(ty); }
static size_t cswasm_http_item_size(void) { return sizeof(cswasm_http_item_t); }
*/
import "C"

import "strings"

// componentExports returns the names of what comp exports at its root
// (e.g. "wasi:http/incoming-handler@0.2.10").
func componentExports(cc *componentCompiler, comp *componentArtifact) []string {
	var ty *C.wasmtime_component_type_t
	n := int(C.cswasm_http_export_count(comp.ptr, cc.engine, &ty))
	defer C.cswasm_http_type_delete(ty)
	names := make([]string, 0, n)
	for i := 0; i < n; i++ {
		var name *C.char
		var size C.size_t
		if C.cswasm_http_export_nth(ty, cc.engine, C.size_t(i), &name, &size) {
			// The name points into the type, alive until the defer.
			names = append(names, C.GoStringN(name, C.int(size)))
		}
	}
	return names
}

// httpHandlerExport finds the wasi:http/incoming-handler@0.2.x export
// of a component that exports no wasi:cli/run (a server, not a
// command); "" if there is none. The name is exact: export indices are
// looked up by it.
func httpHandlerExport(exports []string) string {
	handler := ""
	for _, name := range exports {
		base, ver, _ := strings.Cut(name, "@")
		switch {
		case base == "wasi:cli/run":
			return ""
		case base == incomingHandlerBase && strings.HasPrefix(ver, "0.2."):
			handler = name
		}
	}
	return handler
}

// httpDeclaredLayout reports the layout this file relies on, for
// TestCDeclarationsMatchHeaders.
func httpDeclaredLayout() map[string]int {
	return map[string]int{"sizeof(wasmtime_component_item_t)": int(C.cswasm_http_item_size())}
}
