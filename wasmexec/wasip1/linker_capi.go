package wasip1

/*
#cgo !windows LDFLAGS: -lm -ldl -pthread
#include <stdlib.h>
#include "trampoline.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime/cgo"
	"strings"
	"unsafe"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// The calls are defined with wasmtime's "unchecked" host functions and
// a C trampoline (trampoline.c) rather than wasmtime-go's FuncNew, whose
// Go trampoline makes a cgo call back into wasmtime for each argument,
// the result, the caller's context and the memory's base and size, and
// allocates the argument slice: together about a microsecond a call. The
// C trampoline reads the memory's base and size itself and crosses into
// Go once.

// rawVal is wasmtime_val_raw_t: 16 bytes, an i32 or i64 in the low bytes,
// little-endian.
type rawVal [2]uint64

// args are a call's raw arguments.
type args []rawVal

func (a args) u32(i int) uint32 { return uint32(a[i][0]) }
func (a args) i32(i int) int32  { return int32(uint32(a[i][0])) }
func (a args) u64(i int) uint64 { return a[i][0] }

// procExitIndex numbers proc_exit after the calls of the table.
var procExitIndex = len(calls)

// cgoState is a host's C side: the handle by which the trampoline finds
// the host, and the state the defined functions share (freed by
// wasmtime when the last of them is dropped).
type cgoState struct {
	handle cgo.Handle
	state  *C.wasip1_state
}

// forgetMemory makes the next call resolve the memory through its caller.
func (h *Host) forgetMemory() {
	if h.cgo.state != nil {
		C.wasip1_state_forget_memory(h.cgo.state)
	}
}

// releaseHandle lets the host be collected; a call through a function
// still defined then traps.
func (h *Host) releaseHandle() {
	if h.cgo.handle != 0 {
		h.cgo.handle.Delete()
		h.cgo.handle = 0
	}
}

// linkerPtr is the C linker inside a wasmtime-go Linker: wasmtime-go v39
// keeps it as the struct's first field (linker.go) and offers no accessor.
func linkerPtr(l *wasmtime.Linker) *C.wasmtime_linker_t {
	return *(**C.wasmtime_linker_t)(unsafe.Pointer(l))
}

// Define defines every wasi_snapshot_preview1 function on linker, bound
// to h, each name in its first form: preview 1's own, and WasmEdge's V1
// under the plain names of its socket extension. Instantiate with the
// linker, then Bind the instance. DefineFor picks each name's form by what
// a module imports.
func (h *Host) Define(linker *wasmtime.Linker) error {
	return h.define(linker, nil)
}

// DefineFor is Define for module: a name that module imports with the
// signature of a second form (WasmEdge's two-argument sock_accept, the V2
// sock_recv_from, sock_getlocaladdr and sock_getpeeraddr) is defined in
// that form. An import of one of our names with a signature no form has
// is an error that names both.
func (h *Host) DefineFor(linker *wasmtime.Linker, module *wasmtime.Module) error {
	chosen := map[string]int{}
	for _, imp := range module.Imports() {
		name := imp.Name()
		if imp.Module() != ModuleName || name == nil || imp.Type().FuncType() == nil {
			continue
		}
		params, result, ok := signature(imp.Type().FuncType())
		if !ok || *name == "proc_exit" {
			continue
		}
		idx, forms := callForm(*name, params, result)
		if idx >= 0 {
			chosen[*name] = idx
		} else if len(forms) > 0 {
			return fmt.Errorf("%s.%s: the module imports %s, the host has %s",
				ModuleName, *name, typeString(params, result), strings.Join(forms, " or "))
		}
	}
	return h.define(linker, chosen)
}

// signature encodes a function type as the table does; false for a type
// the table cannot hold (floats, references, several results).
func signature(ft *wasmtime.FuncType) (string, bool, bool) {
	var b strings.Builder
	for _, p := range ft.Params() {
		switch p.Kind() {
		case wasmtime.KindI32:
			b.WriteByte('i')
		case wasmtime.KindI64:
			b.WriteByte('I')
		default:
			return "", false, false
		}
	}
	res := ft.Results()
	switch {
	case len(res) == 0:
		return b.String(), false, true
	case len(res) == 1 && res[0].Kind() == wasmtime.KindI32:
		return b.String(), true, true
	}
	return "", false, false
}

// callForm is the index of name's form with the signature (params,
// result), or -1 and the signatures name has.
func callForm(name, params string, result bool) (int, []string) {
	var forms []string
	for i, c := range calls {
		if c.name != name {
			continue
		}
		if c.params == params && result {
			return i, nil
		}
		forms = append(forms, typeString(c.params, true))
	}
	return -1, forms
}

// typeString writes a signature as wasm text does: (i32, i64) -> i32.
func typeString(params string, result bool) string {
	names := make([]string, len(params))
	for i, p := range params {
		names[i] = "i32"
		if p == 'I' {
			names[i] = "i64"
		}
	}
	s := "(" + strings.Join(names, ", ") + ")"
	if result {
		s += " -> i32"
	}
	return s
}

// define defines each name once: in the form chosen for it, else in its
// first form.
func (h *Host) define(linker *wasmtime.Linker, chosen map[string]int) error {
	if h.cgo.state == nil {
		h.cgo.handle = cgo.NewHandle(h)
		h.cgo.state = C.wasip1_state_new(C.uintptr_t(h.cgo.handle))
		if h.cgo.state == nil {
			return errors.New("define WASI: out of memory")
		}
	}
	module := C.CString(ModuleName)
	defer C.free(unsafe.Pointer(module))
	define := func(name, params string, result bool, idx int) error {
		cname, cparams := C.CString(name), C.CString(params)
		defer C.free(unsafe.Pointer(cname))
		defer C.free(unsafe.Pointer(cparams))
		err := C.wasip1_define(linkerPtr(linker), h.cgo.state, module, C.size_t(len(ModuleName)),
			cname, C.size_t(len(name)), cparams, C.size_t(len(params)), C.bool(result), C.int(idx))
		if err != nil {
			return fmt.Errorf("define %s: %s", name, takeError(err))
		}
		return nil
	}
	for i, c := range calls {
		if idx, ok := chosen[c.name]; ok && idx != i || !ok && c.alt {
			continue
		}
		if err := define(c.name, c.params, true, i); err != nil {
			return err
		}
	}
	return define("proc_exit", "i", false, procExitIndex)
}

func takeError(err *C.wasmtime_error_t) string {
	var msg C.wasm_byte_vec_t
	C.wasmtime_error_message(err, &msg)
	defer C.wasm_byte_vec_delete(&msg)
	C.wasmtime_error_delete(err)
	return C.GoStringN(msg.data, C.int(msg.size))
}

// wasip1Call runs call idx for the host behind handle, on the guest
// memory [mem, mem+size). It returns the errno, -1 after proc_exit, or -2
// if the call panicked (which no input should make it do: the fuzz
// target looks for that), which the trampoline turns into a trap.
//
//export wasip1Call
func wasip1Call(handle C.uintptr_t, idx C.int, raw *C.wasmtime_val_raw_t, n C.size_t, mem *C.uint8_t, size C.size_t) (ret C.int32_t) {
	defer func() {
		if recover() != nil {
			ret = -2
		}
	}()
	h := cgo.Handle(handle).Value().(*Host)
	a := args(unsafe.Slice((*rawVal)(unsafe.Pointer(raw)), int(n)))
	var v view
	if mem != nil {
		v = unsafe.Slice((*byte)(unsafe.Pointer(mem)), int(size))
	}
	if int(idx) == procExitIndex {
		h.procExit(a.u32(0))
		return -1
	}
	return C.int32_t(calls[idx].fn(h, v, a))
}

// declaredLayout is what trampoline.h declares of wasmtime's types and
// constants, for TestCDeclarationsMatchHeaders to compare with wasmtime's
// headers.
func declaredLayout() map[string]int {
	var ext C.wasmtime_extern_t
	var vec C.wasm_valtype_vec_t
	var bytes C.wasm_byte_vec_t
	return map[string]int{
		"sizeof(wasmtime_val_raw_t)":         int(unsafe.Sizeof(C.wasmtime_val_raw_t{})),
		"sizeof(wasmtime_memory_t)":          int(unsafe.Sizeof(C.wasmtime_memory_t{})),
		"sizeof(wasmtime_extern_t)":          int(unsafe.Sizeof(ext)),
		"offsetof(wasmtime_extern_t, of)":    int(unsafe.Offsetof(ext.of)),
		"sizeof(wasm_valtype_vec_t)":         int(unsafe.Sizeof(vec)),
		"offsetof(wasm_valtype_vec_t, data)": int(unsafe.Offsetof(vec.data)),
		"sizeof(wasm_byte_vec_t)":            int(unsafe.Sizeof(bytes)),
		"offsetof(wasm_byte_vec_t, data)":    int(unsafe.Offsetof(bytes.data)),
		"WASMTIME_EXTERN_MEMORY":             int(C.cswasm_extern_memory),
		"WASM_I32":                           int(C.cswasm_valkind_i32),
		"WASM_I64":                           int(C.cswasm_valkind_i64),
		"sizeof(rawVal)":                     int(unsafe.Sizeof(rawVal{})),
	}
}
