package wasmexec

// The C side of the component host (component_host.go): a component
// linker whose functions and resource types are Go callbacks, stores
// that carry a handle table, and the conversion of component values
// between Go (cval) and wasmtime's wasmtime_component_val_t.
//
// The types shared with component_capi.go come from capi_types.h; the union of a
// value is mirrored in full by cswasm_valunion_t, and
// TestCDeclarationsMatchHeaders checks every size, offset and constant
// against wasmtime's headers (see hostDeclaredLayout).

/*
#include <string.h>
#include "capi_types.h"

typedef struct wasmtime_component_linker_instance_t wasmtime_component_linker_instance_t;
typedef struct wasmtime_component_resource_type wasmtime_component_resource_type_t;
typedef struct wasmtime_component_resource_any wasmtime_component_resource_any_t;
typedef struct wasmtime_component_resource_host wasmtime_component_resource_host_t;
typedef struct wasmtime_component_func_type_t wasmtime_component_func_type_t;

// A valtype is a kind and a pointer; only deleted here.
typedef struct { uint8_t kind; void *of; } wasmtime_component_valtype_t;

// Every vector of the C API (vallist, valrecord, valtuple, valflags) is a
// size and a pointer.
typedef struct { size_t size; void *data; } cswasm_vec_t;

// wasmtime_component_valunion_t in full.
typedef union {
	bool boolean;
	int8_t s8;
	uint8_t u8;
	int16_t s16;
	uint16_t u16;
	int32_t s32;
	uint32_t u32;
	int64_t s64;
	uint64_t u64;
	float f32;
	double f64;
	uint32_t character;
	wasm_byte_vec_t string;
	cswasm_vec_t list;
	cswasm_vec_t record;
	cswasm_vec_t tuple;
	struct { wasm_byte_vec_t discriminant; wasmtime_component_val_t *val; } variant;
	wasm_byte_vec_t enumeration;
	wasmtime_component_val_t *option;
	struct { bool is_ok; wasmtime_component_val_t *val; } result;
	cswasm_vec_t flags;
	wasmtime_component_resource_any_t *resource;
} cswasm_valunion_t;

// wasmtime_component_valrecord_entry_t.
typedef struct { wasm_byte_vec_t name; wasmtime_component_val_t val; } cswasm_record_entry_t;

#define CSWASM_OF(v) ((cswasm_valunion_t *)&(v)->of)

enum {
	cswasm_kind_u8 = 2,
	cswasm_kind_string = 12,
	cswasm_kind_list = 13,
	cswasm_kind_record = 14,
	cswasm_kind_tuple = 15,
	cswasm_kind_variant = 16,
	cswasm_kind_enum = 17,
	cswasm_kind_option = 18,
	cswasm_kind_result = 19,
	cswasm_kind_flags = 20,
	cswasm_kind_resource = 21,
};

wasmtime_error_t *wasmtime_error_new(const char *);
void wasmtime_error_delete(wasmtime_error_t *);
void wasm_byte_vec_new(wasm_byte_vec_t *, size_t, const char *);
void wasm_byte_vec_delete(wasm_byte_vec_t *);

wasmtime_store_t *wasmtime_store_new(wasm_engine_t *, void *, void (*)(void *));
wasmtime_context_t *wasmtime_store_context(wasmtime_store_t *);
void wasmtime_store_limiter(wasmtime_store_t *, int64_t, int64_t, int64_t, int64_t, int64_t);
void wasmtime_store_delete(wasmtime_store_t *);
void *wasmtime_context_get_data(const wasmtime_context_t *);

wasmtime_component_linker_t *wasmtime_component_linker_new(const wasm_engine_t *);
wasmtime_component_linker_instance_t *wasmtime_component_linker_root(wasmtime_component_linker_t *);
wasmtime_error_t *wasmtime_component_linker_instance_add_instance(wasmtime_component_linker_instance_t *,
	const char *, size_t, wasmtime_component_linker_instance_t **);
wasmtime_error_t *wasmtime_component_linker_instance_add_func(wasmtime_component_linker_instance_t *,
	const char *, size_t,
	wasmtime_error_t *(*)(void *, wasmtime_context_t *, const wasmtime_component_func_type_t *,
		wasmtime_component_val_t *, size_t, wasmtime_component_val_t *, size_t),
	void *, void (*)(void *));
wasmtime_error_t *wasmtime_component_linker_instance_add_resource(wasmtime_component_linker_instance_t *,
	const char *, size_t, const wasmtime_component_resource_type_t *,
	wasmtime_error_t *(*)(void *, wasmtime_context_t *, uint32_t), void *, void (*)(void *));
void wasmtime_component_linker_instance_delete(wasmtime_component_linker_instance_t *);
wasmtime_error_t *wasmtime_component_linker_instantiate(const wasmtime_component_linker_t *,
	wasmtime_context_t *, const wasmtime_component_t *, wasmtime_component_instance_t *);
void wasmtime_component_linker_delete(wasmtime_component_linker_t *);
wasmtime_error_t *wasmtime_component_linker_define_unknown_imports_as_traps(wasmtime_component_linker_t *,
	const wasmtime_component_t *);

void wasmtime_component_export_index_delete(wasmtime_component_export_index_t *);
bool wasmtime_component_instance_get_func(const wasmtime_component_instance_t *, wasmtime_context_t *,
	const wasmtime_component_export_index_t *, wasmtime_component_func_t *);
wasmtime_error_t *wasmtime_component_func_call(const wasmtime_component_func_t *, wasmtime_context_t *,
	const wasmtime_component_val_t *, size_t, wasmtime_component_val_t *, size_t);
wasmtime_error_t *wasmtime_component_func_post_return(const wasmtime_component_func_t *, wasmtime_context_t *);
wasmtime_component_func_type_t *wasmtime_component_func_type(const wasmtime_component_func_t *, wasmtime_context_t *);
bool wasmtime_component_func_type_result(const wasmtime_component_func_type_t *, wasmtime_component_valtype_t *);
void wasmtime_component_func_type_delete(wasmtime_component_func_type_t *);
void wasmtime_component_valtype_delete(wasmtime_component_valtype_t *);
void wasmtime_component_val_delete(wasmtime_component_val_t *);
wasmtime_component_val_t *wasmtime_component_val_new(wasmtime_component_val_t *);

void wasmtime_component_vallist_new_uninit(cswasm_vec_t *, size_t);
void wasmtime_component_valtuple_new_uninit(cswasm_vec_t *, size_t);
void wasmtime_component_valrecord_new_uninit(cswasm_vec_t *, size_t);
void wasmtime_component_valflags_new_uninit(cswasm_vec_t *, size_t);

wasmtime_component_resource_type_t *wasmtime_component_resource_type_new_host(uint32_t);
void wasmtime_component_resource_type_delete(wasmtime_component_resource_type_t *);
bool wasmtime_component_resource_any_owned(const wasmtime_component_resource_any_t *);
wasmtime_error_t *wasmtime_component_resource_any_drop(wasmtime_context_t *, const wasmtime_component_resource_any_t *);
wasmtime_component_resource_host_t *wasmtime_component_resource_host_new(bool, uint32_t, uint32_t);
uint32_t wasmtime_component_resource_host_rep(const wasmtime_component_resource_host_t *);
uint32_t wasmtime_component_resource_host_type(const wasmtime_component_resource_host_t *);
bool wasmtime_component_resource_host_owned(const wasmtime_component_resource_host_t *);
void wasmtime_component_resource_host_delete(wasmtime_component_resource_host_t *);
wasmtime_error_t *wasmtime_component_resource_any_to_host(wasmtime_context_t *,
	const wasmtime_component_resource_any_t *, wasmtime_component_resource_host_t **);
wasmtime_error_t *wasmtime_component_resource_host_to_any(wasmtime_context_t *,
	const wasmtime_component_resource_host_t *, wasmtime_component_resource_any_t **);

// The Go side (component_host_export.go).
extern void *cswasmHostCall(uintptr_t, void *, void *, size_t, void *, size_t);
extern void *cswasmResourceDtor(uintptr_t, void *, uint32_t);
extern void cswasmReleaseHandle(uintptr_t);

// Trampolines: wasmtime calls these, with the cgo.Handle of a Go object
// as their data.
static wasmtime_error_t *cswasm_host_call(void *data, wasmtime_context_t *ctx,
		const wasmtime_component_func_type_t *ty, wasmtime_component_val_t *args, size_t nargs,
		wasmtime_component_val_t *results, size_t nresults) {
	(void)ty;
	return cswasmHostCall((uintptr_t)data, ctx, args, nargs, results, nresults);
}
static wasmtime_error_t *cswasm_resource_dtor(void *data, wasmtime_context_t *ctx, uint32_t rep) {
	return cswasmResourceDtor((uintptr_t)data, ctx, rep);
}
static void cswasm_release(void *data) { cswasmReleaseHandle((uintptr_t)data); }

static wasmtime_error_t *cswasm_add_func(wasmtime_component_linker_instance_t *li,
		const char *name, size_t len, uintptr_t data) {
	return wasmtime_component_linker_instance_add_func(li, name, len, cswasm_host_call, (void *)data, cswasm_release);
}

static wasmtime_error_t *cswasm_add_resource(wasmtime_component_linker_instance_t *li,
		const char *name, size_t len, uint32_t ty, uintptr_t data) {
	wasmtime_component_resource_type_t *rt = wasmtime_component_resource_type_new_host(ty);
	wasmtime_error_t *err = wasmtime_component_linker_instance_add_resource(li, name, len, rt,
		cswasm_resource_dtor, (void *)data, cswasm_release);
	wasmtime_component_resource_type_delete(rt);
	return err;
}

static wasmtime_store_t *cswasm_store_new(wasm_engine_t *engine, uintptr_t data) {
	return wasmtime_store_new(engine, (void *)data, NULL);
}
static uintptr_t cswasm_context_data(const wasmtime_context_t *ctx) {
	return (uintptr_t)wasmtime_context_get_data(ctx);
}

// cswasm_result_count says how many results (0 or 1) f returns.
static size_t cswasm_result_count(const wasmtime_component_func_t *f, wasmtime_context_t *ctx) {
	wasmtime_component_func_type_t *ty = wasmtime_component_func_type(f, ctx);
	wasmtime_component_valtype_t vt;
	bool has = wasmtime_component_func_type_result(ty, &vt);
	if (has) wasmtime_component_valtype_delete(&vt);
	wasmtime_component_func_type_delete(ty);
	return has ? 1 : 0;
}

// Builders. v starts as a value that owns nothing (bool false); each
// builder allocates what the kind needs with wasmtime's allocators (the
// C API frees values with them) and sets the kind last, so that a value
// abandoned half-built can always be deleted.
static void cswasm_set_text(wasmtime_component_val_t *v, uint8_t kind, const char *p, size_t n) {
	wasm_byte_vec_new(&CSWASM_OF(v)->string, n, p);
	v->kind = kind;
}
static void cswasm_set_name(wasm_byte_vec_t *dst, const char *p, size_t n) {
	wasm_byte_vec_new(dst, n, p);
}
static void cswasm_set_bytes(wasmtime_component_val_t *v, const uint8_t *p, size_t n) {
	cswasm_vec_t *list = &CSWASM_OF(v)->list;
	wasmtime_component_vallist_new_uninit(list, n);
	wasmtime_component_val_t *e = list->data;
	for (size_t i = 0; i < n; i++) {
		e[i].kind = cswasm_kind_u8;
		CSWASM_OF(&e[i])->u8 = p[i];
	}
	v->kind = cswasm_kind_list;
}
// cswasm_set_seq makes v a list, tuple, record or flags of n elements
// (bool false, empty names) and returns them.
static void *cswasm_set_seq(wasmtime_component_val_t *v, uint8_t kind, size_t n) {
	cswasm_vec_t *vec = &CSWASM_OF(v)->list;
	switch (kind) {
	case cswasm_kind_list: wasmtime_component_vallist_new_uninit(vec, n); break;
	case cswasm_kind_tuple: wasmtime_component_valtuple_new_uninit(vec, n); break;
	case cswasm_kind_record: wasmtime_component_valrecord_new_uninit(vec, n); break;
	case cswasm_kind_flags: wasmtime_component_valflags_new_uninit(vec, n); break;
	default: return NULL;
	}
	v->kind = kind;
	return vec->data;
}
static wasmtime_component_val_t *cswasm_new_payload(void) {
	wasmtime_component_val_t zero;
	memset(&zero, 0, sizeof zero);
	return wasmtime_component_val_new(&zero);
}
// The payload builders return the payload to fill, or NULL when there is
// none.
static wasmtime_component_val_t *cswasm_set_variant(wasmtime_component_val_t *v, const char *p, size_t n, bool payload) {
	wasm_byte_vec_new(&CSWASM_OF(v)->variant.discriminant, n, p);
	CSWASM_OF(v)->variant.val = payload ? cswasm_new_payload() : NULL;
	v->kind = cswasm_kind_variant;
	return CSWASM_OF(v)->variant.val;
}
static wasmtime_component_val_t *cswasm_set_option(wasmtime_component_val_t *v, bool some) {
	CSWASM_OF(v)->option = some ? cswasm_new_payload() : NULL;
	v->kind = cswasm_kind_option;
	return CSWASM_OF(v)->option;
}
static wasmtime_component_val_t *cswasm_set_result(wasmtime_component_val_t *v, bool ok, bool payload) {
	CSWASM_OF(v)->result.is_ok = ok;
	CSWASM_OF(v)->result.val = payload ? cswasm_new_payload() : NULL;
	v->kind = cswasm_kind_result;
	return CSWASM_OF(v)->result.val;
}
// cswasm_set_resource makes v the host resource (rep, ty), entered in the
// store's table of host resources.
static wasmtime_error_t *cswasm_set_resource(wasmtime_context_t *ctx, wasmtime_component_val_t *v,
		bool owned, uint32_t rep, uint32_t ty) {
	wasmtime_component_resource_host_t *h = wasmtime_component_resource_host_new(owned, rep, ty);
	wasmtime_component_resource_any_t *any = NULL;
	wasmtime_error_t *err = wasmtime_component_resource_host_to_any(ctx, h, &any);
	wasmtime_component_resource_host_delete(h);
	if (err != NULL) return err;
	CSWASM_OF(v)->resource = any;
	v->kind = cswasm_kind_resource;
	return NULL;
}
// cswasm_get_resource reads the host resource of v and takes it out of
// the store's tables: an own becomes the host's, a borrow's tracking
// ends. A guest-defined resource is an error (and is dropped).
static wasmtime_error_t *cswasm_get_resource(wasmtime_context_t *ctx, const wasmtime_component_val_t *v,
		uint32_t *rep, uint32_t *ty, bool *owned) {
	wasmtime_component_resource_any_t *any = CSWASM_OF(v)->resource;
	wasmtime_component_resource_host_t *h = NULL;
	wasmtime_error_t *err = wasmtime_component_resource_any_to_host(ctx, any, &h);
	if (err != NULL) {
		wasmtime_error_t *derr = wasmtime_component_resource_any_drop(ctx, any);
		if (derr != NULL) wasmtime_error_delete(derr);
		return err;
	}
	*rep = wasmtime_component_resource_host_rep(h);
	*ty = wasmtime_component_resource_host_type(h);
	*owned = wasmtime_component_resource_host_owned(h);
	wasmtime_component_resource_host_delete(h);
	return NULL;
}
static size_t cswasm_offset(int which) {
	switch (which) {
	case 0: return sizeof(cswasm_valunion_t);
	case 1: return offsetof(cswasm_valunion_t, string.data);
	case 2: return offsetof(cswasm_valunion_t, variant.val);
	case 3: return offsetof(cswasm_valunion_t, result.val);
	case 4: return sizeof(cswasm_record_entry_t);
	case 5: return offsetof(cswasm_record_entry_t, val);
	case 6: return sizeof(wasmtime_component_valtype_t);
	}
	return 0;
}
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"runtime/cgo"
	"sync/atomic"
	"unicode/utf8"
	"unsafe"
)

// Offsets inside wasmtime_component_val_t and its union, for reading
// values in Go without a cgo call per value; hostDeclaredLayout reports
// them to TestCDeclarationsMatchHeaders.
const (
	cvalSize          = 32 // sizeof(wasmtime_component_val_t)
	cvalOfOffset      = 8  // offsetof(wasmtime_component_val_t, of)
	cvecDataOffset    = 8  // offsetof(wasmtime_component_valunion_t, string.data), and of every vector
	cvariantValOffset = 16 // offsetof(wasmtime_component_valunion_t, variant.val)
	cresultValOffset  = 8  // offsetof(wasmtime_component_valunion_t, result.val)
	crecordEntrySize  = 48 // sizeof(wasmtime_component_valrecord_entry_t)
	crecordValOffset  = 16 // offsetof(wasmtime_component_valrecord_entry_t, val)
	cbyteVecSize      = 16 // sizeof(wasm_byte_vec_t)
)

// hostLinker collects definitions (component_host.go), then builds one
// wasmtime component linker from them (wasmtime refuses to define an
// interface twice, so it is built in one go). After build it is
// read-only, and instantiate may be called from any number of goroutines
// at once.
type hostLinker struct {
	engine    *C.wasm_engine_t
	order     []string
	instances map[string]*interfaceDefs
	types     map[uint32]*resourceType
	linker    *C.wasmtime_component_linker_t
}

// hostInstance is one instantiation of a component: its own store, the
// instance, the handle table of the resources the host handed out, and
// data for the host functions. It belongs to one goroutine at a time.
type hostInstance struct {
	linker *hostLinker
	data   any
	table  handleTable

	store *C.wasmtime_store_t
	ctx   *C.wasmtime_context_t
	self  cgo.Handle
	inst  C.wasmtime_component_instance_t
	// scratch holds a host call's parameters and results: an instance's
	// calls come one at a time (a host function cannot call back into
	// its guest), and a request makes dozens of them.
	scratch []cval
}

// newError makes a wasmtime error (a trap when a host callback returns
// it) carrying msg.
func newError(msg string) *C.wasmtime_error_t {
	cmsg := C.CString(msg)
	defer C.free(unsafe.Pointer(cmsg))
	return C.wasmtime_error_new(cmsg)
}

// build creates the wasmtime linker from the definitions: one linker
// instance per interface, resources before functions. A linker that
// fails to build is deleted: instantiate refuses to run without one.
func (l *hostLinker) build() error {
	if l.linker != nil {
		return errors.New("component host: linker already built")
	}
	l.linker = C.wasmtime_component_linker_new(l.engine)
	root := C.wasmtime_component_linker_root(l.linker)
	var err error
	for _, name := range l.order {
		if err = l.buildInstance(root, l.instances[name]); err != nil {
			break
		}
	}
	// The root holds the linker exclusively until it is deleted.
	C.wasmtime_component_linker_instance_delete(root)
	if err != nil {
		l.deleteLinker()
	}
	return err
}

func (l *hostLinker) buildInstance(root *C.wasmtime_component_linker_instance_t, defs *interfaceDefs) error {
	li := root
	if defs.name != "" {
		cname := C.CString(defs.name)
		defer C.free(unsafe.Pointer(cname))
		if err := takeError(C.wasmtime_component_linker_instance_add_instance(root, cname, C.size_t(len(defs.name)), &li)); err != nil {
			return fmt.Errorf("define instance %s: %w", defs.name, err)
		}
		// Deleting the nested linker instance hands the root back.
		defer C.wasmtime_component_linker_instance_delete(li)
	}
	for _, rt := range defs.resources {
		cname := C.CString(rt.name)
		h := newHostHandle(rt)
		err := takeError(C.cswasm_add_resource(li, cname, C.size_t(len(rt.name)), C.uint32_t(rt.id), C.uintptr_t(h)))
		C.free(unsafe.Pointer(cname))
		if err != nil {
			// wasmtime has run the finalizer: the handle is released.
			return fmt.Errorf("define resource %s in %s: %w", rt.name, defs.name, err)
		}
	}
	for _, f := range defs.funcs {
		cname := C.CString(f.name)
		h := newHostHandle(f)
		err := takeError(C.cswasm_add_func(li, cname, C.size_t(len(f.name)), C.uintptr_t(h)))
		C.free(unsafe.Pointer(cname))
		if err != nil {
			return fmt.Errorf("define function %s in %s: %w", f.name, defs.name, err)
		}
	}
	return nil
}

// trapUnknownImports defines every import of comp that the linker lacks
// as a function that traps. Call it after build and before the linker is
// shared.
func (l *hostLinker) trapUnknownImports(comp *componentArtifact) error {
	if l.linker == nil {
		return errors.New("component host: trapUnknownImports before build")
	}
	if err := takeError(C.wasmtime_component_linker_define_unknown_imports_as_traps(l.linker, comp.ptr)); err != nil {
		return fmt.Errorf("define unknown imports as traps: %w", err)
	}
	return nil
}

func (l *hostLinker) deleteLinker() {
	if l.linker != nil {
		C.wasmtime_component_linker_delete(l.linker)
		l.linker = nil
	}
}

// instantiate makes a store of its own for comp, with data for the host
// functions to read, and instantiates comp in it with the linker.
func (l *hostLinker) instantiate(comp *componentArtifact, data any, maxMemory int64) (*hostInstance, error) {
	if l.linker == nil {
		return nil, errors.New("component host: instantiate before build")
	}
	h := &hostInstance{linker: l, data: data}
	h.self = newHostHandle(h)
	h.store = C.cswasm_store_new(l.engine, C.uintptr_t(h.self))
	if maxMemory > 0 {
		C.wasmtime_store_limiter(h.store, C.int64_t(maxMemory), -1, -1, -1, -1)
	}
	h.ctx = C.wasmtime_store_context(h.store)
	if err := takeError(C.wasmtime_component_linker_instantiate(l.linker, h.ctx, comp.ptr, &h.inst)); err != nil {
		h.close()
		return nil, fmt.Errorf("instantiate: %w", oneLine(err))
	}
	return h, nil
}

func (h *hostInstance) deleteStore() {
	if h.store != nil {
		C.wasmtime_store_delete(h.store)
		h.store, h.ctx = nil, nil
	}
	if h.self != 0 {
		releaseHostHandle(h.self)
		h.self = 0
	}
}

// instanceOf finds the hostInstance whose store ctx is.
func instanceOf(ctx *C.wasmtime_context_t) *hostInstance {
	return cgo.Handle(C.cswasm_context_data(ctx)).Value().(*hostInstance)
}

// exportedFunc is a function exported by a component (inside an exported
// interface, or at its root), looked up once per component and called in
// any of its instances.
type exportedFunc struct {
	path string
	idx  *C.wasmtime_component_export_index_t
	// results is the function's result count plus one, 0 until the
	// first call learns it.
	results atomic.Int32
}

// lookupExport finds the function name of the exported interface iface
// ("" for a function exported at the root).
func lookupExport(comp *componentArtifact, iface, name string) (*exportedFunc, error) {
	path := name
	var parent *C.wasmtime_component_export_index_t
	if iface != "" {
		path = iface + "#" + name
		parent = comp.exportIndex(nil, iface)
		if parent == nil {
			return nil, fmt.Errorf("%w: the component exports no %s", ErrNoEntrypoint, iface)
		}
		defer C.wasmtime_component_export_index_delete(parent)
	}
	idx := comp.exportIndex(parent, name)
	if idx == nil {
		return nil, fmt.Errorf("%w: the component exports no %s", ErrNoEntrypoint, path)
	}
	return &exportedFunc{path: path, idx: idx}, nil
}

func (f *exportedFunc) close() {
	deleteExportIndex(f.idx)
	f.idx = nil
}

// call calls f in this instance with args and returns its results (none
// or one). Owned resources in args pass to the guest. After a call fails
// (a trap, or an argument of the wrong type) wasmtime refuses to enter
// the instance again: close it.
func (h *hostInstance) call(f *exportedFunc, args ...cval) ([]cval, error) {
	var fn C.wasmtime_component_func_t
	if !C.wasmtime_component_instance_get_func(&h.inst, h.ctx, f.idx, &fn) {
		return nil, fmt.Errorf("%s is not a function", f.path)
	}
	n := f.results.Load()
	if n == 0 {
		n = int32(C.cswasm_result_count(&fn, h.ctx)) + 1
		f.results.Store(n)
	}
	cargs := make([]C.wasmtime_component_val_t, len(args)+int(n-1))
	cargs, cresults := cargs[:len(args)], cargs[len(args):]
	defer deleteCvals(cargs)
	for i := range args {
		if err := h.toC(&cargs[i], &args[i]); err != nil {
			return nil, fmt.Errorf("%s: argument %d: %w", f.path, i, err)
		}
	}
	err := takeError(C.wasmtime_component_func_call(&fn, h.ctx, cvalsPtr(cargs), C.size_t(len(cargs)), cvalsPtr(cresults), C.size_t(len(cresults))))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", f.path, err)
	}
	defer deleteCvals(cresults)
	results := make([]cval, len(cresults))
	for i := range cresults {
		if results[i], err = h.fromC(&cresults[i]); err != nil {
			return nil, fmt.Errorf("%s: result: %w", f.path, err)
		}
	}
	if err := takeError(C.wasmtime_component_func_post_return(&fn, h.ctx)); err != nil {
		return results, fmt.Errorf("%s: post-return: %w", f.path, err)
	}
	return results, nil
}

func cvalsPtr(vs []C.wasmtime_component_val_t) *C.wasmtime_component_val_t {
	if len(vs) == 0 {
		return nil
	}
	return &vs[0]
}

func deleteCvals(vs []C.wasmtime_component_val_t) {
	for i := range vs {
		C.wasmtime_component_val_delete(&vs[i])
	}
}

// hostCallFromC and resourceDtorFromC are the callbacks of
// component_host_export.go with their C types; they return a
// wasmtime_error_t (a trap) or nil.
func hostCallFromC(def *hostFuncDef, ctx, args unsafe.Pointer, nargs int, results unsafe.Pointer, nresults int) unsafe.Pointer {
	err := hostCall(def, (*C.wasmtime_context_t)(ctx),
		unsafe.Slice((*C.wasmtime_component_val_t)(args), nargs),
		unsafe.Slice((*C.wasmtime_component_val_t)(results), nresults))
	if err != nil {
		return unsafe.Pointer(newError(err.Error()))
	}
	return nil
}

func resourceDtorFromC(rt *resourceType, ctx unsafe.Pointer, rep uint32) unsafe.Pointer {
	if err := resourceDtor(rt, (*C.wasmtime_context_t)(ctx), rep); err != nil {
		return unsafe.Pointer(newError(err.Error()))
	}
	return nil
}

// hostCall runs the Go function behind a host function: params from
// wasmtime to Go, the call, results from Go to wasmtime. A panic in the
// function becomes an error (a trap), not a crash of the process.
func hostCall(def *hostFuncDef, ctx *C.wasmtime_context_t, args, results []C.wasmtime_component_val_t) (err error) {
	h := instanceOf(ctx)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("host function %s#%s panicked: %v", def.instance, def.name, r)
		}
	}()
	n := len(args) + len(results)
	if cap(h.scratch) < n {
		h.scratch = make([]cval, n)
	}
	vals := h.scratch[:n]
	// What the values point to is the call's; the next call must not
	// keep it alive.
	defer clear(vals)
	params, out := vals[:len(args):len(args)], vals[len(args):]
	for i := range args {
		if params[i], err = h.fromC(&args[i]); err != nil {
			return fmt.Errorf("%s#%s: parameter %d: %w", def.instance, def.name, i, err)
		}
	}
	if err := def.fn(h, params, out); err != nil {
		return err
	}
	for i := range results {
		if err := h.toC(&results[i], &out[i]); err != nil {
			return fmt.Errorf("%s#%s: result: %w", def.instance, def.name, err)
		}
	}
	return nil
}

// resourceDtor runs when the guest drops its own handle of a resource
// of type rt: the entry leaves the table and rt's destroy runs.
func resourceDtor(rt *resourceType, ctx *C.wasmtime_context_t, rep uint32) (err error) {
	h := instanceOf(ctx)
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("destructor of %s panicked: %v", rt.name, r)
		}
	}()
	obj, err := h.table.remove(rep, rt)
	if err != nil {
		return err
	}
	if rt.destroy != nil {
		return rt.destroy(h, obj)
	}
	return nil
}

// unionAt is the address of byte off of the union of v.
func unionAt(v *C.wasmtime_component_val_t, off uintptr) unsafe.Pointer {
	return unsafe.Add(unsafe.Pointer(v), cvalOfOffset+off)
}

// cvecOf reads the {size, data} vector at the start of v's union.
func cvecOf(v *C.wasmtime_component_val_t) (n int, data unsafe.Pointer) {
	return int(*(*C.size_t)(unionAt(v, 0))), *(*unsafe.Pointer)(unionAt(v, cvecDataOffset))
}

// goText copies a wasm_byte_vec_t at p into a Go string.
func goText(p unsafe.Pointer) string {
	n := int(*(*C.size_t)(p))
	if n == 0 {
		return ""
	}
	data := *(**C.char)(unsafe.Add(p, cvecDataOffset))
	return C.GoStringN(data, C.int(n))
}

func cvalAt(data unsafe.Pointer, i int) *C.wasmtime_component_val_t {
	return (*C.wasmtime_component_val_t)(unsafe.Add(data, i*cvalSize))
}

// fromC converts a value that wasmtime gave to Go. Resources leave
// wasmtime's tables on the way (see cswasm_get_resource).
func (h *hostInstance) fromC(v *C.wasmtime_component_val_t) (cval, error) {
	k := cvalKind(v.kind)
	out := cval{kind: k}
	switch k {
	case kindBool, kindU8, kindS8:
		out.num = uint64(*(*uint8)(unionAt(v, 0)))
		if k == kindS8 {
			out.num = uint64(int64(*(*int8)(unionAt(v, 0))))
		}
	case kindU16, kindS16:
		out.num = uint64(*(*uint16)(unionAt(v, 0)))
		if k == kindS16 {
			out.num = uint64(int64(*(*int16)(unionAt(v, 0))))
		}
	case kindU32, kindChar, kindF32:
		out.num = uint64(*(*uint32)(unionAt(v, 0)))
	case kindS32:
		out.num = uint64(int64(*(*int32)(unionAt(v, 0))))
	case kindU64, kindS64, kindF64:
		out.num = *(*uint64)(unionAt(v, 0))
	case kindString, kindEnum:
		out.str = goText(unionAt(v, 0))
	case kindList, kindTuple:
		n, data := cvecOf(v)
		if k == kindList && n > 0 && cvalKind(cvalAt(data, 0).kind) == kindU8 {
			out.num, out.bytes = 1, listBytes(data, n)
			break
		}
		out.elems = make([]cval, n)
		for i := range out.elems {
			var err error
			if out.elems[i], err = h.fromC(cvalAt(data, i)); err != nil {
				return cval{}, err
			}
		}
	case kindRecord:
		n, data := cvecOf(v)
		out.names, out.elems = make([]string, n), make([]cval, n)
		for i := 0; i < n; i++ {
			e := unsafe.Add(data, i*crecordEntrySize)
			out.names[i] = goText(e)
			var err error
			if out.elems[i], err = h.fromC((*C.wasmtime_component_val_t)(unsafe.Add(e, crecordValOffset))); err != nil {
				return cval{}, fmt.Errorf("field %s: %w", out.names[i], err)
			}
		}
	case kindFlags:
		n, data := cvecOf(v)
		out.names = make([]string, n)
		for i := range out.names {
			out.names[i] = goText(unsafe.Add(data, i*cbyteVecSize))
		}
	case kindVariant:
		out.str = goText(unionAt(v, 0))
		return h.payloadFromC(out, *(**C.wasmtime_component_val_t)(unionAt(v, cvariantValOffset)))
	case kindOption:
		p := *(**C.wasmtime_component_val_t)(unionAt(v, 0))
		if p != nil {
			out.num = 1
		}
		return h.payloadFromC(out, p)
	case kindResult:
		if *(*bool)(unionAt(v, 0)) {
			out.num = 1
		}
		return h.payloadFromC(out, *(**C.wasmtime_component_val_t)(unionAt(v, cresultValOffset)))
	case kindResource:
		var rep, ty C.uint32_t
		var owned C.bool
		if err := takeError(C.cswasm_get_resource(h.ctx, v, &rep, &ty, &owned)); err != nil {
			return cval{}, fmt.Errorf("resource: %w", err)
		}
		rt := h.linker.types[uint32(ty)]
		if rt == nil {
			return cval{}, fmt.Errorf("resource of unknown host type %d", ty)
		}
		out.res = resourceRef{typ: rt, rep: uint32(rep), owned: bool(owned)}
	default:
		return cval{}, fmt.Errorf("component value of kind %d is not supported", k)
	}
	return out, nil
}

func (h *hostInstance) payloadFromC(out cval, p *C.wasmtime_component_val_t) (cval, error) {
	if p == nil {
		return out, nil
	}
	payload, err := h.fromC(p)
	if err != nil {
		return cval{}, err
	}
	out.elems = []cval{payload}
	return out, nil
}

// listBytes reads a list<u8> of n elements: one pass over the values,
// no cgo call and no allocation per byte.
func listBytes(data unsafe.Pointer, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = *(*byte)(unsafe.Add(data, i*cvalSize+cvalOfOffset))
	}
	return b
}

// toC writes v into dst, a value that owns nothing (all zero, a bool
// false); on error dst is left valid for deletion.
func (h *hostInstance) toC(dst *C.wasmtime_component_val_t, v *cval) error {
	switch v.kind {
	case kindBool:
		// A Rust bool must be 0 or 1.
		*(*bool)(unionAt(dst, 0)) = v.num != 0
	case kindU8, kindS8:
		*(*uint8)(unionAt(dst, 0)) = uint8(v.num)
	case kindU16, kindS16:
		*(*uint16)(unionAt(dst, 0)) = uint16(v.num)
	case kindU32, kindS32, kindF32:
		*(*uint32)(unionAt(dst, 0)) = uint32(v.num)
	case kindChar:
		// wasmtime unwraps char::from_u32: refuse what would abort.
		if v.num > math.MaxUint32 || !utf8.ValidRune(rune(v.num)) {
			return fmt.Errorf("char %#x is not a Unicode scalar value", v.num)
		}
		*(*uint32)(unionAt(dst, 0)) = uint32(v.num)
	case kindU64, kindS64, kindF64:
		*(*uint64)(unionAt(dst, 0)) = v.num
	case kindString, kindEnum:
		// wasmtime unwraps String::from_utf8: refuse what would abort.
		if !utf8.ValidString(v.str) {
			return fmt.Errorf("%s %q is not UTF-8", v.kind, v.str)
		}
		C.cswasm_set_text(dst, C.uint8_t(v.kind), cText(v.str), C.size_t(len(v.str)))
		return nil
	case kindList:
		if v.num == 1 {
			C.cswasm_set_bytes(dst, cBytes(v.bytes), C.size_t(len(v.bytes)))
			return nil
		}
		return h.seqToC(dst, v)
	case kindTuple, kindRecord, kindFlags:
		return h.seqToC(dst, v)
	case kindVariant:
		if !utf8.ValidString(v.str) {
			return fmt.Errorf("variant case %q is not UTF-8", v.str)
		}
		return h.payloadToC(C.cswasm_set_variant(dst, cText(v.str), C.size_t(len(v.str)), len(v.elems) > 0), v)
	case kindOption:
		if v.num == 1 && len(v.elems) != 1 {
			return errors.New("option: some without a value")
		}
		return h.payloadToC(C.cswasm_set_option(dst, v.num == 1), v)
	case kindResult:
		return h.payloadToC(C.cswasm_set_result(dst, v.num == 1, len(v.elems) > 0), v)
	case kindResource:
		r := v.res
		if r.typ == nil {
			return errors.New("resource without a type")
		}
		if !r.owned {
			// wasmtime_component_resource_host_to_any of a borrow enters
			// it in the current call scope, and outside a host call there
			// is none: wasmtime 39 aborts the process (an unwrap in
			// vm/component/resources.rs, resource_lower_borrow). WIT lets
			// no host function return a borrow, so only an argument of a
			// call into the guest could be one: refuse it.
			return fmt.Errorf("resource %s: the C API cannot pass a host borrow to the guest; pass an own", r.typ.name)
		}
		if err := takeError(C.cswasm_set_resource(h.ctx, dst, C.bool(r.owned), C.uint32_t(r.rep), C.uint32_t(r.typ.id))); err != nil {
			return fmt.Errorf("resource %s: %w", r.typ.name, err)
		}
		return nil
	default:
		return fmt.Errorf("component value of kind %d is not supported", v.kind)
	}
	dst.kind = C.uint8_t(v.kind)
	return nil
}

func (h *hostInstance) seqToC(dst *C.wasmtime_component_val_t, v *cval) error {
	n := len(v.elems)
	if v.kind == kindFlags {
		n = len(v.names)
	}
	data := C.cswasm_set_seq(dst, C.uint8_t(v.kind), C.size_t(n))
	switch v.kind {
	case kindFlags:
		for i, name := range v.names {
			if err := setName(unsafe.Add(data, i*cbyteVecSize), name); err != nil {
				return err
			}
		}
	case kindRecord:
		for i := range v.elems {
			e := unsafe.Add(data, i*crecordEntrySize)
			if err := setName(e, v.names[i]); err != nil {
				return err
			}
			if err := h.toC((*C.wasmtime_component_val_t)(unsafe.Add(e, crecordValOffset)), &v.elems[i]); err != nil {
				return fmt.Errorf("field %s: %w", v.names[i], err)
			}
		}
	default:
		for i := range v.elems {
			if err := h.toC(cvalAt(data, i), &v.elems[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (h *hostInstance) payloadToC(p *C.wasmtime_component_val_t, v *cval) error {
	if p == nil {
		return nil
	}
	return h.toC(p, &v.elems[0])
}

// setName writes name into the (empty) wasm_byte_vec_t at p.
func setName(p unsafe.Pointer, name string) error {
	if !utf8.ValidString(name) {
		return fmt.Errorf("name %q is not UTF-8", name)
	}
	C.cswasm_set_name((*C.wasm_byte_vec_t)(p), cText(name), C.size_t(len(name)))
	return nil
}

// cText and cBytes pass Go memory to C for the duration of a call; C
// copies it.
func cText(s string) *C.char {
	if s == "" {
		return nil
	}
	return (*C.char)(unsafe.Pointer(unsafe.StringData(s)))
}

func cBytes(b []byte) *C.uint8_t {
	if len(b) == 0 {
		return nil
	}
	return (*C.uint8_t)(unsafe.Pointer(&b[0]))
}

// hostDeclaredLayout reports the sizes, offsets and constants this file
// relies on, for TestCDeclarationsMatchHeaders; the C mirror
// (cswasm_valunion_t) is checked against the Go constants by the same
// names.
func hostDeclaredLayout() map[string]int {
	var vec C.cswasm_vec_t
	return map[string]int{
		"sizeof(wasmtime_component_val_t)":                     cvalSize,
		"offsetof(wasmtime_component_val_t, of)":               cvalOfOffset,
		"sizeof(wasmtime_component_valunion_t)":                int(C.cswasm_offset(0)),
		"offsetof(wasmtime_component_valunion_t, string.data)": cvecDataOffset,
		"offsetof(wasmtime_component_valunion_t, list.data)":   cvecDataOffset,
		"offsetof(wasmtime_component_valunion_t, record.data)": cvecDataOffset,
		"offsetof(wasmtime_component_valunion_t, tuple.data)":  cvecDataOffset,
		"offsetof(wasmtime_component_valunion_t, flags.data)":  cvecDataOffset,
		"offsetof(wasmtime_component_valunion_t, variant.val)": cvariantValOffset,
		"offsetof(wasmtime_component_valunion_t, result.val)":  cresultValOffset,
		"sizeof(wasmtime_component_valrecord_entry_t)":         crecordEntrySize,
		"offsetof(wasmtime_component_valrecord_entry_t, val)":  crecordValOffset,
		"sizeof(wasm_name_t)":                                  cbyteVecSize,
		"sizeof(wasmtime_component_vallist_t)":                 int(unsafe.Sizeof(vec)),
		"sizeof(wasmtime_component_valtype_t)":                 int(C.cswasm_offset(6)),
		"WASMTIME_COMPONENT_BOOL":                              int(kindBool),
		"WASMTIME_COMPONENT_S8":                                int(kindS8),
		"WASMTIME_COMPONENT_U8":                                int(kindU8),
		"WASMTIME_COMPONENT_S16":                               int(kindS16),
		"WASMTIME_COMPONENT_U16":                               int(kindU16),
		"WASMTIME_COMPONENT_S32":                               int(kindS32),
		"WASMTIME_COMPONENT_U32":                               int(kindU32),
		"WASMTIME_COMPONENT_S64":                               int(kindS64),
		"WASMTIME_COMPONENT_U64":                               int(kindU64),
		"WASMTIME_COMPONENT_F32":                               int(kindF32),
		"WASMTIME_COMPONENT_F64":                               int(kindF64),
		"WASMTIME_COMPONENT_CHAR":                              int(kindChar),
		"WASMTIME_COMPONENT_STRING":                            int(kindString),
		"WASMTIME_COMPONENT_LIST":                              int(kindList),
		"WASMTIME_COMPONENT_RECORD":                            int(kindRecord),
		"WASMTIME_COMPONENT_TUPLE":                             int(kindTuple),
		"WASMTIME_COMPONENT_VARIANT":                           int(kindVariant),
		"WASMTIME_COMPONENT_ENUM":                              int(kindEnum),
		"WASMTIME_COMPONENT_OPTION":                            int(kindOption),
		"WASMTIME_COMPONENT_RESULT":                            int(kindResult),
		"WASMTIME_COMPONENT_FLAGS":                             int(kindFlags),
		"WASMTIME_COMPONENT_RESOURCE":                          int(kindResource),
	}
}

// hostMirrorLayout is the same layout as the C mirror computes it.
func hostMirrorLayout() map[string]int {
	return map[string]int{
		"offsetof(wasmtime_component_valunion_t, string.data)": int(C.cswasm_offset(1)),
		"offsetof(wasmtime_component_valunion_t, variant.val)": int(C.cswasm_offset(2)),
		"offsetof(wasmtime_component_valunion_t, result.val)":  int(C.cswasm_offset(3)),
		"sizeof(wasmtime_component_valrecord_entry_t)":         int(C.cswasm_offset(4)),
		"offsetof(wasmtime_component_valrecord_entry_t, val)":  int(C.cswasm_offset(5)),
		"sizeof(wasmtime_component_val_t)":                     int(unsafe.Sizeof(C.wasmtime_component_val_t{})),
		"WASMTIME_COMPONENT_U8":                                int(C.cswasm_kind_u8),
		"WASMTIME_COMPONENT_STRING":                            int(C.cswasm_kind_string),
		"WASMTIME_COMPONENT_LIST":                              int(C.cswasm_kind_list),
		"WASMTIME_COMPONENT_RECORD":                            int(C.cswasm_kind_record),
		"WASMTIME_COMPONENT_TUPLE":                             int(C.cswasm_kind_tuple),
		"WASMTIME_COMPONENT_VARIANT":                           int(C.cswasm_kind_variant),
		"WASMTIME_COMPONENT_ENUM":                              int(C.cswasm_kind_enum),
		"WASMTIME_COMPONENT_OPTION":                            int(C.cswasm_kind_option),
		"WASMTIME_COMPONENT_RESULT":                            int(C.cswasm_kind_result),
		"WASMTIME_COMPONENT_FLAGS":                             int(C.cswasm_kind_flags),
		"WASMTIME_COMPONENT_RESOURCE":                          int(C.cswasm_kind_resource),
	}
}
