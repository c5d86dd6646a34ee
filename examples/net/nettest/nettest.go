// Package nettest checks the contract that every build of the networking
// example's HTTP server keeps (examples/README.md, "The networking
// examples"), against a server reachable at a base URL. The native tests
// here run it against the C and Rust servers built for Linux; the shim's
// end-to-end tests can run it against the same servers built for WASI.
//
//	nettest.Check(t, "http://127.0.0.1:8080", nettest.Server{Hello: "hello from c\n", File: []byte("hi\n")})
package nettest

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is what a server under test is expected to answer.
type Server struct {
	// Hello is the body of GET /.
	Hello string
	// File is the content of the file that GET /file serves.
	File []byte
}

// EchoSizes are the POST /echo bodies that Check sends: empty, small, one
// byte over a typical buffer, 1 MiB and more than 3 MiB.
var EchoSizes = []int{0, 1, 4097, 1 << 20, 3<<20 + 7}

// Concurrent is how many clients Check runs at once.
const Concurrent = 50

// Pattern returns n deterministic bytes that are not periodic in any small
// buffer size, so a reordered or repeated chunk of an echo shows up.
func Pattern(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

// Check runs every part of the contract as a subtest.
func Check(t *testing.T, base string, want Server) {
	client := &http.Client{Timeout: 60 * time.Second}
	t.Run("hello", func(t *testing.T) { CheckHello(t, client, base, want.Hello) })
	t.Run("file", func(t *testing.T) { CheckFile(t, client, base, want.File) })
	t.Run("echo", func(t *testing.T) { CheckEcho(t, client, base) })
	t.Run("errors", func(t *testing.T) { CheckErrors(t, client, base) })
	t.Run("concurrent", func(t *testing.T) { CheckConcurrent(t, base) })
	t.Run("stalled-client", func(t *testing.T) { CheckStalledClient(t, client, base) })
}

// get fetches base+path and returns status and body.
func get(client *http.Client, url string) (int, []byte, error) {
	resp, err := client.Get(url)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, body, fmt.Errorf("read body of %s: %w", url, err)
	}
	return resp.StatusCode, body, nil
}

// CheckHello expects GET / to answer 200 with hello.
func CheckHello(t *testing.T, client *http.Client, base, hello string) {
	code, body, err := get(client, base+"/")
	if err != nil {
		t.Fatal(err)
	}
	if code != http.StatusOK || string(body) != hello {
		t.Fatalf("GET /: %d %q, want 200 %q", code, body, hello)
	}
}

// CheckFile expects GET /file to answer 200 with the file's bytes.
func CheckFile(t *testing.T, client *http.Client, base string, file []byte) {
	code, body, err := get(client, base+"/file")
	if err != nil {
		t.Fatal(err)
	}
	if code != http.StatusOK || !bytes.Equal(body, file) {
		t.Fatalf("GET /file: %d %q, want 200 %q", code, body, file)
	}
}

// Echo posts body to base/echo and returns what came back.
func Echo(client *http.Client, base string, body []byte) ([]byte, error) {
	resp, err := client.Post(base+"/echo", "application/octet-stream", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read echo of %d bytes: %w", len(body), err)
	}
	if resp.StatusCode != http.StatusOK {
		return got, fmt.Errorf("POST /echo of %d bytes: status %d", len(body), resp.StatusCode)
	}
	return got, nil
}

// CheckEcho expects POST /echo to return each of EchoSizes byte for byte.
func CheckEcho(t *testing.T, client *http.Client, base string) {
	for _, n := range EchoSizes {
		body := Pattern(n)
		got, err := Echo(client, base, body)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, body) {
			t.Fatalf("POST /echo of %d bytes: got %d bytes back, first difference at %d", n, len(got), firstDiff(got, body))
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// CheckErrors expects 404 for an unknown path and 405 for a known path
// with the wrong method.
func CheckErrors(t *testing.T, client *http.Client, base string) {
	if code, body, err := get(client, base+"/nope"); err != nil || code != http.StatusNotFound {
		t.Fatalf("GET /nope: %d %q %v, want 404", code, body, err)
	}
	if code, body, err := get(client, base+"/echo"); err != nil || code != http.StatusMethodNotAllowed {
		t.Fatalf("GET /echo: %d %q %v, want 405", code, body, err)
	}
}

// CheckConcurrent runs Concurrent clients at once, each with its own
// connection, each echoing its own 64 KiB.
func CheckConcurrent(t *testing.T, base string) {
	var wg sync.WaitGroup
	errs := make(chan error, Concurrent)
	for i := range Concurrent {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
			body := Pattern(64<<10 + i)
			got, err := Echo(client, base, body)
			if err == nil && !bytes.Equal(got, body) {
				err = fmt.Errorf("client %d: echo differs at byte %d", i, firstDiff(got, body))
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// CheckStalledClient holds one request half-sent and expects the server to
// answer another client meanwhile: a server that serves one connection at
// a time fails here.
func CheckStalledClient(t *testing.T, client *http.Client, base string) {
	host := strings.TrimPrefix(base, "http://")
	conn, err := net.DialTimeout("tcp", host, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := fmt.Fprintf(conn, "POST /echo HTTP/1.1\r\nHost: %s\r\nConnection: close\r\nContent-Length: 10\r\n\r\nhalf", host); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		code, body, err := get(c, base+"/")
		if err == nil && code != http.StatusOK {
			err = fmt.Errorf("GET / beside a stalled client: %d %q", code, body)
		}
		done <- err
	}()
	if err := <-done; err != nil {
		t.Fatalf("another client was not served while one was stalled: %v", err)
	}
	// The stalled request still completes once its body arrives.
	if _, err := io.WriteString(conn, "-rest!"); err != nil {
		t.Fatal(err)
	}
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	resp, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("stalled request: %v after %q", err, resp)
	}
	if !strings.HasPrefix(string(resp), "HTTP/1.1 200") || !strings.HasSuffix(string(resp), "half-rest!") {
		t.Fatalf("stalled request: got %q, want a 200 ending in the body half-rest!", resp)
	}
}
