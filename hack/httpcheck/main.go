// Command httpcheck runs the contract of the wasi:http example handlers
// (examples/README.md, "The wasi:http examples") against a server that
// serves one of them: jco serve today, the shim's own host later.
//
//	go run ./hack/httpcheck -url http://127.0.0.1:8080 [-checks hello,echo,trap] [-echo-mib 64] [-stream-bytes N]
//
// It prints PASS or FAIL per check and exits 1 if any failed. Every request
// has a deadline, so a hung server fails a check instead of hanging it.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:8080", "base URL of the server under test")
	checks := flag.String("checks", strings.Join(allChecks(), ","), "comma-separated checks to run, in order")
	echoMiB := flag.Int("echo-mib", 64, "size of the large streamed echo (the echo-large check)")
	streamBytes := flag.Int64("stream-bytes", 1<<20+7, "size of the streamed download (the stream check)")
	concurrency := flag.Int("concurrency", 100, "parallel requests of the concurrent check")
	timeout := flag.Duration("timeout", 2*time.Minute, "deadline of each check")
	flag.Parse()

	c := &checker{
		base:        strings.TrimRight(*url, "/"),
		client:      &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *concurrency}},
		echoMiB:     *echoMiB,
		streamBytes: *streamBytes,
		concurrency: *concurrency,
	}
	failed := 0
	for _, name := range strings.Split(*checks, ",") {
		fn, ok := c.byName(name)
		if !ok {
			fmt.Fprintf(os.Stderr, "httpcheck: unknown check %q (have %s)\n", name, strings.Join(allChecks(), ","))
			os.Exit(2)
		}
		ctx, cancel := context.WithTimeout(context.Background(), *timeout)
		start := time.Now()
		err := fn(ctx)
		cancel()
		if err != nil {
			failed++
			fmt.Printf("FAIL %-12s %v\n", name, err)
			continue
		}
		fmt.Printf("PASS %-12s %v\n", name, time.Since(start).Round(time.Millisecond))
	}
	if failed > 0 {
		os.Exit(1)
	}
}
