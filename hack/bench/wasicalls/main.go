// Command wasicalls is the benchmark's WASI-call-heavy workload: -n times,
// it creates a small file, writes it, closes it, opens it again, reads it,
// stats it and closes it (a dozen WASI calls per iteration, little else),
// in a directory of its root file system, and prints the time inside the
// program as "files: 12.3 ms", the form hack/bench parses. It builds for
// GOOS=wasip1 (the benchmark runs it on the shim's WASI host and on
// wasmtime's) and for Linux.
//
//	wasicalls -n 20000 -dir /wasicalls
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

func main() {
	n := flag.Int("n", 20000, "iterations")
	dir := flag.String("dir", "/wasicalls", "directory to create the files in (created, then removed)")
	flag.Parse()
	d, err := run(*n, *dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wasicalls:", err)
		os.Exit(1)
	}
	fmt.Printf("files: %.1f ms\n", float64(d.Microseconds())/1000)
}

// files rotates among a few names, so that most opens truncate an existing
// file, as a program rewriting its small state files would.
const files = 16

func run(n int, dir string) (time.Duration, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	payload := bytes.Repeat([]byte("0123456789abcdef"), 8) // 128 bytes
	buf := make([]byte, 2*len(payload))
	start := time.Now()
	for i := 0; i < n; i++ {
		name := filepath.Join(dir, fmt.Sprintf("f%d", i%files))
		f, err := os.OpenFile(name, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
		if err != nil {
			return 0, err
		}
		if _, err := f.Write(payload); err != nil {
			f.Close()
			return 0, err
		}
		if err := f.Close(); err != nil {
			return 0, err
		}
		f, err = os.Open(name)
		if err != nil {
			return 0, err
		}
		k, err := io.ReadFull(f, buf[:len(payload)])
		if err == nil && !bytes.Equal(buf[:k], payload) {
			err = fmt.Errorf("%s: read back %q", name, buf[:k])
		}
		if err == nil {
			_, err = f.Stat()
		}
		f.Close()
		if err != nil {
			return 0, err
		}
	}
	return time.Since(start), nil
}
