package wasip1_test

import (
	"fmt"
	"os"

	"github.com/bytecodealliance/wasmtime-go/v39"
	"github.com/containerd-shim-wasm/containerd-shim-wasm/wasmexec/wasip1"
)

const hello = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "\08\00\00\00\06\00\00\00hello\n")
  (func (export "_start")
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 20)))
    (call $exit (i32.const 200))))`

func Example() {
	engine := wasmtime.NewEngine()
	wasm, err := wasmtime.Wat2Wasm(hello)
	if err != nil {
		panic(err)
	}
	module, err := wasmtime.NewModule(engine, wasm)
	if err != nil {
		panic(err)
	}
	store := wasmtime.NewStore(engine)
	defer store.Close()
	host, err := wasip1.New(store, wasip1.Config{Args: []string{"hello"}, Stdout: os.Stdout})
	if err != nil {
		panic(err)
	}
	defer host.Close()
	linker := wasmtime.NewLinker(engine)
	defer linker.Close()
	if err := host.Define(linker); err != nil {
		panic(err)
	}
	inst, err := linker.Instantiate(store, module)
	if err != nil {
		panic(err)
	}
	if err := host.Bind(inst); err != nil {
		panic(err)
	}
	_, err = inst.GetFunc(store, "_start").Call(store)
	if status, exited := host.Exited(); exited {
		fmt.Println("exit status", status)
	} else if err != nil {
		fmt.Println("trap:", err)
	}
	// Output:
	// hello
	// exit status 200
}
