package wasip1

import (
	"bytes"
	"testing"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

func TestArgsEnviron(t *testing.T) {
	g := newGuest(t, Config{Args: []string{"prog", "a b", ""}, Env: []string{"K=v", "EMPTY="}})
	tests := []struct {
		sizes, get string
		want       []string
	}{
		{"args_sizes_get", "args_get", []string{"prog", "a b", ""}},
		{"environ_sizes_get", "environ_get", []string{"K=v", "EMPTY="}},
	}
	for _, tc := range tests {
		t.Run(tc.get, func(t *testing.T) {
			g.mustCall(ErrnoSuccess, tc.sizes, 0, 4)
			count, size := g.u32(0), g.u32(4)
			if int(count) != len(tc.want) {
				t.Fatalf("count %d, want %d", count, len(tc.want))
			}
			g.mustCall(ErrnoSuccess, tc.get, 0x100, 0x200)
			for i, w := range tc.want {
				p := g.u32(0x100 + uint32(i)*4)
				end := bytes.IndexByte(g.mem[p:], 0)
				if got := string(g.mem[p : int(p)+end]); got != w {
					t.Errorf("string %d = %q, want %q", i, got, w)
				}
			}
			if g.mem[0x200+size-1] != 0 || g.mem[0x200+size] != 0 && size == 0 {
				t.Fatal("buffer does not end with the last NUL")
			}
			// Pointers and buffers that do not fit guest memory.
			g.mustCall(ErrnoFault, tc.get, guestMemSize-4, 0x200)
			g.mustCall(ErrnoFault, tc.get, 0x100, int64(guestMemSize-int(size)+1))
			g.mustCall(ErrnoFault, tc.sizes, guestMemSize-2, 4)
			g.mustCall(ErrnoFault, tc.sizes, 0, -1)
		})
	}
}

func TestNewRefusesNUL(t *testing.T) {
	for _, cfg := range []Config{{Args: []string{"a\x00b"}}, {Env: []string{"K=\x00"}}} {
		if _, err := New(nil, cfg); err == nil {
			t.Errorf("New(%+v) accepted a NUL byte", cfg)
		}
	}
}

type fakeClock struct{ real, mono int64 }

func (c *fakeClock) Realtime() int64  { return c.real }
func (c *fakeClock) Monotonic() int64 { return c.mono }

func TestClock(t *testing.T) {
	g := newGuest(t, Config{Clock: &fakeClock{real: 1_700_000_000_000_000_000, mono: 42}})
	tests := []struct {
		name string
		id   int64
		want Errno
		time uint64 // 0: any non-zero
	}{
		{"realtime", clockRealtime, ErrnoSuccess, 1_700_000_000_000_000_000},
		{"monotonic", clockMonotonic, ErrnoSuccess, 42},
		{"process cputime", clockProcessCputimeID, ErrnoSuccess, 0},
		{"thread cputime", clockThreadCputimeID, ErrnoSuccess, 0},
		{"unknown clock", 4, ErrnoInval, 0},
		{"negative clock", -1, ErrnoInval, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g.mustCall(tc.want, "clock_time_get", tc.id, 1, 8)
			if tc.want != ErrnoSuccess {
				g.mustCall(tc.want, "clock_res_get", tc.id, 8)
				return
			}
			if got := g.u64(8); tc.time != 0 && got != tc.time || got == 0 {
				t.Fatalf("time %d, want %d", got, tc.time)
			}
			g.mustCall(ErrnoSuccess, "clock_res_get", tc.id, 8)
			if g.u64(8) == 0 {
				t.Fatal("resolution 0")
			}
			g.mustCall(ErrnoFault, "clock_time_get", tc.id, 1, guestMemSize-7)
			g.mustCall(ErrnoFault, "clock_res_get", tc.id, guestMemSize)
		})
	}
}

func TestRandomGet(t *testing.T) {
	g := newGuest(t, Config{Rand: bytes.NewReader(bytes.Repeat([]byte{7}, 64))})
	g.mustCall(ErrnoSuccess, "random_get", 16, 32)
	if !bytes.Equal(g.mem[16:48], bytes.Repeat([]byte{7}, 32)) || g.mem[48] != 0 {
		t.Fatal("random_get did not fill exactly the buffer")
	}
	g.mustCall(ErrnoSuccess, "random_get", guestMemSize, 0)
	g.mustCall(ErrnoFault, "random_get", guestMemSize-8, 9)
	// The reader ran dry: the module learns of it.
	g.mustCall(ErrnoIo, "random_get", 0, 64)
}

func TestSchedAndRaise(t *testing.T) {
	g := newGuest(t, Config{})
	g.mustCall(ErrnoSuccess, "sched_yield")
	g.mustCall(ErrnoNosys, "proc_raise", 15)
}

// TestProcExit runs modules that exit with statuses wasmtime's own
// proc_exit refuses (126 and up).
func TestProcExit(t *testing.T) {
	for _, status := range []uint32{0, 1, 125, 126, 255, 256, 1 << 31} {
		wasm := wat(t, `(module
			(import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
			(memory (export "memory") 1)
			(func (export "_start") (call $exit (i32.const `+itoa(status)+`)) unreachable))`)
		out := runModule(t, wasm, Config{})
		if out.err != nil || out.status != status {
			t.Errorf("proc_exit(%d): status %d, err %v", status, out.status, out.err)
		}
	}
}

// TestNoMemory: a module without a memory export gets EFAULT for any
// pointer (its exit status here), and Bind says why it cannot bind.
func TestNoMemory(t *testing.T) {
	wasm := wat(t, `(module
		(import "wasi_snapshot_preview1" "args_sizes_get" (func $f (param i32 i32) (result i32)))
		(import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
		(func (export "_start") (call $exit (call $f (i32.const 0) (i32.const 4)))))`)
	module, err := wasmtime.NewModule(testEngine(), wasm)
	if err != nil {
		t.Fatal(err)
	}
	store := wasmtime.NewStore(testEngine())
	defer store.Close()
	h, err := New(store, Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	linker := wasmtime.NewLinker(testEngine())
	defer linker.Close()
	if err := h.Define(linker); err != nil {
		t.Fatal(err)
	}
	inst, err := linker.Instantiate(store, module)
	if err != nil {
		t.Fatal(err)
	}
	// As under wasmtime's host, a module without memory runs; only its
	// calls that take pointers fail.
	if err := h.Bind(inst); err != nil {
		t.Fatal(err)
	}
	inst.GetFunc(store, "_start").Call(store)
	if status, ok := h.Exited(); !ok || status != uint32(ErrnoFault) {
		t.Fatalf("exit %d (%v), want EFAULT %d", status, ok, ErrnoFault)
	}
}

// TestStartFunctionCalls: a call from the start function, before Bind,
// finds the memory through its caller.
func TestStartFunctionCalls(t *testing.T) {
	wasm := wat(t, `(module
		(import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
		(memory (export "memory") 1)
		(data (i32.const 0) "\08\00\00\00\05\00\00\00init\n")
		(func $init (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 20))))
		(start $init)
		(func (export "_start")))`)
	if out := runModule(t, wasm, Config{}); out.err != nil || out.stdout != "init\n" {
		t.Fatalf("stdout %q, err %v", out.stdout, out.err)
	}
}

// TestCallAfterClose: a call through a host that was closed traps rather
// than touching freed state.
func TestCallAfterClose(t *testing.T) {
	wasm := wat(t, `(module
		(import "wasi_snapshot_preview1" "sched_yield" (func $y (result i32)))
		(memory (export "memory") 1)
		(func (export "_start") (drop (call $y))))`)
	module, err := wasmtime.NewModule(testEngine(), wasm)
	if err != nil {
		t.Fatal(err)
	}
	store := wasmtime.NewStore(testEngine())
	defer store.Close()
	h, err := New(store, Config{})
	if err != nil {
		t.Fatal(err)
	}
	linker := wasmtime.NewLinker(testEngine())
	defer linker.Close()
	if err := h.Define(linker); err != nil {
		t.Fatal(err)
	}
	inst, err := linker.Instantiate(store, module)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := inst.GetFunc(store, "_start").Call(store); err != nil {
		t.Fatalf("before Close: %v", err)
	}
	h.Close()
	if _, err := inst.GetFunc(store, "_start").Call(store); err == nil {
		t.Fatal("a call after Close did not trap")
	}
}
