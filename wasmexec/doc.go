// Package wasmexec runs one WASI preview 1 module, or one WASI 0.2
// command component (wasi:cli/run), with wasmtime. Prepare tells them
// apart by the binary's header.
//
// It knows nothing about containerd or OCI: the caller hands it a plain
// Config (host path of the module, argv, env, preopened directories,
// entrypoint) and the process's own stdin, stdout and stderr become the
// module's. Run maps every way a module can end to a process exit status.
//
//	prog, err := wasmexec.Prepare(wasmexec.Config{
//		ModulePath: "/rootfs/hello.wasm",
//		Args:       []string{"/hello.wasm", "world"},
//		Preopens:   []wasmexec.Preopen{{HostPath: "/rootfs", GuestPath: "/"}},
//	})
//	if err != nil { ... }        // not wasm, no entrypoint, unknown import
//	status := prog.Run()         // proc_exit(n) -> n, trap -> TrapExitStatus
//
// With Config.CacheDir set, compiled code is kept in a Cache shared by
// every task on the node: a later Prepare of the same module maps it in a
// few milliseconds instead of compiling it; Program.Stats says which
// happened.
//
// This is the only package of the project that uses cgo: besides
// wasmtime-go, it calls wasmtime's C API for components, which
// wasmtime-go does not wrap (component_capi.go).
package wasmexec
