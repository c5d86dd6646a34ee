package main

import "testing"

func TestParseBenchOutput(t *testing.T) {
	out := `goos: linux
goarch: amd64
pkg: github.com/containerd-shim-wasm/containerd-shim-wasm/wasmexec
cpu: AMD EPYC
BenchmarkHTTPProxyInstantiate/http-c.wasm         	     500	     41234 ns/op
BenchmarkHTTPProxyInstantiate/http-js-incoming-handler.wasm-2 	     500	   1523456 ns/op	  1024 B/op	  12 allocs/op
BenchmarkOther/x.wasm 	 10	 5 ns/op
PASS
ok  	github.com/containerd-shim-wasm/containerd-shim-wasm/wasmexec	12.3s
`
	got, err := parseBenchOutput([]byte(out), "BenchmarkHTTPProxyInstantiate")
	if err != nil {
		t.Fatal(err)
	}
	want := []InstantiateResult{{Component: "http-c", N: 500, UsPerOp: 41.234}, {Component: "http-js-incoming-handler", N: 500, UsPerOp: 1523.456}}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	for name, bad := range map[string]string{
		"no result":        "PASS\nok x 1s\n",
		"a skipped one":    "--- SKIP: BenchmarkHTTPProxyInstantiate/http-c.wasm\nPASS\n",
		"no ns/op":         "BenchmarkHTTPProxyInstantiate/http-c.wasm 500 12 B/op 3 allocs/op\n",
		"iterations wrong": "BenchmarkHTTPProxyInstantiate/http-c.wasm x 12 ns/op\n",
	} {
		if r, err := parseBenchOutput([]byte(bad), "BenchmarkHTTPProxyInstantiate"); err == nil {
			t.Errorf("%s: parsed %+v, want an error", name, r)
		}
	}
}

func TestWasiHTTPGoalsAndTable(t *testing.T) {
	r := &Results{
		Cores: 2,
		WasiHTTP: []HTTPResult{
			{Runtime: "runc", Server: "native", LoadResult: LoadResult{Requests: 1000, Conns: 50, ReqPerSec: 20000}},
			{Runtime: "wasm-js", Server: "js", LoadResult: LoadResult{Requests: 1000, Conns: 50, ReqPerSec: 4000}},
			{Runtime: "wasm-c", Server: "c", LoadResult: LoadResult{Requests: 1000, Conns: 50, ReqPerSec: 12000}},
			{Runtime: "wasm-x", Server: "failing", LoadResult: LoadResult{Requests: 1000, Conns: 50, ReqPerSec: 12000, Errors: 1, FirstError: "status 500"}},
		},
		Instantiate: []InstantiateResult{{Component: "http-c", N: 500, UsPerOp: 40}},
	}
	want := map[string]bool{
		"wasi:http wasm-js req/s per core > runwasi's 20000 / 4 cores": false, // 2,000 per core
		"wasi:http wasm-c req/s per core > runwasi's 20000 / 4 cores":  true,  // 6,000 per core
		"wasi:http wasm-x req/s per core > runwasi's 20000 / 4 cores":  false, // a failed request
	}
	if got := checkGoals(t, r, want); len(got) != len(want) {
		t.Errorf("goals %v, want %v", got, want)
	}
	checkTable(t, r, "7. wasi:http", "0.60x", "6000", "first error (wasm-x): status 500", "per-request instantiation alone", "25000", "[met] wasi:http wasm-c")
}
