// Command kernel times two compute kernels inside the program, so that
// start-up does not count, and prints one line per kernel:
//
//	sort 2097152 ints: 412.3 ms
//	sha256 64 MiB: 380.4 ms
//
// The sort is pure Go on both targets; Go's sha256 uses assembly natively
// (build with -tags purego to compare the same Go code). The input is a
// fixed pseudo-random sequence, so every run does the same work. Built both
// ways for hack/bench:
//
//	GOOS=wasip1 GOARCH=wasm go build -o kernel.wasm ./examples/kernel
//	CGO_ENABLED=0 go build -o kernel ./examples/kernel
//	kernel [SORT_INTS [SHA256_MIB]]   # defaults 2097152 and 64
package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"
)

func main() {
	ints, mib := 1<<21, 64
	if len(os.Args) > 1 {
		ints = atoi(os.Args[1])
	}
	if len(os.Args) > 2 {
		mib = atoi(os.Args[2])
	}
	data := make([]uint64, ints)
	x := uint64(88172645463325252)
	for i := range data {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		data[i] = x
	}
	start := time.Now()
	slices.Sort(data)
	report(fmt.Sprintf("sort %d ints", ints), start)

	buf := make([]byte, mib<<20)
	for i := range buf {
		buf[i] = byte(i % 251)
	}
	start = time.Now()
	sum := sha256.Sum256(buf)
	report(fmt.Sprintf("sha256 %d MiB", mib), start)
	_ = sum
}

func report(what string, start time.Time) {
	fmt.Printf("%s: %.1f ms\n", what, float64(time.Since(start).Microseconds())/1000)
}

func atoi(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		fmt.Fprintln(os.Stderr, "usage: kernel [SORT_INTS [SHA256_MIB]]")
		os.Exit(2)
	}
	return n
}
