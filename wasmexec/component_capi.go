package wasmexec

// The component model is not wrapped by wasmtime-go, but the libwasmtime
// that wasmtime-go links exports it. wasmtime-go's headers sit in the
// module cache, at a path that cgo directives cannot name (only ${SRCDIR}
// is expanded), so the declarations this package uses are written out
// (shared ones in capi_types.h), and TestCDeclarationsMatchHeaders compiles them against
// wasmtime's own headers to prove the layouts equal. The symbols resolve
// against the libwasmtime.a that wasmtime-go's cgo flags put on the link
// line.

/*
#cgo !windows LDFLAGS: -lm -ldl -pthread
#include "capi_types.h"

typedef struct wasm_config_t wasm_config_t;

enum { cswasm_component_result_kind = 19 };

// cgo sees a C union as bytes; read the result case in C.
static bool cswasm_result_is_ok(const wasmtime_component_val_t *v) { return v->of.result.is_ok; }
static size_t cswasm_result_is_ok_offset(void) { return offsetof(wasmtime_component_val_t, of.result.is_ok); }

wasm_config_t *wasm_config_new(void);
void wasmtime_config_strategy_set(wasm_config_t *, uint8_t);
void wasmtime_config_cranelift_opt_level_set(wasm_config_t *, uint8_t);
void wasmtime_config_parallel_compilation_set(wasm_config_t *, bool);
void wasmtime_config_memory_init_cow_set(wasm_config_t *, bool);
void wasmtime_config_wasm_component_model_set(wasm_config_t *, bool);
wasm_engine_t *wasm_engine_new_with_config(wasm_config_t *);
void wasm_engine_delete(wasm_engine_t *);

void wasm_byte_vec_delete(wasm_byte_vec_t *);
void wasmtime_error_message(const wasmtime_error_t *, wasm_byte_vec_t *);
bool wasmtime_error_exit_status(const wasmtime_error_t *, int *);
void wasmtime_error_delete(wasmtime_error_t *);

wasmtime_store_t *wasmtime_store_new(wasm_engine_t *, void *, void (*)(void *));
wasmtime_context_t *wasmtime_store_context(wasmtime_store_t *);
void wasmtime_store_limiter(wasmtime_store_t *, int64_t, int64_t, int64_t, int64_t, int64_t);
void wasmtime_store_delete(wasmtime_store_t *);

wasmtime_error_t *wasmtime_component_new(const wasm_engine_t *, const uint8_t *, size_t, wasmtime_component_t **);
wasmtime_error_t *wasmtime_component_serialize(const wasmtime_component_t *, wasm_byte_vec_t *);
wasmtime_error_t *wasmtime_component_deserialize_file(const wasm_engine_t *, const char *, wasmtime_component_t **);
void wasmtime_component_delete(wasmtime_component_t *);
wasmtime_component_export_index_t *wasmtime_component_get_export_index(const wasmtime_component_t *,
	const wasmtime_component_export_index_t *, const char *, size_t);
void wasmtime_component_export_index_delete(wasmtime_component_export_index_t *);

wasmtime_component_linker_t *wasmtime_component_linker_new(const wasm_engine_t *);
wasmtime_error_t *wasmtime_component_linker_add_wasip2(wasmtime_component_linker_t *);
wasmtime_error_t *wasmtime_component_linker_instantiate(const wasmtime_component_linker_t *,
	wasmtime_context_t *, const wasmtime_component_t *, wasmtime_component_instance_t *);
void wasmtime_component_linker_delete(wasmtime_component_linker_t *);

bool wasmtime_component_instance_get_func(const wasmtime_component_instance_t *, wasmtime_context_t *,
	const wasmtime_component_export_index_t *, wasmtime_component_func_t *);
wasmtime_error_t *wasmtime_component_func_call(const wasmtime_component_func_t *, wasmtime_context_t *,
	const wasmtime_component_val_t *, size_t, wasmtime_component_val_t *, size_t);
wasmtime_error_t *wasmtime_component_func_post_return(const wasmtime_component_func_t *, wasmtime_context_t *);
void wasmtime_component_val_delete(wasmtime_component_val_t *);
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"
)

// cError is an error that wasmtime reported through the C API: its
// message, and the exit status when it is WASI's exit.
type cError struct {
	msg        string
	exitStatus int
	hasStatus  bool
}

func (e *cError) Error() string { return e.msg }

// takeError turns a wasmtime_error_t into a Go error and frees it; nil
// stays nil.
func takeError(err *C.wasmtime_error_t) error {
	if err == nil {
		return nil
	}
	defer C.wasmtime_error_delete(err)
	var msg C.wasm_byte_vec_t
	C.wasmtime_error_message(err, &msg)
	defer C.wasm_byte_vec_delete(&msg)
	e := &cError{msg: C.GoStringN(msg.data, C.int(msg.size))}
	var status C.int
	if C.wasmtime_error_exit_status(err, &status) {
		e.exitStatus, e.hasStatus = int(status), true
	}
	return e
}

// exitStatusOf says whether err is WASI's exit with a status.
func exitStatusOf(err error) (int, bool) {
	var ce *cError
	if errors.As(err, &ce) && ce.hasStatus {
		return ce.exitStatus, true
	}
	return 0, false
}

// componentCompiler is an engine with the component model enabled, built
// from the same settings as the core-module engine. It is the codec of
// components.
type componentCompiler struct {
	settings settings
	engine   *C.wasm_engine_t
}

func newComponentCompiler(s settings) *componentCompiler {
	// The engine takes ownership of the config.
	return &componentCompiler{settings: s, engine: C.wasm_engine_new_with_config(componentConfig(s))}
}

// componentConfig is the engine configuration of s with the component
// model enabled; whoever makes an engine of it owns it.
func componentConfig(s settings) *C.wasm_config_t {
	cfg := C.wasm_config_new()
	C.wasmtime_config_strategy_set(cfg, C.uint8_t(s.Strategy))
	C.wasmtime_config_cranelift_opt_level_set(cfg, C.uint8_t(s.OptLevel))
	C.wasmtime_config_parallel_compilation_set(cfg, C.bool(s.ParallelCompilation))
	C.wasmtime_config_memory_init_cow_set(cfg, C.bool(s.MemoryInitCOW))
	C.wasmtime_config_wasm_component_model_set(cfg, true)
	return cfg
}

func (c *componentCompiler) kind() string        { return "component" }
func (c *componentCompiler) fingerprint() string { return c.settings.fingerprint() }

// close frees the engine; every component, store and linker made with it
// must be gone first.
func (c *componentCompiler) close() {
	if c.engine != nil {
		C.wasm_engine_delete(c.engine)
		c.engine = nil
	}
}

func (c *componentCompiler) compile(wasm []byte) (artifact, error) {
	var comp *C.wasmtime_component_t
	err := takeError(C.wasmtime_component_new(c.engine, (*C.uint8_t)(unsafe.Pointer(&wasm[0])), C.size_t(len(wasm)), &comp))
	runtime.KeepAlive(wasm)
	if err != nil {
		return nil, err
	}
	return &componentArtifact{ptr: comp, engine: c.engine}, nil
}

func (c *componentCompiler) loadFile(path string) (artifact, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var comp *C.wasmtime_component_t
	if err := takeError(C.wasmtime_component_deserialize_file(c.engine, cpath, &comp)); err != nil {
		return nil, err
	}
	return &componentArtifact{ptr: comp, engine: c.engine}, nil
}

// componentArtifact is a compiled component, and the engine it was
// compiled for (reading its type needs the engine).
type componentArtifact struct {
	ptr    *C.wasmtime_component_t
	engine *C.wasm_engine_t
}

func (a *componentArtifact) serialize() ([]byte, error) {
	var out C.wasm_byte_vec_t
	if err := takeError(C.wasmtime_component_serialize(a.ptr, &out)); err != nil {
		return nil, err
	}
	defer C.wasm_byte_vec_delete(&out)
	return C.GoBytes(unsafe.Pointer(out.data), C.int(out.size)), nil
}

func (a *componentArtifact) close() {
	if a.ptr != nil {
		C.wasmtime_component_delete(a.ptr)
		a.ptr = nil
	}
}

// exportIndex looks name up among the exports of the component, or of
// the exported instance parent when it is not nil. The caller frees the
// index; nil means no such export.
func (a *componentArtifact) exportIndex(parent *C.wasmtime_component_export_index_t, name string) *C.wasmtime_component_export_index_t {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	return C.wasmtime_component_get_export_index(a.ptr, parent, cname, C.size_t(len(name)))
}

// runFunc finds the function run of the instance export instance.
func (a *componentArtifact) runFunc(instance, function string) (*C.wasmtime_component_export_index_t, error) {
	inst := a.exportIndex(nil, instance)
	if inst == nil {
		return nil, fmt.Errorf("%w: the component exports no %s (is it a WASI command?)", ErrNoEntrypoint, instance)
	}
	defer C.wasmtime_component_export_index_delete(inst)
	fn := a.exportIndex(inst, function)
	if fn == nil {
		return nil, fmt.Errorf("%w: the component's %s exports no %q", ErrNoEntrypoint, instance, function)
	}
	return fn, nil
}

// componentInstance is a component instantiated in its own store, with the
// function to run. It owns the store and the linker; close frees them.
type componentInstance struct {
	store  *C.wasmtime_store_t
	linker *C.wasmtime_component_linker_t
	fn     C.wasmtime_component_func_t
}

// instantiateComponent links comp against WASI 0.2 (wasmtime's
// implementation, configured from cfg) and instantiates it; fnIndex names
// the function that run calls.
func instantiateComponent(cc *componentCompiler, comp *componentArtifact, fnIndex *C.wasmtime_component_export_index_t, cfg Config) (*componentInstance, error) {
	ci := &componentInstance{store: C.wasmtime_store_new(cc.engine, nil, nil)}
	if cfg.MaxMemoryBytes > 0 {
		C.wasmtime_store_limiter(ci.store, C.int64_t(cfg.MaxMemoryBytes), -1, -1, -1, -1)
	}
	ctx := C.wasmtime_store_context(ci.store)
	if err := setWASI(ctx, cfg); err != nil {
		ci.close()
		return nil, err
	}
	ci.linker = C.wasmtime_component_linker_new(cc.engine)
	if err := takeError(C.wasmtime_component_linker_add_wasip2(ci.linker)); err != nil {
		ci.close()
		return nil, fmt.Errorf("define WASI 0.2: %w", err)
	}
	var inst C.wasmtime_component_instance_t
	if err := takeError(C.wasmtime_component_linker_instantiate(ci.linker, ctx, comp.ptr, &inst)); err != nil {
		ci.close()
		return nil, fmt.Errorf("instantiate %s: %w", cfg.ModulePath, oneLine(err))
	}
	if !C.wasmtime_component_instance_get_func(&inst, ctx, fnIndex, &ci.fn) {
		ci.close()
		return nil, fmt.Errorf("%s: %w: its run export is not a function", cfg.ModulePath, ErrNoEntrypoint)
	}
	return ci, nil
}

// call runs the function and reports how it ended: with the value of its
// result<_, _> (ok), or with an error (a trap, or WASI's exit carrying its
// status, see exitStatusOf).
func (ci *componentInstance) call() (ok bool, err error) {
	ctx := C.wasmtime_store_context(ci.store)
	var result C.wasmtime_component_val_t
	if err := takeError(C.wasmtime_component_func_call(&ci.fn, ctx, nil, 0, &result, 1)); err != nil {
		return false, err
	}
	defer C.wasmtime_component_val_delete(&result)
	if result.kind != C.cswasm_component_result_kind {
		return false, fmt.Errorf("run returned a value of kind %d, not a result", result.kind)
	}
	ok = bool(C.cswasm_result_is_ok(&result))
	if err := takeError(C.wasmtime_component_func_post_return(&ci.fn, ctx)); err != nil {
		return ok, fmt.Errorf("after run: %w", err)
	}
	return ok, nil
}

// close frees the linker and the store, and with the store everything the
// instance held (its memories, WASI context, open files).
func (ci *componentInstance) close() {
	if ci.linker != nil {
		C.wasmtime_component_linker_delete(ci.linker)
		ci.linker = nil
	}
	if ci.store != nil {
		C.wasmtime_store_delete(ci.store)
		ci.store = nil
	}
}

func deleteExportIndex(idx *C.wasmtime_component_export_index_t) {
	if idx != nil {
		C.wasmtime_component_export_index_delete(idx)
	}
}

// declaredLayout reports the sizes, offsets and constants of the
// declarations above, for TestCDeclarationsMatchHeaders to compare with
// what wasmtime's headers give.
func declaredLayout() map[string]int {
	var val C.wasmtime_component_val_t
	var fn C.wasmtime_component_func_t
	var vec C.wasm_byte_vec_t
	return map[string]int{
		"sizeof(wasmtime_component_func_t)":                   int(unsafe.Sizeof(fn)),
		"sizeof(wasmtime_component_instance_t)":               int(unsafe.Sizeof(C.wasmtime_component_instance_t{})),
		"sizeof(wasmtime_component_val_t)":                    int(unsafe.Sizeof(val)),
		"offsetof(wasmtime_component_val_t, of)":              int(unsafe.Offsetof(val.of)),
		"offsetof(wasmtime_component_val_t, of.result.is_ok)": int(C.cswasm_result_is_ok_offset()),
		"sizeof(wasm_byte_vec_t)":                             int(unsafe.Sizeof(vec)),
		"offsetof(wasm_byte_vec_t, data)":                     int(unsafe.Offsetof(vec.data)),
		"WASMTIME_COMPONENT_RESULT":                           int(C.cswasm_component_result_kind),
		"WASMTIME_WASI_DIR_PERMS_READ":                        cPermRead,
		"WASMTIME_WASI_DIR_PERMS_WRITE":                       cPermWrite,
		"WASMTIME_WASI_FILE_PERMS_READ":                       cPermRead,
		"WASMTIME_WASI_FILE_PERMS_WRITE":                      cPermWrite,
		"sizeof(wasmtime_strategy_t)":                         int(unsafe.Sizeof(C.uint8_t(0))),
		"sizeof(wasmtime_opt_level_t)":                        int(unsafe.Sizeof(C.uint8_t(0))),
	}
}
