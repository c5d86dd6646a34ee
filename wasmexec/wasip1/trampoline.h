// Declarations of the part of wasmtime's C API the host's trampoline
// uses, written out because cgo cannot name wasmtime-go's include
// directory; TestCDeclarationsMatchHeaders checks them against wasmtime's
// headers. The symbols resolve against the libwasmtime.a that wasmtime-go
// links.
#ifndef WASIP1_TRAMPOLINE_H
#define WASIP1_TRAMPOLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wasmtime_linker wasmtime_linker_t;
typedef struct wasmtime_caller wasmtime_caller_t;
typedef struct wasmtime_context wasmtime_context_t;
typedef struct wasmtime_error wasmtime_error_t;
typedef struct wasm_trap_t wasm_trap_t;
typedef struct wasm_valtype_t wasm_valtype_t;
typedef struct wasm_functype_t wasm_functype_t;

typedef struct { size_t size; wasm_valtype_t **data; } wasm_valtype_vec_t;
typedef struct { size_t size; char *data; } wasm_byte_vec_t;

// wasmtime_val_raw_t: 16 bytes, i32 and i64 at offset 0, little-endian.
typedef union { int32_t i32; int64_t i64; uint8_t v128[16]; } wasmtime_val_raw_t;

typedef struct {
	struct { uint64_t store_id; uint32_t private1; } store;
	uint32_t private2;
} wasmtime_memory_t;

typedef struct {
	uint8_t kind;
	union {
		wasmtime_memory_t memory;
		uint64_t words[3];
	} of;
} wasmtime_extern_t;

enum { cswasm_extern_memory = 3, cswasm_valkind_i32 = 0, cswasm_valkind_i64 = 1 };

typedef wasm_trap_t *(*wasmtime_func_unchecked_callback_t)(void *, wasmtime_caller_t *, wasmtime_val_raw_t *, size_t);

wasm_valtype_t *wasm_valtype_new(uint8_t);
void wasm_valtype_vec_new(wasm_valtype_vec_t *, size_t, wasm_valtype_t *const[]);
void wasm_valtype_vec_new_empty(wasm_valtype_vec_t *);
wasm_functype_t *wasm_functype_new(wasm_valtype_vec_t *, wasm_valtype_vec_t *);
void wasm_functype_delete(wasm_functype_t *);
wasmtime_error_t *wasmtime_linker_define_func_unchecked(wasmtime_linker_t *, const char *, size_t,
	const char *, size_t, const wasm_functype_t *, wasmtime_func_unchecked_callback_t, void *, void (*)(void *));
void wasmtime_error_message(const wasmtime_error_t *, wasm_byte_vec_t *);
void wasmtime_error_delete(wasmtime_error_t *);
void wasm_byte_vec_delete(wasm_byte_vec_t *);
bool wasmtime_caller_export_get(wasmtime_caller_t *, const char *, size_t, wasmtime_extern_t *);
wasmtime_context_t *wasmtime_caller_context(wasmtime_caller_t *);
uint8_t *wasmtime_memory_data(const wasmtime_context_t *, const wasmtime_memory_t *);
size_t wasmtime_memory_data_size(const wasmtime_context_t *, const wasmtime_memory_t *);
wasm_trap_t *wasmtime_trap_new(const char *, size_t);

// wasip1_state is one host's C side: its Go handle and the instance's
// memory, resolved through the first call's caller.
typedef struct {
	uintptr_t handle;
	bool have_memory;
	wasmtime_memory_t memory;
	// refs counts the functions defined with this state; the last one's
	// finalizer frees it.
	size_t refs;
} wasip1_state;

wasip1_state *wasip1_state_new(uintptr_t handle);
void wasip1_state_forget_memory(wasip1_state *);
// wasip1_define defines call number idx, taking nparams parameters of the
// kinds in params ('i' i32, 'I' i64) and returning an i32 if result.
wasmtime_error_t *wasip1_define(wasmtime_linker_t *, wasip1_state *, const char *module, size_t module_len,
	const char *name, size_t name_len, const char *params, size_t nparams, bool result, int idx);

#endif
