// Command native is a static Linux program for the tests of native
// containers in a wasm Pod (a sidecar beside a wasm container):
//
//	native echo WORDS...  prints WORDS on stdout and "stderr: WORDS" on stderr
//	native exit N         exits with status N
//	native sleep          sleeps until SIGTERM or SIGINT, then exits 0
//	native hog            allocates memory until it is killed
//
// Run as the interpreter of a "#!/native" script it prints the script's
// path, which proves that the script went to runc.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: native echo|exit|sleep|hog")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "echo":
		msg := strings.Join(os.Args[2:], " ")
		fmt.Println(msg)
		fmt.Fprintln(os.Stderr, "stderr: "+msg)
	case "exit":
		n, _ := strconv.Atoi(os.Args[2])
		os.Exit(n)
	case "sleep":
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
		<-sigs
	case "hog":
		hog()
	default:
		fmt.Printf("script %s\n", os.Args[1])
	}
}

// hog touches memory in 1 MiB pieces, keeping them, until the cgroup's
// limit kills it.
func hog() {
	var kept [][]byte
	for {
		b := make([]byte, 1<<20)
		for i := range b {
			b[i] = 1
		}
		kept = append(kept, b)
		time.Sleep(time.Millisecond)
	}
}
