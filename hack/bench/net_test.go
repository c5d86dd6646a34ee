package main

import (
	"strings"
	"testing"
)

func TestParseVmRSS(t *testing.T) {
	status := "Name:\tcontainerd-shim\nVmPeak:\t  123456 kB\nVmRSS:\t   20480 kB\nRssAnon:\t 100 kB\n"
	got, err := parseVmRSS(strings.NewReader(status))
	if err != nil || got != 20480<<10 {
		t.Errorf("parseVmRSS = %d, %v; want %d", got, err, 20480<<10)
	}
	for name, bad := range map[string]string{
		"kernel thread, no VmRSS": "Name:\tkthreadd\nState:\tS\n",
		"unit is not kB":          "VmRSS:\t 12 MB\n",
		"not a number":            "VmRSS:\t 1x2 kB\n",
		"negative":                "VmRSS:\t -4 kB\n",
		"missing unit":            "VmRSS:\t 12\n",
	} {
		if v, err := parseVmRSS(strings.NewReader(bad)); err == nil {
			t.Errorf("%s: parseVmRSS(%q) = %d, want an error", name, bad, v)
		}
	}
}

func TestParseWasiCallsOutput(t *testing.T) {
	// hack/bench/wasicalls prints its time in the kernel's form.
	got, err := parseKernel([]byte("files: 1112.9 ms\n"))
	if err != nil || got["files"] != 1112.9 {
		t.Errorf("parseKernel = %v, %v", got, err)
	}
}

func TestJudgeSoak(t *testing.T) {
	mb := int64(1 << 20)
	flat := []SoakSample{
		{AtS: 0, RSSBytes: 10 * mb, Fds: 10},    // before warm-up: ignored
		{AtS: 5, RSSBytes: 40 * mb, Fds: 1010},  // ignored
		{AtS: 30, RSSBytes: 50 * mb, Fds: 1010}, // the reference
		{AtS: 35, RSSBytes: 54 * mb, Fds: 1009},
		{AtS: 40, RSSBytes: 52 * mb, Fds: 1010},
	}
	v := judgeSoak(flat, 30)
	if v.SamplesAfter != 3 || v.RSSWarmBytes != 50*mb || v.RSSMaxBytes != 54*mb || v.RSSEndBytes != 52*mb {
		t.Errorf("verdict %+v", v)
	}
	if !v.memoryFlat() || !v.fdsFlat() {
		t.Errorf("8%% growth and no fd growth must pass: %+v", v)
	}
	grow := append(flat[:3:3], SoakSample{AtS: 35, RSSBytes: 56 * mb, Fds: 1011})
	v = judgeSoak(grow, 30)
	if v.memoryFlat() || v.fdsFlat() {
		t.Errorf("12%% growth and one more fd must fail: %+v", v)
	}
	if v.RSSGrowth < 0.119 || v.RSSGrowth > 0.121 {
		t.Errorf("growth = %v, want 0.12", v.RSSGrowth)
	}
	// A server whose memory swings with its requests in flight: the first
	// sample after warm-up is a trough, the peaks fail the max rule, and
	// the medians of the first and last third (50, 52 MiB) show no drift.
	swing := []SoakSample{{AtS: 30, RSSBytes: 50 * mb}, {AtS: 35, RSSBytes: 90 * mb}, {AtS: 40, RSSBytes: 50 * mb},
		{AtS: 45, RSSBytes: 51 * mb}, {AtS: 50, RSSBytes: 92 * mb}, {AtS: 55, RSSBytes: 51 * mb},
		{AtS: 60, RSSBytes: 52 * mb}, {AtS: 65, RSSBytes: 95 * mb}, {AtS: 70, RSSBytes: 52 * mb}}
	v = judgeSoak(swing, 30)
	if v.memoryFlat() || v.RSSFirstMedianBytes != 50*mb || v.RSSLastMedianBytes != 52*mb || v.RSSMedianGrowth < 0.039 || v.RSSMedianGrowth > 0.041 {
		t.Errorf("swinging samples: %+v", v)
	}
	// One sample after warm-up proves nothing either way.
	if v := judgeSoak(flat[:3], 30); v.memoryFlat() || v.fdsFlat() {
		t.Errorf("a single sample must not pass: %+v", v)
	}
}

func TestNetGoalsAndTable(t *testing.T) {
	r := &Results{
		HTTP: []HTTPResult{
			{Runtime: "runc", Server: "native", LoadResult: LoadResult{Requests: 1000, Conns: 16, ReqPerSec: 8000, P50Ms: 1, P99Ms: 10}},
			{Runtime: "wasm", Server: "wasm", LoadResult: LoadResult{Requests: 1000, Conns: 16, ReqPerSec: 3000, P50Ms: 3, P99Ms: 12}},
		},
		WasiCalls: []WasiCallsResult{{Host: "go", Iterations: 100, Ms: 120, Runs: 3}, {Host: "wasmtime", Iterations: 100, Ms: 100, Runs: 3}},
		Soaks: []SoakResult{{Server: "go wasm", Seconds: 60, WarmupS: 12, Load: LoadResult{Requests: 5000, Conns: 1000},
			Samples: []SoakSample{{AtS: 0, RSSBytes: 1 << 20, Fds: 5}, {AtS: 15, RSSBytes: 30 << 20, Fds: 1005}, {AtS: 60, RSSBytes: 31 << 20, Fds: 1005}}}},
	}
	r.Soaks[0].Verdict = judgeSoak(r.Soaks[0].Samples, r.Soaks[0].WarmupS)
	checkGoals(t, r, map[string]bool{
		"HTTP req/s, wasm >= 0.5 x native":                      false, // 0.375x
		"WASI-call-heavy program, our host <= 1.3 x wasmtime's": true,  // 1.2x
		"soak of go wasm: no failed requests":                   true,
		"soak of go wasm: memory flat within 10% after warm-up": true,
		"soak of go wasm: no fd growth":                         true,
	})
	table := checkTable(t, r, "5. HTTP", "0.38x", "6. WASI-call-heavy", "1.20x", "8. soak: go wasm", "1000 keep-alive connections", "[NOT MET] HTTP req/s")
	if strings.Contains(table, "1. hello") {
		t.Error("the table shows the latency section of a run that did not measure it")
	}
}

// checkGoals checks that r's goals include want, each met or not as want
// says, and returns them by name.
func checkGoals(t *testing.T, r *Results, want map[string]bool) map[string]bool {
	t.Helper()
	got := map[string]bool{}
	for _, g := range r.goals() {
		got[g.Goal] = g.Met
	}
	for g, met := range want {
		if m, ok := got[g]; !ok || m != met {
			t.Errorf("goal %q: met=%v present=%v, want met=%v", g, m, ok, met)
		}
	}
	return got
}

// checkTable judges r's goals, writes its table and checks that the table
// holds each of want.
func checkTable(t *testing.T, r *Results, want ...string) string {
	t.Helper()
	r.Goals = r.goals()
	var b strings.Builder
	if err := writeTable(&b, r); err != nil {
		t.Fatal(err)
	}
	table := b.String()
	for _, s := range want {
		if !strings.Contains(table, s) {
			t.Errorf("table lacks %q:\n%s", s, table)
		}
	}
	return table
}
