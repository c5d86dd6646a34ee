// Command pause is the Pod sandbox's container for clusters that run wasm:
// it holds the Pod's namespaces, sleeps until SIGTERM or SIGINT, and reaps
// the orphans that a shared pid namespace hands it. Built static
// (CGO_ENABLED=0) into localhost/wasm/pause:latest by hack/build-images.sh,
// because no pause image can be pulled where the tests run.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
	for sig := range sigs {
		if sig != syscall.SIGCHLD {
			os.Exit(0)
		}
		reap()
	}
}

// reap collects every child that has exited, without blocking.
func reap() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
