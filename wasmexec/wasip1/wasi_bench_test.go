package wasip1

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// benchWat loops over WASI calls and traps on any errno, so that both
// hosts are seen doing the same, successful, work.
const benchWat = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $fd_close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "path_open"
    (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (memory (export "memory") 1)
  ;; iovec of one byte at 16 for writing; of 64 bytes at 32 for reading
  (data (i32.const 0) "\10\00\00\00\01\00\00\00\20\00\00\00\40\00\00\00")
  (data (i32.const 16) "x")
  (data (i32.const 128) "small.txt")
  (func $check (param i32) (if (local.get 0) (then unreachable)))
  ;; write(n): n one-byte fd_writes to stdout
  (func (export "write") (param $n i32)
    (loop $l
      (call $check (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 100)))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  ;; openread(n): n times open small.txt under fd 3 (FD_READ), read it, close it
  (func (export "openread") (param $n i32)
    (loop $l
      (call $check (call $path_open (i32.const 3) (i32.const 0) (i32.const 128) (i32.const 9)
        (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 104)))
      (call $check (call $fd_read (i32.load (i32.const 104)) (i32.const 8) (i32.const 1) (i32.const 100)))
      (if (i32.ne (i32.load (i32.const 100)) (i32.const 11)) (then unreachable))
      (call $check (call $fd_close (i32.load (i32.const 104))))
      (br_if $l (local.tee $n (i32.sub (local.get $n) (i32.const 1))))))
  (func (export "_start")))`

// benchInstance instantiates benchWat with stdout on /dev/null and dir
// preopened at "/", under our host or wasmtime's own.
func benchInstance(b *testing.B, ours bool, dir string) (*wasmtime.Store, *wasmtime.Instance) {
	b.Helper()
	engine := testEngine()
	module, err := wasmtime.NewModule(engine, wat(b, benchWat))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(module.Close)
	store := wasmtime.NewStore(engine)
	b.Cleanup(store.Close)
	linker := wasmtime.NewLinker(engine)
	defer linker.Close()
	var h *Host
	if ours {
		null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			b.Fatal(err)
		}
		defer null.Close()
		if h, err = New(store, Config{Stdout: null, Dirs: []Dir{{HostPath: dir, GuestPath: "/"}}}); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { h.Close() })
		if err := h.Define(linker); err != nil {
			b.Fatal(err)
		}
	} else {
		cfg := wasmtime.NewWasiConfig()
		if err := cfg.SetStdoutFile(os.DevNull); err != nil {
			b.Fatal(err)
		}
		if err := cfg.PreopenDir(dir, "/", wasmtime.DIR_READ, wasmtime.FILE_READ); err != nil {
			b.Fatal(err)
		}
		store.SetWasi(cfg)
		if err := linker.DefineWasi(); err != nil {
			b.Fatal(err)
		}
	}
	inst, err := linker.Instantiate(store, module)
	if err != nil {
		b.Fatal(err)
	}
	if h != nil {
		if err := h.Bind(inst); err != nil {
			b.Fatal(err)
		}
	}
	return store, inst
}

func benchLoop(b *testing.B, fn string) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "small.txt"), []byte("hello world"), 0o644); err != nil {
		b.Fatal(err)
	}
	for _, host := range []struct {
		name string
		ours bool
	}{{"wasip1", true}, {"wasmtime", false}} {
		b.Run(host.name, func(b *testing.B) {
			store, inst := benchInstance(b, host.ours, dir)
			f := inst.GetFunc(store, fn)
			b.ReportAllocs()
			b.ResetTimer()
			for n := b.N; n > 0; n -= 1 << 30 {
				if _, err := f.Call(store, int32(min(n, 1<<30))); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFdWrite: one-byte fd_write to /dev/null, our host against
// wasmtime's DefineWasi.
func BenchmarkFdWrite(b *testing.B) { benchLoop(b, "write") }

// BenchmarkOpenReadClose: path_open, fd_read and fd_close of an 11-byte
// file.
func BenchmarkOpenReadClose(b *testing.B) { benchLoop(b, "openread") }
