// Package wasmexec runs one WASI preview 1 module, or one WASI 0.2
// command component (wasi:cli/run), with wasmtime. Prepare tells them
// apart by the binary's header (see the wasmbin sub-package) and returns a
// Program; Run maps every way it can end to a process exit status.
//
// It knows nothing about containerd or OCI: the caller hands it a plain
// Config (host path of the module, argv, env, preopened directories,
// entrypoint, limits), and the process's own stdin, stdout and stderr
// become the module's. With Config.CacheDir set, compiled code is kept in
// a Cache shared by every task on the node. The examples show each.
//
// This is the only package of the project that uses cgo: besides
// wasmtime-go, it calls wasmtime's C API for components, which
// wasmtime-go does not wrap (component_capi.go), and for the WASI
// configuration that modules and components share (wasi_capi.go).
package wasmexec
