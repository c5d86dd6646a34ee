// Command hello is the smallest WASI workload: a greeting and its arguments,
// so a test can check both that the module ran and what argv it was given.
//
//	GOOS=wasip1 GOARCH=wasm go build -o hello.wasm ./examples/hello
package main

import (
	"fmt"
	"os"
	"strings"
)

func main() {
	fmt.Println("Hello from WebAssembly!")
	line := "args:"
	if len(os.Args) > 1 {
		line += " " + strings.Join(os.Args[1:], " ")
	}
	fmt.Println(line)
}
