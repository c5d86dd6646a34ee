package wasmexec

// A host for components written in Go: interfaces whose functions and
// resource types are Go callbacks, defined once on a component linker
// (hostLinker) and instantiated in a store per use (hostInstance), for
// example per HTTP request. See docs/component-host.md for the design:
// how values convert, the handle table, and the threading rules.

import (
	"fmt"
	"math"
	"runtime/cgo"
	"sync/atomic"
)

// hostFunc implements a host function: params are the component values
// the guest passed, results has room for the function's result (none or
// one) and the function fills it. An error traps the guest. Both slices
// are the instance's scratch, reused by its next call: a function may
// keep the values in them, never the slices.
type hostFunc func(h *hostInstance, params []cval, results []cval) error

type hostFuncDef struct {
	instance, name string
	fn             hostFunc
}

// resourceType is a resource type that the host defines. Each value of
// it that the host hands out is an entry in an instance's handle table,
// mapping the resource's rep (the number wasmtime carries, which a guest
// cannot forge) to a Go object. destroy runs when the guest drops its
// own handle, and for every entry left when the instance closes.
type resourceType struct {
	instance, name string
	id             uint32
	destroy        func(h *hostInstance, obj any) error
}

// resourceTypeIDs numbers host resource types process-wide: wasmtime
// tells host types apart by this number alone.
var resourceTypeIDs atomic.Uint32

// interfaceDefs is what one interface of the linker defines.
type interfaceDefs struct {
	name      string
	resources []*resourceType
	funcs     []*hostFuncDef
}

func newHostLinker(cc *componentCompiler) *hostLinker {
	return &hostLinker{engine: cc.engine, instances: map[string]*interfaceDefs{}, types: map[uint32]*resourceType{}}
}

func (l *hostLinker) defs(instance string) *interfaceDefs {
	if l.linker != nil {
		// After build the linker is shared read-only.
		panic("component host: definition after build")
	}
	d := l.instances[instance]
	if d == nil {
		d = &interfaceDefs{name: instance}
		l.instances[instance] = d
		l.order = append(l.order, instance)
	}
	return d
}

// defineFunc defines the function name (e.g. "[method]fields.get") in
// the interface instance (e.g. "wasi:http/types@0.2.10"; "" is the root).
func (l *hostLinker) defineFunc(instance, name string, fn hostFunc) {
	d := l.defs(instance)
	d.funcs = append(d.funcs, &hostFuncDef{instance: instance, name: name, fn: fn})
}

// defineResource defines the resource type name in the interface
// instance; destroy (may be nil) runs when a value of it is dropped.
func (l *hostLinker) defineResource(instance, name string, destroy func(h *hostInstance, obj any) error) *resourceType {
	rt := &resourceType{instance: instance, name: name, id: resourceTypeIDs.Add(1), destroy: destroy}
	d := l.defs(instance)
	d.resources = append(d.resources, rt)
	l.types[rt.id] = rt
	return rt
}

// close frees the wasmtime linker. Instances made from it may outlive
// it: wasmtime keeps what they use alive.
func (l *hostLinker) close() { l.deleteLinker() }

// own enters obj in the table as a new resource of type rt and returns
// an own handle of it, to pass to the guest.
func (h *hostInstance) own(rt *resourceType, obj any) cval {
	return cval{kind: kindResource, res: resourceRef{typ: rt, rep: h.table.insert(rt, obj), owned: true}}
}

// get returns the object behind a resource handle of type rt that the
// guest passed (own or borrow); the entry stays.
func (h *hostInstance) get(r resourceRef, rt *resourceType) (any, error) {
	return h.table.get(r.rep, rt)
}

// take removes the object behind an own handle of type rt that the guest
// passed: the host now owns it, and destroy will not run for it.
func (h *hostInstance) take(r resourceRef, rt *resourceType) (any, error) {
	if !r.owned {
		return nil, fmt.Errorf("%s: cannot take a borrowed handle", rt.name)
	}
	return h.table.remove(r.rep, rt)
}

// live is how many resources the table holds.
func (h *hostInstance) live() int { return h.table.live }

// close deletes the store (and the instance with it), then runs destroy
// for every resource still in the table; their errors are dropped, the
// instance is gone.
func (h *hostInstance) close() {
	h.deleteStore()
	for i := range h.table.entries {
		e := h.table.entries[i]
		if e.typ == nil {
			continue
		}
		h.table.entries[i] = handleEntry{}
		if e.typ.destroy != nil {
			_ = e.typ.destroy(h, e.obj)
		}
	}
	h.table = handleTable{}
}

// handleTable maps reps to Go objects. A rep is an index plus one (0 is
// never handed out); freed slots are reused. Only the goroutine that
// drives the instance touches it (host functions and destructors run on
// that goroutine, inside its calls into wasmtime).
type handleTable struct {
	entries []handleEntry
	free    []uint32
	live    int
}

type handleEntry struct {
	typ *resourceType
	obj any
}

func (t *handleTable) insert(rt *resourceType, obj any) uint32 {
	t.live++
	if n := len(t.free); n > 0 {
		i := t.free[n-1]
		t.free = t.free[:n-1]
		t.entries[i] = handleEntry{typ: rt, obj: obj}
		return i + 1
	}
	if len(t.entries) == math.MaxUint32-1 {
		panic("component host: handle table full")
	}
	t.entries = append(t.entries, handleEntry{typ: rt, obj: obj})
	return uint32(len(t.entries))
}

func (t *handleTable) lookup(rep uint32, rt *resourceType) (*handleEntry, error) {
	if rep == 0 || int(rep) > len(t.entries) || t.entries[rep-1].typ == nil {
		return nil, fmt.Errorf("%s: no resource with rep %d", rt.name, rep)
	}
	e := &t.entries[rep-1]
	if e.typ != rt {
		return nil, fmt.Errorf("resource %d is a %s, not a %s", rep, e.typ.name, rt.name)
	}
	return e, nil
}

func (t *handleTable) get(rep uint32, rt *resourceType) (any, error) {
	e, err := t.lookup(rep, rt)
	if err != nil {
		return nil, err
	}
	return e.obj, nil
}

func (t *handleTable) remove(rep uint32, rt *resourceType) (any, error) {
	e, err := t.lookup(rep, rt)
	if err != nil {
		return nil, err
	}
	obj := e.obj
	*e = handleEntry{}
	t.free = append(t.free, rep-1)
	t.live--
	return obj, nil
}

// liveHostHandles counts the cgo handles the host holds for wasmtime
// (function and resource type data, stores), so tests can tell that
// wasmtime called every finalizer.
var liveHostHandles atomic.Int64

func newHostHandle(v any) cgo.Handle {
	liveHostHandles.Add(1)
	return cgo.NewHandle(v)
}

func releaseHostHandle(h cgo.Handle) {
	h.Delete()
	liveHostHandles.Add(-1)
}
