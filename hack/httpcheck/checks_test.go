package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// reference serves the contract of the examples in Go, as the handlers do.
func reference(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == "GET" && r.URL.Path == "/":
		w.Header().Set(exampleHeader, "reference")
		io.WriteString(w, hello)
	case r.Method == "GET" && r.URL.Path == "/headers":
		fmt.Fprintf(w, "%s %s\n", r.Method, r.URL.RequestURI())
		for name, values := range r.Header {
			for _, v := range values {
				fmt.Fprintf(w, "%s: %s\n", strings.ToLower(name), v)
			}
		}
	case r.Method == "POST" && r.URL.Path == "/echo":
		// Go's HTTP/1 server closes an unread request body once the
		// response starts, unless asked for full duplex (as the handlers are).
		http.NewResponseController(w).EnableFullDuplex()
		io.Copy(w, r.Body)
	case r.Method == "GET" && r.URL.Path == "/stream":
		n, _ := strconv.Atoi(r.URL.Query().Get("bytes"))
		buf := make([]byte, n)
		for i := range buf {
			buf[i] = byte(i % period)
		}
		w.Write(buf)
	case r.Method == "GET" && strings.HasPrefix(r.URL.Path, "/status/"):
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/status/"))
		w.WriteHeader(code)
	case r.Method == "GET" && r.URL.Path == "/fetch":
		resp, err := http.Get(r.URL.Query().Get("url"))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		io.Copy(w, resp.Body)
	case r.Method == "GET" && r.URL.Path == "/sleep":
		ms, err := strconv.Atoi(r.URL.Query().Get("ms"))
		if err != nil || ms < 0 || ms > 10000 {
			http.Error(w, "ms must be 0..10000", http.StatusBadRequest)
			return
		}
		time.Sleep(time.Duration(ms) * time.Millisecond)
		fmt.Fprintf(w, "slept %d ms\n", ms)
	case r.Method == "GET" && r.URL.Path == "/trap":
		http.Error(w, "trapped", http.StatusInternalServerError)
	default:
		http.NotFound(w, r)
	}
}

func newChecker(t *testing.T, h http.HandlerFunc) *checker {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &checker{base: srv.URL, client: srv.Client(), echoMiB: 4, streamBytes: 1<<20 + 7, concurrency: 20}
}

func TestReferencePassesEveryCheck(t *testing.T) {
	c := newChecker(t, reference)
	for _, name := range allChecks() {
		t.Run(name, func(t *testing.T) {
			fn, ok := c.byName(name)
			if !ok {
				t.Fatalf("no check %q", name)
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := fn(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Each broken server differs from the reference in one route; the check
// of that route must fail.
func TestChecksCatchBrokenServers(t *testing.T) {
	for _, tc := range []struct {
		check  string
		broken http.HandlerFunc
	}{
		{"hello", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, hello) }}, // no custom header
		{"headers", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "GET %s\n", r.URL.Path) }},
		{"status", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(200) }},
		{"stream", func(w http.ResponseWriter, r *http.Request) { w.Write(make([]byte, 1<<20+7)) }},
		// The pattern, one byte short.
		{"stream", func(w http.ResponseWriter, r *http.Request) { io.Copy(w, io.LimitReader(&pattern{}, 1<<20+6)) }},
		{"echo", func(w http.ResponseWriter, r *http.Request) { io.CopyN(w, r.Body, 1<<20-1) }},
		{"echo-large", func(w http.ResponseWriter, r *http.Request) {
			b := make([]byte, 1)
			for {
				if _, err := io.ReadFull(r.Body, b); err != nil {
					return
				}
				w.Write([]byte{b[0] ^ 1})
			}
		}},
		{"fetch", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "not the upstream\n") }},
		// Answers at once, and takes any ms.
		{"sleep", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "slept %s ms\n", r.URL.Query().Get("ms")) }},
		// Sleeps as asked, but answers 200 to an ms beyond the bound.
		{"sleep", func(w http.ResponseWriter, r *http.Request) {
			ms, _ := strconv.Atoi(r.URL.Query().Get("ms"))
			if ms <= 10000 {
				time.Sleep(time.Duration(ms) * time.Millisecond)
			}
			fmt.Fprintf(w, "slept %d ms\n", ms)
		}},
		{"trap", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "fine\n") }},
	} {
		t.Run(tc.check, func(t *testing.T) {
			c := newChecker(t, tc.broken)
			fn, _ := c.byName(tc.check)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if err := fn(ctx); err == nil {
				t.Fatalf("check %s passed against a broken server", tc.check)
			}
		})
	}
}
