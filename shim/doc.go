// Package shim is the containerd runtime v2 shim for io.containerd.wasm.v1:
// the bootstrap actions containerd runs the binary with (start, delete),
// the long-running ttrpc task service, and the books of each container and
// process. Every task and exec runs in a child process (see taskchild);
// this package never links the wasm engine.
package shim
