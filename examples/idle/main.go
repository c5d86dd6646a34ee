// Command idle does nothing until its standard input ends: it blocks in a
// read of stdin, so a container running it stays up, idle, for as long as
// its client keeps stdin open. The benchmark (hack/bench) starts many of
// them to measure what an idle container costs in memory. Built both ways:
//
//	GOOS=wasip1 GOARCH=wasm go build -o idle.wasm ./examples/idle
//	CGO_ENABLED=0 go build -o idle ./examples/idle
package main

import (
	"io"
	"os"
)

func main() {
	_, _ = io.Copy(io.Discard, os.Stdin)
}
