// Command logger is a containerd logging binary for the binary:// stdio
// tests (shim/e2e/logging_test.go builds it with `go build`). It follows
// containerd's logging protocol: the container's stdout and stderr are
// fds 3 and 4, and writing a byte to fd 5 and closing it means ready.
//
// Its arguments come from the URI's query as pairs: "out FILE" and
// "err FILE" receive the streams, "env FILE" the CONTAINER_ID and
// CONTAINER_NAMESPACE it was given, and "mode hang" never signals
// readiness. Other pairs (such as the container id, which names the
// process to the leftovers check) are ignored.
package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

func main() {
	opts := map[string]string{}
	for a := os.Args[1:]; len(a) >= 2; a = a[2:] {
		opts[a[0]] = a[1]
	}
	if err := run(opts); err != nil {
		fmt.Fprintln(os.Stderr, "logger:", err)
		os.Exit(1)
	}
}

func run(opts map[string]string) error {
	if path := opts["env"]; path != "" {
		env := fmt.Sprintf("CONTAINER_ID=%s\nCONTAINER_NAMESPACE=%s\nENVIRON=%d\n",
			os.Getenv("CONTAINER_ID"), os.Getenv("CONTAINER_NAMESPACE"), len(os.Environ()))
		if err := os.WriteFile(path, []byte(env), 0o644); err != nil {
			return err
		}
	}
	ready := os.NewFile(5, "ready")
	if opts["mode"] == "hang" {
		time.Sleep(time.Hour)
	}
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, name := range []string{"out", "err"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = copyTo(opts[name], os.NewFile(uintptr(3+i), name))
		}()
	}
	if _, err := ready.Write([]byte{0}); err != nil {
		return err
	}
	ready.Close()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// copyTo copies src to the file path until EOF, or drains it when path is
// empty.
func copyTo(path string, src *os.File) error {
	dst := io.Discard
	if path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		dst = f
	}
	_, err := io.Copy(dst, src)
	return err
}
