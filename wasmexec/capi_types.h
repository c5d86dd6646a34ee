// Declarations of wasmtime's C API that more than one file of package
// wasmexec uses. wasmtime-go's headers sit in the module cache, where cgo
// directives cannot point, so the types are written out here once, and
// TestCDeclarationsMatchHeaders compiles the package's view of them
// against wasmtime's own headers to prove the layouts equal. cgo gives
// each C name one Go type per package: every file that needs one of these
// includes this header rather than declaring it again.
#ifndef WASMEXEC_CAPI_TYPES_H
#define WASMEXEC_CAPI_TYPES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

typedef struct wasm_engine_t wasm_engine_t;
typedef struct wasmtime_error wasmtime_error_t;
typedef struct wasmtime_store wasmtime_store_t;
typedef struct wasmtime_context wasmtime_context_t;
typedef struct wasmtime_component_t wasmtime_component_t;
typedef struct wasmtime_component_linker_t wasmtime_component_linker_t;
typedef struct wasmtime_component_export_index_t wasmtime_component_export_index_t;

typedef struct { size_t size; char *data; } wasm_byte_vec_t;

typedef struct { uint64_t store_id; uint32_t private_; } wasmtime_component_instance_t;
// The store id and the first index are a struct of their own, padded to
// 16 bytes, before the second index: the function is 24 bytes.
typedef struct {
	struct { uint64_t store_id; uint32_t private1; } store;
	uint32_t private2;
} wasmtime_component_func_t;

// A component value is a one-byte kind and a 24-byte union (its largest
// case, a variant, is a name and a pointer); of the union only the
// result<_, _> case is named here (is_ok, then the payload).
typedef struct {
	uint8_t kind;
	union {
		struct { bool is_ok; void *val; } result;
		uint64_t words[3];
	} of;
} wasmtime_component_val_t;

#endif
