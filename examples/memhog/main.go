// Command memhog grows its memory in steps (default 4 MiB), touching every
// page, and prints how far it got after each step, until the memory limit
// stops it. The last line it printed says where that was.
//
//	memhog [STEP_MIB [MAX_MIB]]
package main

import (
	"fmt"
	"os"
	"strconv"
)

func main() {
	step, max := arg(1, 4), arg(2, 0)
	var held [][]byte
	for total := 0; max == 0 || total < max; {
		b := make([]byte, step<<20)
		for i := 0; i < len(b); i += 4096 {
			b[i] = byte(i)
		}
		held = append(held, b)
		total += step
		fmt.Printf("allocated %d MiB\n", total)
	}
	fmt.Printf("done: %d steps\n", len(held))
}

func arg(i, def int) int {
	if len(os.Args) <= i {
		return def
	}
	n, err := strconv.Atoi(os.Args[i])
	if err != nil || n < 0 {
		fmt.Fprintln(os.Stderr, "usage: memhog [STEP_MIB [MAX_MIB]]")
		os.Exit(2)
	}
	return n
}
