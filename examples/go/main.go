// Command go-demo is the Go (GOOS=wasip1) build of the toolchain demo whose
// behaviour examples/README.md specifies; every toolchain's demo prints the
// same bytes for the same input.
//
//	GOOS=wasip1 GOARCH=wasm go build -trimpath -o go-demo.wasm ./examples/go
package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"time"
)

const (
	usageText = "usage: wasi-demo args|env|random N|clock|rw PATH|echo|exit N"
	rwContent = "hello from wasi-demo"
	maxRandom = 1024
)

// errUsage makes main print the usage and exit 2.
var errUsage = errors.New("usage")

func main() {
	err := run(os.Args[1:])
	switch {
	case errors.Is(err, errUsage):
		fmt.Fprintln(os.Stderr, usageText)
		os.Exit(2)
	case err != nil:
		fmt.Fprintf(os.Stderr, "wasi-demo: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errUsage
	}
	switch cmd, rest := args[0], args[1:]; {
	case cmd == "args":
		return printArgs()
	case cmd == "env" && len(rest) == 0:
		return printEnv()
	case cmd == "random" && len(rest) == 1:
		return random(rest[0])
	case cmd == "clock" && len(rest) == 0:
		return clock()
	case cmd == "rw" && len(rest) == 1:
		return rw(rest[0])
	case cmd == "echo" && len(rest) == 0:
		return echo()
	case cmd == "exit" && len(rest) == 1:
		return exit(rest[0])
	}
	return errUsage
}

func printArgs() error {
	fmt.Printf("argc=%d\n", len(os.Args))
	for i, a := range os.Args {
		fmt.Printf("argv[%d]=%s\n", i, a)
	}
	return nil
}

func printEnv() error {
	env := os.Environ()
	slices.Sort(env)
	for _, kv := range env {
		fmt.Println(kv)
	}
	return nil
}

// number parses a decimal 0..max made of digits only, as every demo does.
func number(s string, max int) (int, error) {
	if s == "" || len(s) > 9 {
		return 0, errUsage
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, errUsage
		}
	}
	n, _ := strconv.Atoi(s)
	if n > max {
		return 0, errUsage
	}
	return n, nil
}

func random(arg string) error {
	n, err := number(arg, maxRandom)
	if err != nil {
		return err
	}
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return fmt.Errorf("random: %w", err)
	}
	fmt.Println(hex.EncodeToString(b))
	return nil
}

func clock() error {
	// 2020-01-01T00:00:00Z
	if now := time.Now(); now.Unix() < 1577836800 {
		return fmt.Errorf("clock: realtime %v is before 2020", now)
	}
	start := time.Now() // carries a monotonic reading
	time.Sleep(10 * time.Millisecond)
	if d := time.Since(start); d < 10*time.Millisecond {
		return fmt.Errorf("clock: monotonic advanced %v across a 10ms sleep", d)
	}
	fmt.Println("clock ok")
	return nil
}

func rw(path string) error {
	if err := os.WriteFile(path, []byte(rwContent), 0o644); err != nil {
		return fmt.Errorf("rw: create: %w", err)
	}
	fmt.Printf("created %s\n", path)
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("rw: read: %w", err)
	}
	fmt.Printf("read: %s\n", b)
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("rw: delete: %w", err)
	}
	fmt.Printf("deleted %s\n", path)
	return nil
}

func echo() error {
	if _, err := io.Copy(os.Stdout, os.Stdin); err != nil {
		return fmt.Errorf("echo: %w", err)
	}
	return nil
}

func exit(arg string) error {
	n, err := number(arg, 255)
	if err != nil {
		return err
	}
	os.Exit(n)
	return nil
}
