// Command containerd-config prints the config.toml of a private containerd
// whose files all live under DIR (hack/containerd.sh uses it):
//
//	go run ./hack/containerd-config -dir DIR [-log-level debug] > DIR/config.toml
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/hack/containerdconfig"
)

func main() {
	dir := flag.String("dir", "", "the daemon's folder: root, state, sockets (required)")
	level := flag.String("log-level", "info", "containerd's log level")
	flag.Parse()
	if *dir == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: containerd-config -dir DIR [-log-level LEVEL]")
		os.Exit(2)
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "containerd-config:", err)
		os.Exit(1)
	}
	fmt.Print(containerdconfig.Plain(containerdconfig.Daemon{
		Root:     filepath.Join(abs, "root"),
		State:    filepath.Join(abs, "state"),
		Address:  filepath.Join(abs, "containerd.sock"),
		LogLevel: *level,
	}))
}
