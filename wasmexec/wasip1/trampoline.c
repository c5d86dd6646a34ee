#include <stdlib.h>
#include "trampoline.h"
#include "_cgo_export.h"

typedef struct {
	wasip1_state *state;
	int idx;
} wasip1_func;

wasip1_state *wasip1_state_new(uintptr_t handle) {
	wasip1_state *s = calloc(1, sizeof *s);
	if (s != NULL)
		s->handle = handle;
	return s;
}

void wasip1_state_forget_memory(wasip1_state *s) { s->have_memory = false; }

// wasip1_func_free is wasmtime's finalizer of a defined function. The
// linker and the store may drop their functions on different threads
// (wasmtime-go closes them from finalizers), hence the atomic count.
static void wasip1_func_free(void *env) {
	wasip1_func *f = env;
	if (__atomic_sub_fetch(&f->state->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(f->state);
	free(f);
}

// wasip1_trampoline is every call's entry: it reads the guest memory's
// base and size in C, so that the call into Go is the only crossing.
static wasm_trap_t *wasip1_trampoline(void *env, wasmtime_caller_t *caller, wasmtime_val_raw_t *args, size_t n) {
	wasip1_func *f = env;
	wasip1_state *s = f->state;
	uint8_t *data = NULL;
	size_t size = 0;
	if (!s->have_memory) {
		wasmtime_extern_t item;
		if (wasmtime_caller_export_get(caller, "memory", 6, &item) && item.kind == cswasm_extern_memory) {
			s->memory = item.of.memory;
			s->have_memory = true;
		}
	}
	if (s->have_memory) {
		wasmtime_context_t *ctx = wasmtime_caller_context(caller);
		data = wasmtime_memory_data(ctx, &s->memory);
		size = wasmtime_memory_data_size(ctx, &s->memory);
	}
	int32_t r = wasip1Call(s->handle, f->idx, args, n, data, size);
	if (r == -1) {
		static const char exited[] = "wasi proc_exit";
		return wasmtime_trap_new(exited, sizeof exited - 1);
	}
	if (r < 0) {
		static const char panicked[] = "wasip1: the host call failed";
		return wasmtime_trap_new(panicked, sizeof panicked - 1);
	}
	args[0].i32 = r;
	return NULL;
}

wasmtime_error_t *wasip1_define(wasmtime_linker_t *linker, wasip1_state *s, const char *module, size_t module_len,
	const char *name, size_t name_len, const char *params, size_t nparams, bool result, int idx) {
	wasm_valtype_t *ps[16];
	if (nparams > 16)
		abort();
	for (size_t i = 0; i < nparams; i++)
		ps[i] = wasm_valtype_new(params[i] == 'I' ? cswasm_valkind_i64 : cswasm_valkind_i32);
	wasm_valtype_vec_t pvec, rvec;
	if (nparams > 0)
		wasm_valtype_vec_new(&pvec, nparams, ps);
	else
		wasm_valtype_vec_new_empty(&pvec);
	if (result) {
		wasm_valtype_t *r[1] = {wasm_valtype_new(cswasm_valkind_i32)};
		wasm_valtype_vec_new(&rvec, 1, r);
	} else {
		wasm_valtype_vec_new_empty(&rvec);
	}
	wasm_functype_t *ty = wasm_functype_new(&pvec, &rvec);
	wasip1_func *f = malloc(sizeof *f);
	if (f == NULL)
		abort();
	f->state = s;
	f->idx = idx;
	__atomic_add_fetch(&s->refs, 1, __ATOMIC_ACQ_REL);
	wasmtime_error_t *err = wasmtime_linker_define_func_unchecked(linker, module, module_len, name, name_len, ty,
		wasip1_trampoline, f, wasip1_func_free);
	wasm_functype_delete(ty);
	return err;
}
