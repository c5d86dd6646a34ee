package main

import (
	"bufio"
	"bytes"
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

const (
	hello = "hello from wasi:http\n"
	// exampleHeader is the custom header GET / answers with.
	exampleHeader = "X-Wasi-Http-Example"
	// period is the /stream pattern's: byte i is i % 251 (examples/spew).
	period = 251
)

type checker struct {
	base        string
	client      *http.Client
	echoMiB     int
	streamBytes int64
	concurrency int
}

func allChecks() []string {
	return []string{"hello", "headers", "status", "stream", "echo", "echo-large", "concurrent", "fetch", "sleep", "trap"}
}

func (c *checker) byName(name string) (func(context.Context) error, bool) {
	fn, ok := map[string]func(context.Context) error{
		"hello":      c.hello,
		"headers":    c.headers,
		"status":     c.status,
		"stream":     c.stream,
		"echo":       c.echo,
		"echo-large": c.echoLarge,
		"concurrent": c.concurrent,
		"fetch":      c.fetch,
		"sleep":      c.sleep,
		"trap":       c.trap,
	}[name]
	return fn, ok
}

// do sends one request and returns the response with its whole body.
func (c *checker) do(ctx context.Context, method, path string, hdr http.Header, body io.Reader) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, nil, fmt.Errorf("new request %s %s: %w", method, path, err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp, b, fmt.Errorf("%s %s: reading the body: %w", method, path, err)
	}
	return resp, b, nil
}

func expect(resp *http.Response, body []byte, status int) error {
	if resp.StatusCode != status {
		return fmt.Errorf("status %d, want %d (body %q)", resp.StatusCode, status, clip(body))
	}
	return nil
}

func clip(b []byte) []byte {
	if len(b) > 200 {
		return append(b[:200:200], "..."...)
	}
	return b
}

// hello: GET / answers 200, the greeting and the example's own header.
func (c *checker) hello(ctx context.Context) error {
	resp, body, err := c.do(ctx, "GET", "/", nil, nil)
	if err != nil {
		return err
	}
	if err := expect(resp, body, 200); err != nil {
		return err
	}
	if string(body) != hello {
		return fmt.Errorf("body %q, want %q", body, hello)
	}
	if resp.Header.Get(exampleHeader) == "" {
		return fmt.Errorf("no %s header in %v", exampleHeader, resp.Header)
	}
	return nil
}

// headers: GET /headers echoes the method, path with query and each header.
func (c *checker) headers(ctx context.Context) error {
	const path = "/headers?a=1&b=two"
	resp, body, err := c.do(ctx, "GET", path, http.Header{"X-Check": {"forty two"}}, nil)
	if err != nil {
		return err
	}
	if err := expect(resp, body, 200); err != nil {
		return err
	}
	first, rest, _ := strings.Cut(string(body), "\n")
	if first != "GET "+path {
		return fmt.Errorf("first line %q, want %q", first, "GET "+path)
	}
	for _, line := range strings.Split(rest, "\n") {
		if name, value, ok := strings.Cut(line, ": "); ok && strings.EqualFold(name, "x-check") && value == "forty two" {
			return nil
		}
	}
	return fmt.Errorf("no line %q in %q", "x-check: forty two", body)
}

// status: GET /status/NNN answers NNN.
func (c *checker) status(ctx context.Context) error {
	for _, code := range []int{201, 418, 503} {
		resp, body, err := c.do(ctx, "GET", fmt.Sprintf("/status/%d", code), nil, nil)
		if err != nil {
			return err
		}
		if err := expect(resp, body, code); err != nil {
			return err
		}
	}
	return nil
}

// stream: GET /stream?bytes=N is N (streamBytes) bytes of the pattern,
// compared as they arrive, so that neither side needs them whole.
func (c *checker) stream(ctx context.Context) error {
	n := c.streamBytes
	req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/stream?bytes=%d", c.base, n), nil)
	if err != nil {
		return fmt.Errorf("new request: %w", err)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("GET /stream: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d, want 200", resp.StatusCode)
	}
	got, err := compare(resp.Body, io.LimitReader(&pattern{}, n))
	if err != nil {
		return fmt.Errorf("after %d of %d bytes: %w", got, n, err)
	}
	return nil
}

// pattern is an endless reader of the /stream pattern.
type pattern struct{ off int64 }

func (p *pattern) Read(b []byte) (int, error) {
	for i := range b {
		b[i] = byte(p.off % period)
		p.off++
	}
	return len(b), nil
}

// echo: POST /echo of 1 MiB of random bytes comes back byte for byte.
func (c *checker) echo(ctx context.Context) error {
	in := make([]byte, 1<<20)
	if _, err := crand.Read(in); err != nil {
		return fmt.Errorf("random input: %w", err)
	}
	resp, body, err := c.do(ctx, "POST", "/echo", http.Header{"Content-Type": {"application/octet-stream"}}, bytes.NewReader(in))
	if err != nil {
		return err
	}
	if err := expect(resp, body, 200); err != nil {
		return err
	}
	if !bytes.Equal(body, in) {
		return fmt.Errorf("echo differs: sent %d bytes, got %d", len(in), len(body))
	}
	return nil
}

// echoLarge: POST /echo of echoMiB MiB, sent chunked from a seeded
// generator and compared as it comes back, so neither side needs it whole.
func (c *checker) echoLarge(ctx context.Context) error {
	total := int64(c.echoMiB) << 20
	seed := rand.Uint64()
	req, err := http.NewRequestWithContext(ctx, "POST", c.base+"/echo", io.LimitReader(newGen(seed), total))
	if err != nil {
		return fmt.Errorf("new request: %w", err)
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("POST /echo: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d, want 200", resp.StatusCode)
	}
	n, err := compare(resp.Body, io.LimitReader(newGen(seed), total))
	if err != nil {
		return fmt.Errorf("after %d of %d bytes: %w", n, total, err)
	}
	return nil
}

// gen is an endless reader of seeded pseudo-random bytes: byte i is a
// function of the seed and i alone, so two gens with one seed give the
// same stream however their reads are split.
type gen struct {
	seed uint64
	off  uint64
}

func newGen(seed uint64) *gen { return &gen{seed: seed} }

func (g *gen) Read(p []byte) (int, error) {
	for i := range p {
		word := splitmix64(g.seed + g.off/8)
		p[i] = byte(word >> (8 * (g.off % 8)))
		g.off++
	}
	return len(p), nil
}

// splitmix64 is the finalizer of SplitMix64: a fixed, well-mixed function.
func splitmix64(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// compare reads got and want to their ends and reports the first difference.
func compare(got, want io.Reader) (int64, error) {
	gb, wb := bufio.NewReaderSize(got, 64<<10), bufio.NewReaderSize(want, 64<<10)
	var n int64
	for {
		g, gerr := gb.ReadByte()
		w, werr := wb.ReadByte()
		switch {
		case gerr == io.EOF && werr == io.EOF:
			return n, nil
		case gerr == io.EOF:
			return n, errors.New("the echo ended early")
		case werr == io.EOF:
			return n, errors.New("the echo is longer than the request")
		case gerr != nil:
			return n, gerr
		case g != w:
			return n, fmt.Errorf("byte differs: got %d, want %d", g, w)
		}
		n++
	}
}

// concurrent: c.concurrency GET / at once all answer the greeting.
func (c *checker) concurrent(ctx context.Context) error {
	errs := make(chan error, c.concurrency)
	var wg sync.WaitGroup
	for range c.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, body, err := c.do(ctx, "GET", "/", nil, nil)
			if err == nil {
				err = expect(resp, body, 200)
			}
			if err == nil && string(body) != hello {
				err = fmt.Errorf("body %q", body)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	failed, first := 0, error(nil)
	for err := range errs {
		if err != nil {
			if first == nil {
				first = err
			}
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d failed, first: %w", failed, c.concurrency, first)
	}
	return nil
}

// fetch: GET /fetch?url=U makes the handler fetch U (an upstream on
// loopback that this check starts) and answer its body.
func (c *checker) fetch(ctx context.Context) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("upstream listen: %w", err)
	}
	const upstreamBody = "hello from the upstream\n"
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, upstreamBody)
	})}
	go srv.Serve(ln)
	defer srv.Close()
	target := "http://" + ln.Addr().String() + "/upstream"
	resp, body, err := c.do(ctx, "GET", "/fetch?url="+url.QueryEscape(target), nil, nil)
	if err != nil {
		return err
	}
	if err := expect(resp, body, 200); err != nil {
		return err
	}
	if string(body) != upstreamBody {
		return fmt.Errorf("body %q, want %q", body, upstreamBody)
	}
	return nil
}

// sleep: GET /sleep?ms=N answers `slept N ms` no sooner than N ms later,
// and an N beyond the handlers' bound (10000) is refused with 400.
func (c *checker) sleep(ctx context.Context) error {
	const ms = 300
	start := time.Now()
	resp, body, err := c.do(ctx, "GET", fmt.Sprintf("/sleep?ms=%d", ms), nil, nil)
	took := time.Since(start)
	if err != nil {
		return err
	}
	if err := expect(resp, body, 200); err != nil {
		return err
	}
	if want := fmt.Sprintf("slept %d ms\n", ms); string(body) != want {
		return fmt.Errorf("body %q, want %q", body, want)
	}
	if took < ms*time.Millisecond {
		return fmt.Errorf("answered after %v, before the %d ms it was asked to sleep", took, ms)
	}
	for _, bad := range []string{"10001", "-1", "abc", ""} {
		resp, body, err := c.do(ctx, "GET", "/sleep?ms="+bad, nil, nil)
		if err != nil {
			return err
		}
		if err := expect(resp, body, 400); err != nil {
			return fmt.Errorf("ms=%q: %w", bad, err)
		}
	}
	return nil
}

// trap: GET /trap is answered 500 (the handler traps), and the server
// still answers GET / afterwards.
func (c *checker) trap(ctx context.Context) error {
	resp, body, err := c.do(ctx, "GET", "/trap", nil, nil)
	if err != nil {
		return fmt.Errorf("no answer to a trapping handler: %w", err)
	}
	if err := expect(resp, body, 500); err != nil {
		return err
	}
	if err := c.hello(ctx); err != nil {
		return fmt.Errorf("after the trap: %w", err)
	}
	return nil
}
