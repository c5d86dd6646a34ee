// Command wasi-demo exercises one WASI feature per subcommand, each with
// output a test can match exactly (apart from random values):
//
//	GOOS=wasip1 GOARCH=wasm go build -o wasi-demo.wasm ./examples/wasi-demo
//	wasi-demo                  a short tour: random values, argv, env, a file
//	wasi-demo echo             copy stdin to stdout until EOF
//	wasi-demo env              KEY=VALUE per variable, sorted
//	wasi-demo args             every element of argv (argv[0] first), one per line
//	wasi-demo exit N           exit with status N
//	wasi-demo write PATH TEXT  create/truncate PATH with TEXT, "wrote N bytes to PATH"
//	wasi-demo read PATH        print PATH's contents
//	wasi-demo rw PATH          create, read back and delete PATH
//	wasi-demo ls DIR           entry names of DIR, sorted
//	wasi-demo random N         N random bytes as lowercase hex
//	wasi-demo spew MiB         MiB*1048576 bytes of the spew pattern, see examples/spew
//	wasi-demo stderr TEXT      TEXT and a newline on stderr
//	wasi-demo spin             busy loop forever without a syscall
//	wasi-demo sleep SECONDS    sleep (fractions allowed)
//
// A failing subcommand prints "wasi-demo: <error>" on stderr and exits 1; a
// usage error exits 2.
package main

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/examples/spew"
)

// errUsage makes main print the usage and exit 2.
var errUsage = errors.New("usage")

// tourFile sits at the rootfs root because that is the one preopen every
// runtime gives; a read-only rootfs makes the tour fail there, visibly.
const tourFile = "/tmp-wasi-demo.txt"

// command runs with the arguments after the subcommand name.
type command struct {
	nargs int // exact argument count; -1 for any
	run   func(args []string) error
}

var commands = map[string]command{
	"echo":   {0, func([]string) error { return echo() }},
	"env":    {0, func([]string) error { return printEnv("") }},
	"args":   {-1, func([]string) error { return printLines(os.Args) }},
	"exit":   {1, exit},
	"write":  {2, write},
	"read":   {1, read},
	"rw":     {1, func(a []string) error { return rw(a[0], "hello from wasi-demo") }},
	"ls":     {1, ls},
	"random": {1, random},
	"spew":   {1, spewCmd},
	"stderr": {1, func(a []string) error { _, err := fmt.Fprintln(os.Stderr, a[0]); return err }},
	"spin":   {0, func([]string) error { return spin() }},
	"sleep":  {1, sleep},
}

func main() {
	err := dispatch(os.Args[1:])
	switch {
	case errors.Is(err, errUsage):
		usage()
		os.Exit(2)
	case err != nil:
		fmt.Fprintf(os.Stderr, "wasi-demo: %v\n", err)
		os.Exit(1)
	}
}

func dispatch(args []string) error {
	if len(args) == 0 {
		return tour()
	}
	cmd, ok := commands[args[0]]
	if !ok || (cmd.nargs >= 0 && len(args)-1 != cmd.nargs) {
		return errUsage
	}
	return cmd.run(args[1:])
}

func usage() {
	names := make([]string, 0, len(commands))
	for name := range commands {
		names = append(names, name)
	}
	slices.Sort(names)
	fmt.Fprintf(os.Stderr, "usage: wasi-demo [%s] [ARGS...]\n", strings.Join(names, "|"))
}

func tour() error {
	var n [4]byte
	if _, err := rand.Read(n[:]); err != nil {
		return fmt.Errorf("random_get: %w", err)
	}
	fmt.Println("wasi-demo: a tour of WASI preview 1")
	fmt.Printf("random number: %d\n", binary.LittleEndian.Uint32(n[:]))
	fmt.Print("random bytes: ")
	if err := random([]string{"8"}); err != nil {
		return err
	}
	fmt.Printf("args: %s\n", strings.Join(os.Args, " ")) // only argv[0]: extra args pick a subcommand
	if err := printEnv("env: "); err != nil {
		return err
	}
	if err := rw(tourFile, "This is a file written by wasi-demo."); err != nil {
		return err
	}
	fmt.Println("done")
	return nil
}

func echo() error {
	if _, err := io.Copy(os.Stdout, os.Stdin); err != nil {
		return fmt.Errorf("echo: %w", err)
	}
	return nil
}

func printEnv(prefix string) error {
	env := os.Environ()
	slices.Sort(env)
	for _, kv := range env {
		fmt.Println(prefix + kv)
	}
	return nil
}

func printLines(lines []string) error {
	for _, l := range lines {
		fmt.Println(l)
	}
	return nil
}

func exit(args []string) error {
	code, err := strconv.Atoi(args[0])
	if err != nil {
		return errUsage
	}
	os.Exit(code)
	return nil
}

func write(args []string) error {
	path, text := args[0], args[1]
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	fmt.Printf("wrote %d bytes to %s\n", len(text), path)
	return nil
}

func read(args []string) error {
	f, err := os.Open(args[0])
	if err != nil {
		return fmt.Errorf("read: %w", err)
	}
	defer f.Close()
	if _, err := io.Copy(os.Stdout, f); err != nil {
		return fmt.Errorf("read %s: %w", args[0], err)
	}
	return nil
}

func rw(path, content string) error {
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		return fmt.Errorf("create %s: %w", path, err)
	}
	fmt.Printf("created %s\n", path)
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read back %s: %w", path, err)
	}
	fmt.Printf("read: %s\n", b)
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("delete %s: %w", path, err)
	}
	fmt.Printf("deleted %s\n", path)
	return nil
}

func ls(args []string) error {
	entries, err := os.ReadDir(args[0]) // sorted by name
	if err != nil {
		return fmt.Errorf("ls: %w", err)
	}
	for _, e := range entries {
		fmt.Println(e.Name())
	}
	return nil
}

func random(args []string) error {
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 0 {
		return errUsage
	}
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return fmt.Errorf("random_get: %w", err)
	}
	fmt.Println(hex.EncodeToString(b))
	return nil
}

func spewCmd(args []string) error {
	mib, err := strconv.Atoi(args[0])
	if err != nil || mib < 0 {
		return errUsage
	}
	// os.Stdout is unbuffered, so each chunk is one fd_write.
	return spew.Write(os.Stdout, mib)
}

// sink keeps the loop body observable so the compiler cannot drop it.
var sink uint64

func spin() error {
	for i := uint64(0); ; i++ {
		sink = i
	}
}

func sleep(args []string) error {
	s, err := strconv.ParseFloat(args[0], 64)
	if err != nil || s < 0 {
		return errUsage
	}
	time.Sleep(time.Duration(s * float64(time.Second)))
	return nil
}
