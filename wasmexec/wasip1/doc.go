// Package wasip1 is a WASI preview 1 host (wasi_snapshot_preview1) written
// in Go on wasmtime's Linker, for what wasmtime's own C API cannot give a
// module: preopened sockets, and exit statuses past 125.
//
// A Host serves one instance: New opens what a Config names (args, env,
// stdio, preopened directories, preopened sockets), Define defines every
// call on a Linker, and Bind resolves the instance's exported memory once,
// after instantiation. The module's calls then run on the goroutine that
// called into the module. When the module calls proc_exit, the call into
// the module returns a trap and Exited gives the status.
//
// The layout follows the calls' groups: args.go, clock.go, proc.go,
// rw.go (fd_read, fd_write and their positioned and seek kin), fd.go (the
// other fd_* calls), readdir.go, path.go, poll.go, sock.go; the fd table
// in fdtable.go, the guest memory view in memory.go, errno mapping in
// errno.go, confined path resolution (openat2) in resolve_linux.go, and
// the definition of the calls on the linker, with their C trampoline, in
// define.go, linker_capi.go and trampoline.c.
// docs/wasip1-host.md tells the design.
package wasip1
