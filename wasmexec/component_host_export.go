package wasmexec

// The Go functions that wasmtime calls back through the trampolines of
// component_host_capi.go. A file with //export may hold only C
// declarations, so these live apart, with pointers as void *.

/*
#include <stddef.h>
#include <stdint.h>
*/
import "C"

import (
	"runtime/cgo"
	"unsafe"
)

//export cswasmHostCall
func cswasmHostCall(data C.uintptr_t, ctx unsafe.Pointer, args unsafe.Pointer, nargs C.size_t, results unsafe.Pointer, nresults C.size_t) unsafe.Pointer {
	return hostCallFromC(cgo.Handle(data).Value().(*hostFuncDef), ctx, args, int(nargs), results, int(nresults))
}

//export cswasmResourceDtor
func cswasmResourceDtor(data C.uintptr_t, ctx unsafe.Pointer, rep C.uint32_t) unsafe.Pointer {
	return resourceDtorFromC(cgo.Handle(data).Value().(*resourceType), ctx, uint32(rep))
}

// cswasmReleaseHandle is the finalizer of a function's or a resource
// type's data: wasmtime calls it when the last linker or instance that
// holds the definition is gone.
//
//export cswasmReleaseHandle
func cswasmReleaseHandle(data C.uintptr_t) {
	releaseHostHandle(cgo.Handle(data))
}
