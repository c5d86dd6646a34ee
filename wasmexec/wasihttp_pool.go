package wasmexec

// The pooling allocator for a served component. A server makes an
// instance per request; wasmtime's default (on-demand) allocator maps and
// unmaps each instance's memories and tables, so every request faults its
// memory's pages in again (copy-on-write from the compiled image) and
// pays for the unmapping. The pooling allocator reserves slots once, when
// the engine is made, and hands a freed slot to the next instance of the
// same module with the image still mapped: the pages a request dirtied
// are reset in place and the rest stay resident.
//
// The pool is fixed when its engine is made, so it is made by Serve,
// which knows the bound on instances alive at once (MaxInFlight): the
// pool holds exactly that many component instances, and the semaphore
// that admits a request is what guarantees the pool a free slot. The
// component is already compiled by then (Prepare, through the cache, by
// the default engine); its serialized form loads into the pooling engine
// unchanged, because the pool changes how instances are allocated, not
// the compiled code (memory reservation and guards, which the code
// depends on, stay wasmtime's defaults). wasmtime checks that on load and
// refuses an artifact compiled for other tunables, so the cache needs no
// key of its own for the pool: nothing is compiled or stored by the
// pooling engine.

/*
#include "capi_types.h"

typedef struct wasm_config_t wasm_config_t;
typedef struct wasmtime_pooling_allocation_config_t wasmtime_pooling_allocation_config_t;

wasm_engine_t *wasm_engine_new_with_config(wasm_config_t *);
wasmtime_pooling_allocation_config_t *wasmtime_pooling_allocation_config_new(void);
void wasmtime_pooling_allocation_config_delete(wasmtime_pooling_allocation_config_t *);
void wasmtime_pooling_allocation_config_total_component_instances_set(wasmtime_pooling_allocation_config_t *, uint32_t);
void wasmtime_pooling_allocation_config_max_core_instances_per_component_set(wasmtime_pooling_allocation_config_t *, uint32_t);
void wasmtime_pooling_allocation_config_max_memories_per_component_set(wasmtime_pooling_allocation_config_t *, uint32_t);
void wasmtime_pooling_allocation_config_max_tables_per_component_set(wasmtime_pooling_allocation_config_t *, uint32_t);
void wasmtime_pooling_allocation_config_total_core_instances_set(wasmtime_pooling_allocation_config_t *, uint32_t);
void wasmtime_pooling_allocation_config_total_memories_set(wasmtime_pooling_allocation_config_t *, uint32_t);
void wasmtime_pooling_allocation_config_total_tables_set(wasmtime_pooling_allocation_config_t *, uint32_t);
void wasmtime_pooling_allocation_config_max_memory_size_set(wasmtime_pooling_allocation_config_t *, size_t);
void wasmtime_pooling_allocation_config_linear_memory_keep_resident_set(wasmtime_pooling_allocation_config_t *, size_t);
void wasmtime_pooling_allocation_config_table_keep_resident_set(wasmtime_pooling_allocation_config_t *, size_t);
void wasmtime_pooling_allocation_config_max_unused_warm_slots_set(wasmtime_pooling_allocation_config_t *, uint32_t);
void wasmtime_pooling_allocation_strategy_set(wasm_config_t *, const wasmtime_pooling_allocation_config_t *);
wasmtime_error_t *wasmtime_component_deserialize(const wasm_engine_t *, const uint8_t *, size_t, wasmtime_component_t **);
wasmtime_error_t *wasmtime_component_serialize(const wasmtime_component_t *, wasm_byte_vec_t *);
void wasm_byte_vec_delete(wasm_byte_vec_t *);

// cswasm_component_load_into loads comp into engine through its
// serialized form, which never reaches the Go heap.
static wasmtime_error_t *cswasm_component_load_into(const wasmtime_component_t *comp, const wasm_engine_t *engine,
		wasmtime_component_t **out) {
	wasm_byte_vec_t b;
	wasmtime_error_t *err = wasmtime_component_serialize(comp, &b);
	if (err != NULL) return err;
	err = wasmtime_component_deserialize(engine, (const uint8_t *)b.data, b.size, out);
	wasm_byte_vec_delete(&b);
	return err;
}

typedef struct {
	uint32_t instances, core_instances, memories, tables, warm_slots;
	size_t max_memory, keep_resident, table_keep_resident;
} cswasm_pool_t;

// cswasm_pooling_engine makes an engine of cfg (which it takes) with a
// pool sized by p.
static wasm_engine_t *cswasm_pooling_engine(wasm_config_t *cfg, cswasm_pool_t p) {
	wasmtime_pooling_allocation_config_t *pool = wasmtime_pooling_allocation_config_new();
	wasmtime_pooling_allocation_config_total_component_instances_set(pool, p.instances);
	wasmtime_pooling_allocation_config_max_core_instances_per_component_set(pool, p.core_instances);
	wasmtime_pooling_allocation_config_max_memories_per_component_set(pool, p.memories);
	wasmtime_pooling_allocation_config_max_tables_per_component_set(pool, p.tables);
	wasmtime_pooling_allocation_config_total_core_instances_set(pool, p.instances * p.core_instances);
	wasmtime_pooling_allocation_config_total_memories_set(pool, p.instances * p.memories);
	wasmtime_pooling_allocation_config_total_tables_set(pool, p.instances * p.tables);
	if (p.max_memory > 0) wasmtime_pooling_allocation_config_max_memory_size_set(pool, p.max_memory);
	wasmtime_pooling_allocation_config_linear_memory_keep_resident_set(pool, p.keep_resident);
	wasmtime_pooling_allocation_config_table_keep_resident_set(pool, p.table_keep_resident);
	wasmtime_pooling_allocation_config_max_unused_warm_slots_set(pool, p.warm_slots);
	wasmtime_pooling_allocation_strategy_set(cfg, pool);
	wasmtime_pooling_allocation_config_delete(pool);
	return wasm_engine_new_with_config(cfg);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"math"
	"syscall"
)

// poolLimits size a pooling engine for one served component.
type poolLimits struct {
	// instances is the number of component instances alive at once: the
	// in-flight bound. Every other total is this times the per-instance
	// figure, so that the semaphore's bound alone keeps the pool from
	// running out.
	instances uint32
	// coreInstances, memories and tables bound what one instance of the
	// component may hold (its core module instances, linear memories and
	// tables, transitively). A component beyond them is refused by the
	// pooling engine, and is then served with the default allocator.
	coreInstances, memories, tables uint32
	// maxMemory is the most a linear memory may grow to (0: wasmtime's
	// default, 4 GiB); Config.MaxMemoryBytes when it is set.
	maxMemory uint64
	// keepResident is how much of each memory stays resident in a freed
	// slot (reset in place) rather than being given back to the kernel.
	keepResident uint64
	// tableKeepResident is the same for each table.
	tableKeepResident uint64
	// warmSlots bounds the freed slots that keep their pages, so that an
	// idle server holds at most warmSlots*keepResident resident.
	warmSlots uint32
}

// Per-instance bounds. The toolchains' components are far below them
// (http-c: 1 memory, 2 tables, 4 core instances; componentize-js: 1, 3,
// 5; see TestHTTPProxyPoolFits); a component beyond them is served
// without the pool. They cost address space only (memories and tables
// are reserved per slot, never committed before use), and wasmtime
// sizes the slots by them.
const (
	poolCoreInstances = 16
	poolMemories      = 2
	poolTables        = 8
)

// poolSlotReservation is the address space one memory slot reserves:
// wasmtime's default memory reservation (4 GiB, which the compiled code
// relies on, so the pool cannot lower it) and its guard region (32 MiB).
const poolSlotReservation = 4<<30 + 32<<20

// poolKeepResident: a JavaScript handler (StarlingMonkey) dirties a few
// MiB of its 12 MiB memory image on every request; those pages are reset
// in place and stay resident, so the next instance of the slot does not
// fault them in again. C handlers dirty far less.
const poolKeepResident = 16 << 20

// poolTableKeepResident: without it, every freed slot gives its tables'
// pages back (a madvise per table) and the next instance faults them in
// again; that was a quarter of what the pool's instantiation of http-c
// cost (BenchmarkHTTPProxyHandle: 99-167 us a request with it, 143-219
// without, pairwise). A table's pages are only those its elements
// touched (8 bytes an element), so 1 MiB bounds what little a slot keeps.
const poolTableKeepResident = 1 << 20

// poolWarmSlots bounds the unused slots that keep their pages resident
// (and their module's image mapped); beyond it, a freed slot gives its
// pages back and the next instance in it faults them in again. Under a
// steady load a freed slot is taken again at once, so few are unused at
// a time whatever the concurrency; the bound is what an idle server
// keeps after a burst: at most 16*poolKeepResident, in practice what 16
// requests dirtied (a few MiB each for JavaScript). Under a memory limit
// it is lower (defaultPoolLimits).
const poolWarmSlots = 16

// errPoolAddressSpace means the process cannot reserve the pool's
// address space.
var errPoolAddressSpace = errors.New("cannot reserve the pool's address space")

// defaultPoolLimits sizes a pool for maxInFlight instances, each memory
// at most maxMemory bytes (0: no limit but wasm32's).
func defaultPoolLimits(maxInFlight int, maxMemory int64) poolLimits {
	lim := poolLimits{
		instances:         uint32(maxInFlight),
		coreInstances:     poolCoreInstances,
		memories:          poolMemories,
		tables:            poolTables,
		keepResident:      poolKeepResident,
		tableKeepResident: poolTableKeepResident,
		warmSlots:         uint32(min(maxInFlight, poolWarmSlots)),
	}
	if maxMemory > 0 && maxMemory < 4<<30 {
		// Whole wasm pages: a memory grows by 64 KiB.
		lim.maxMemory = (uint64(maxMemory) + 0xffff) &^ 0xffff
		lim.keepResident = min(lim.keepResident, lim.maxMemory)
		// What idle slots keep stays within a quarter of the limit.
		lim.warmSlots = max(1, min(lim.warmSlots, uint32(uint64(maxMemory)/4/lim.keepResident)))
	}
	return lim
}

// reservation is the address space the pool's memories reserve.
func (lim poolLimits) reservation() uint64 {
	return uint64(lim.instances) * uint64(lim.memories) * poolSlotReservation
}

// newPoolingCompiler makes an engine of s with a pool sized by lim.
func newPoolingCompiler(s settings, lim poolLimits) (*componentCompiler, error) {
	if lim.instances == 0 || uint64(lim.instances)*uint64(lim.coreInstances) > math.MaxUint32 {
		return nil, fmt.Errorf("a pool of %d instances", lim.instances)
	}
	// wasmtime aborts the process when an engine cannot reserve its
	// pool, so the reservation is tried first (an address-space limit, a
	// kernel with a small virtual address space).
	if err := tryReserve(lim.reservation()); err != nil {
		return nil, fmt.Errorf("%w: %d instances need %d GiB: %w", errPoolAddressSpace, lim.instances, lim.reservation()>>30, err)
	}
	p := C.cswasm_pool_t{
		instances:           C.uint32_t(lim.instances),
		core_instances:      C.uint32_t(lim.coreInstances),
		memories:            C.uint32_t(lim.memories),
		tables:              C.uint32_t(lim.tables),
		warm_slots:          C.uint32_t(lim.warmSlots),
		max_memory:          C.size_t(lim.maxMemory),
		keep_resident:       C.size_t(lim.keepResident),
		table_keep_resident: C.size_t(lim.tableKeepResident),
	}
	return &componentCompiler{settings: s, engine: C.cswasm_pooling_engine(componentConfig(s), p)}, nil
}

// loadInto loads the component a (compiled by another engine of the
// same settings) into the engine of cc. The serialized component (tens
// of MiB for a JavaScript one) stays on the C side: in the Go heap it
// would raise the garbage collector's target for the server's life.
func (a *componentArtifact) loadInto(cc *componentCompiler) (*componentArtifact, error) {
	var comp *C.wasmtime_component_t
	if err := takeError(C.cswasm_component_load_into(a.ptr, cc.engine, &comp)); err != nil {
		return nil, fmt.Errorf("load into the pooling engine: %w", oneLine(err))
	}
	return &componentArtifact{ptr: comp, engine: cc.engine}, nil
}

// tryReserve maps n bytes of address space, inaccessible and not
// committed, and unmaps them again.
func tryReserve(n uint64) error {
	if n > math.MaxInt64 {
		return fmt.Errorf("%d bytes", n)
	}
	b, err := syscall.Mmap(-1, 0, int(n), syscall.PROT_NONE, syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err != nil {
		return err
	}
	return syscall.Munmap(b)
}
