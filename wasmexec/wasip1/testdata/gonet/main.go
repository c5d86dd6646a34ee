//go:build wasip1

// gonet serves a preopened listener the way Go's wasip1 port does
// (net.FileListener), so that Go's netpoller runs on the host's
// poll_oneoff: it answers each of N concurrent clients with the content of
// /greeting.txt (from the preopened directory, which proves that the
// runtime's preopen scan got past the listener) and the line the client
// sent, then exits.
//
// Built by TestGoWasip1Listener with GOOS=wasip1 GOARCH=wasm go build.
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strconv"
	"sync"
	"time"
)

func main() {
	if len(os.Args) != 3 {
		fail("usage: gonet LISTENER-FD CLIENTS")
	}
	fd, _ := strconv.Atoi(os.Args[1])
	clients, _ := strconv.Atoi(os.Args[2])
	greeting, err := os.ReadFile("/greeting.txt")
	if err != nil {
		fail(err.Error())
	}
	l, err := net.FileListener(os.NewFile(uintptr(fd), "listener"))
	if err != nil {
		fail("FileListener: " + err.Error())
	}
	time.AfterFunc(20*time.Second, func() { fail("timed out") })
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		c, err := l.Accept()
		if err != nil {
			fail("accept: " + err.Error())
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			line, err := bufio.NewReader(c).ReadString('\n')
			if err != nil {
				fail("read: " + err.Error())
			}
			time.Sleep(5 * time.Millisecond)
			fmt.Fprintf(c, "%s %s", greeting, line)
		}()
	}
	wg.Wait()
	fmt.Println("served", clients)
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "gonet:", msg)
	os.Exit(2)
}
