package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// wasiHTTPHello is what the wasi:http examples answer on GET /.
const wasiHTTPHello = "hello from wasi:http\n"

// The wasi:http components the benchmark serves, from bin/examples/http
// (make http-examples), by their name in the wasm image.
var wasiHTTPComponents = []string{"http-js-incoming-handler", "http-c"}

// runwasi's wasmtime shim serves a wasi:http hello at 16,000 to 20,000
// requests/s with hey over 50 connections on 4-core CI runners (issue 15);
// the goal is to beat that per core, so the top of the range.
const (
	runwasiWasiHTTPReqPerSec = 20000
	runwasiWasiHTTPCores     = 4
)

// httpComponent is where make http-examples leaves a component.
func (a assets) httpComponent(name string) string {
	return filepath.Join(a.repo, "bin", "examples", "http", name+".wasm")
}

// wasiHTTPServers are the JavaScript and the C handler served by the shim
// (one component instance per request) and, as the yardstick, the native
// Go net/http server of examples/net/go under runc.
func (e *env) wasiHTTPServers() []httpServer {
	return []httpServer{
		{label: "runc", server: "examples/net/go, native net/http (fdlisten)", rt: e.runc, prog: "go-server", body: helloBody},
		{label: "wasm-js", server: "http-js-incoming-handler (componentize-js), an instance per request", rt: e.wasm, prog: "http-js-incoming-handler", proxy: true, body: wasiHTTPHello},
		{label: "wasm-c", server: "http-c (C, no libc), an instance per request", rt: e.wasm, prog: "http-c", proxy: true, body: wasiHTTPHello},
		{label: "wasm-c-bare", server: "http-c GET /hello: no log line, as the anchor's hello", rt: e.wasm, prog: "http-c", proxy: true, body: wasiHTTPHello, path: "/hello"},
	}
}

// jsHandler is the server the wasi:http soak runs.
func (e *env) jsHandler() httpServer { return e.wasiHTTPServers()[1] }

// runWasiHTTP loads the wasi:http handlers and the native server side by
// side, as runHTTP does the networking example.
func (e *env) runWasiHTTP(conns, requests, rounds int, limit time.Duration, progress func(string)) ([]HTTPResult, error) {
	return e.loadServers("wasihttp", e.wasiHTTPServers(), conns, requests, rounds, limit, progress)
}

// InstantiateResult is the per-request instantiation of one component
// alone: an instance made on the linker the server uses, then closed, one
// thread, no request.
type InstantiateResult struct {
	Component string  `json:"component"`
	N         int     `json:"n"`
	UsPerOp   float64 `json:"us_per_instance"`
}

// instantiateBenchmark is wasmexec's benchmark of that cost
// (wasihttp_instantiate_bench_test.go): a sub-benchmark per component.
const instantiateBenchmark = "BenchmarkHTTPProxyInstantiate"

// runInstantiate runs instantiateBenchmark n times per component on one
// thread (go test -cpu 1) and reads its ns/op.
func (e *env) runInstantiate(n int) ([]InstantiateResult, error) {
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", "^"+instantiateBenchmark+"$",
		"-benchtime", fmt.Sprintf("%dx", n), "-cpu", "1", "-count", "1", "./wasmexec/")
	cmd.Dir = e.a.repo
	// Skipping a component that is not built would leave a row out
	// unnoticed.
	cmd.Env = append(os.Environ(), "E2E_REQUIRE_TOOLCHAINS=1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go test -bench %s ./wasmexec/: %v\n%s", instantiateBenchmark, err, clip(out.String()))
	}
	res, err := parseBenchOutput(out.Bytes(), instantiateBenchmark)
	if err != nil {
		return nil, fmt.Errorf("go test -bench %s: %w\n%s", instantiateBenchmark, err, clip(out.String()))
	}
	return res, nil
}

// parseBenchOutput reads `go test -bench` lines of the sub-benchmarks of
// name: "name/SUB[-P]  N  X ns/op ...".
func parseBenchOutput(out []byte, name string) ([]InstantiateResult, error) {
	var res []InstantiateResult
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 {
			continue
		}
		sub, ok := strings.CutPrefix(f[0], name+"/")
		if !ok {
			continue
		}
		// -P is GOMAXPROCS when it is not 1.
		if i := strings.LastIndexByte(sub, '-'); i > 0 {
			if _, err := strconv.Atoi(sub[i+1:]); err == nil {
				sub = sub[:i]
			}
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			return nil, fmt.Errorf("line %q: iterations: %w", sc.Text(), err)
		}
		ns := -1.0
		for i := 3; i < len(f); i++ {
			if f[i] == "ns/op" {
				if ns, err = strconv.ParseFloat(f[i-1], 64); err != nil {
					return nil, fmt.Errorf("line %q: ns/op: %w", sc.Text(), err)
				}
			}
		}
		if ns < 0 {
			return nil, fmt.Errorf("line %q has no ns/op", sc.Text())
		}
		res = append(res, InstantiateResult{Component: strings.TrimSuffix(sub, ".wasm"), N: n, UsPerOp: ns / 1000})
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("no %s/... result", name)
	}
	return res, nil
}

// wasiHTTPGoals: each handler's requests/s per core against runwasi's
// anchor per core, with no failed request.
func (r *Results) wasiHTTPGoals() []Goal {
	var gs []Goal
	cores := max(1, r.Cores)
	anchor := float64(runwasiWasiHTTPReqPerSec) / runwasiWasiHTTPCores
	for _, h := range r.WasiHTTP {
		if h.Runtime == "runc" || h.Requests == 0 {
			continue
		}
		per := h.ReqPerSec / float64(cores)
		gs = append(gs, Goal{Goal: fmt.Sprintf("wasi:http %s req/s per core > runwasi's %d / %d cores", h.Runtime, runwasiWasiHTTPReqPerSec, runwasiWasiHTTPCores),
			Measured: fmt.Sprintf("%.0f req/s on %d cores = %.0f per core vs %.0f (%.2fx), %d failed; the load generator shares the cores", h.ReqPerSec, cores, per, anchor, per/anchor, h.Errors),
			Met:      per > anchor && h.Errors == 0})
	}
	return gs
}
