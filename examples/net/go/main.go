// Command go-server is the Go (GOOS=wasip1) build of the networking
// example's HTTP server (examples/README.md, "The networking examples"):
// net/http on the listening socket that the host opened for the module, the
// first fd of WASI_LISTEN_FDS, or fd 3 when that is unset.
//
//	GOOS=wasip1 GOARCH=wasm go build -o go-server.wasm ./examples/net/go
//
// The same program builds for Linux, where it serves on an inherited fd the
// same way (examples/net/nettest runs it so).
package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// defaultListenFD is the first fd after stdio: where a host that preopens
// one listener and no directories puts it.
const defaultListenFD = 3

// listenFD reads the first fd of WASI_LISTEN_FDS ("fd[,fd...]").
func listenFD(env string) (int, error) {
	if env == "" {
		return defaultListenFD, nil
	}
	first, _, _ := strings.Cut(env, ",")
	fd, err := strconv.Atoi(first)
	if err != nil || fd < 0 {
		return 0, fmt.Errorf("bad WASI_LISTEN_FDS %q", env)
	}
	return fd, nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "go-server:", err)
		os.Exit(1)
	}
}

func run() error {
	fd, err := listenFD(os.Getenv("WASI_LISTEN_FDS"))
	if err != nil {
		return err
	}
	// The host hands the listener over non-blocking, so that Accept parks
	// in Go's netpoller instead of holding the module's only thread.
	ln, err := net.FileListener(os.NewFile(uintptr(fd), "listener"))
	if err != nil {
		return fmt.Errorf("listener on fd %d: %w", fd, err)
	}
	file := os.Getenv("SERVE_FILE")
	if file == "" {
		file = defaultFile
	}
	fmt.Fprintf(os.Stderr, "go-server: serving on fd %d (%s)\n", fd, ln.Addr())
	return http.Serve(ln, newHandler(file))
}
