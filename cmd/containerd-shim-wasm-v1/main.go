// Command containerd-shim-wasm-v1 is the containerd runtime v2 shim for
// io.containerd.wasm.v1. The same binary is also the task child that runs
// one WebAssembly module: the shim re-executes itself with
// taskchild.ChildArg for every task and exec, and it manages the compile
// cache with "cache warm|ls|wipe".
package main

import (
	"os"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim"
	"github.com/containerd-shim-wasm/containerd-shim-wasm/shim/taskchild"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == taskchild.ChildArg {
		taskchild.Main(wasmEngine{})
	}
	if len(os.Args) > 1 && os.Args[1] == cacheArg {
		os.Exit(cacheMain(os.Args[2:], os.Stdout, os.Stderr))
	}
	os.Exit(shim.Main(os.Args[1:], versionInfo()))
}
