// Command fdlisten opens a TCP listener on ADDR and execs PROGRAM with it
// as fd 3 and WASI_LISTEN_FDS=3: for the benchmark's native side, the same
// hand-over the shim does for a module (WASI_TCP_LISTEN), so that the Linux
// build of examples/net/go serves under runc exactly as its wasm build does
// under the shim.
//
//	fdlisten 127.0.0.1:8080 /go-server [ARGS...]
package main

import (
	"fmt"
	"net"
	"os"
	"syscall"
)

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: fdlisten ADDR PROGRAM [ARGS...]")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "fdlisten:", err)
		os.Exit(1)
	}
}

func run(addr string, argv []string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		return fmt.Errorf("listener file: %w", err)
	}
	// File returns a blocking duplicate with CLOEXEC; the server's
	// FileListener makes it non-blocking again. Dup2 onto fd 3 clears
	// CLOEXEC so that it survives the exec.
	if err := syscall.Dup2(int(f.Fd()), 3); err != nil {
		return fmt.Errorf("dup listener to fd 3: %w", err)
	}
	env := append(os.Environ(), "WASI_LISTEN_FDS=3")
	if err := syscall.Exec(argv[0], argv, env); err != nil {
		return fmt.Errorf("exec %s: %w", argv[0], err)
	}
	return nil
}
