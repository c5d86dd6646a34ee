package main

import (
	"fmt"
	"time"
)

// Results is everything one run measured; results.json is this, and the
// table and plot render it.
type Results struct {
	Date       string             `json:"date"`
	Machine    string             `json:"machine"`
	Cores      int                `json:"cores"`
	LoadBefore string             `json:"load_before"`
	LoadAfter  string             `json:"load_after"`
	Containerd string             `json:"containerd"`
	Runs       int                `json:"runs"`
	Latency    []LatencyResult    `json:"latency"`
	Phases     []PhaseResult      `json:"phases"`
	CompileMs  float64            `json:"compile_p50_ms"`
	LoadMs     float64            `json:"cache_load_p50_ms"`
	ShimLoadMs float64            `json:"shim_cache_load_p50_ms"`
	Exec       []ExecResult       `json:"exec"`
	Density    []DensityResult    `json:"density"`
	Throughput []ThroughputResult `json:"throughput"`
	Kernel     []KernelResult     `json:"kernel"`
	HTTP       []HTTPResult       `json:"http"`
	WasiCalls  []WasiCallsResult  `json:"wasi_calls"`
	WasiHTTP   []HTTPResult       `json:"wasi_http"`
	// Instantiate is the per-request instantiation alone of each wasi:http
	// component.
	Instantiate []InstantiateResult `json:"wasi_http_instantiate"`
	Soaks       []SoakResult        `json:"soaks,omitempty"`
	Goals       []Goal              `json:"goals"`
	Notes       []string            `json:"notes"`
}

// LatencyResult is one variant of the hello start-to-exit test.
type LatencyResult struct {
	Name    string  `json:"name"`
	Runtime string  `json:"runtime"`
	Path    string  `json:"path"`
	Summary Summary `json:"summary"`
	// RatioP50 is p50 over runc's p50 by the same path (0: no runc twin).
	RatioP50 float64 `json:"ratio_to_runc_p50"`
	Errors   int     `json:"errors"`
}

// PhaseResult is the median of each Go client call of one variant.
type PhaseResult struct {
	Name                                           string
	CreateMs, NewTaskMs, StartMs, ExitMs, DeleteMs float64
	// NewTask split at containerd's "connecting to shim" log line: the
	// shim binary's start/bootstrap, then the Create call (0: no log line).
	ShimStartMs, CreateRPCMs float64
}

// ExecResult is the time to fork, exec and reap one binary.
type ExecResult struct {
	Name string  `json:"name"`
	P50  float64 `json:"p50_ms"`
}

// Goal is one of the targets and where we stand.
type Goal struct {
	Goal     string `json:"goal"`
	Measured string `json:"measured"`
	Met      bool   `json:"met"`
}

// Reference figures runwasi published (issue 5), for the table.
const (
	runwasiCtrRunPrecompiledMs = 82
	runwasiCtrRunPlainMs       = 143
	runwasiTasksPerSecPrecomp  = 60
	runwasiTasksPerSecPlain    = 14.5
	runwasiShimMiB             = 20
)

func latencyResults(vs []*variant) []LatencyResult {
	runcP50 := map[string]float64{}
	var out []LatencyResult
	for _, v := range vs {
		r := LatencyResult{Name: v.name, Runtime: v.runtime, Path: v.path, Summary: summarize(v.samples), Errors: v.errors}
		if v.runtime == "runc" {
			runcP50[v.path] = r.Summary.P50
		}
		out = append(out, r)
	}
	for i, r := range out {
		if base := runcP50[r.Path]; base > 0 {
			out[i].RatioP50 = r.Summary.P50 / base
		}
	}
	return out
}

func phaseResults(vs []*variant, connected map[string]time.Time) []PhaseResult {
	var out []PhaseResult
	for _, v := range vs {
		if len(v.phases) == 0 {
			continue
		}
		col := func(f func(phases) time.Duration) float64 {
			var ds []time.Duration
			for _, p := range v.phases {
				ds = append(ds, f(p))
			}
			return summarize(ds).P50
		}
		out = append(out, PhaseResult{Name: v.name,
			CreateMs:  col(func(p phases) time.Duration { return p.Create }),
			NewTaskMs: col(func(p phases) time.Duration { return p.NewTask }),
			StartMs:   col(func(p phases) time.Duration { return p.Start }),
			ExitMs:    col(func(p phases) time.Duration { return p.Exit }),
			DeleteMs:  col(func(p phases) time.Duration { return p.Delete }),
		})
		var shim, create []time.Duration
		for _, p := range v.phases {
			if at, ok := connected[p.id]; ok && !p.newTaskAt.IsZero() {
				s := at.Sub(p.newTaskAt)
				shim, create = append(shim, s), append(create, p.NewTask-s)
			}
		}
		out[len(out)-1].ShimStartMs, out[len(out)-1].CreateRPCMs = summarize(shim).P50, summarize(create).P50
	}
	return out
}

func (r *Results) find(runtime, path, contains string) (LatencyResult, bool) {
	for _, l := range r.Latency {
		if l.Runtime == runtime && l.Path == path && containsFold(l.Name, contains) {
			return l, true
		}
	}
	return LatencyResult{}, false
}

// goals checks the three targets against the numbers.
func (r *Results) goals() []Goal {
	var gs []Goal
	for _, path := range []string{"ctr", "go"} {
		warm, ok1 := r.find("wasm", path, "warm")
		runc, ok2 := r.find("runc", path, "")
		if ok1 && ok2 {
			gs = append(gs, Goal{Goal: "warm p50 <= runc p50 (" + path + ")",
				Measured: fmt.Sprintf("%.1f ms vs %.1f ms (%.2fx)", warm.Summary.P50, runc.Summary.P50, warm.RatioP50),
				Met:      warm.Summary.P50 <= runc.Summary.P50})
		}
	}
	var wasmMiB, runcMiB float64
	for _, d := range r.Density {
		if d.Program != "idle" {
			continue
		}
		switch d.Runtime {
		case "wasm":
			wasmMiB = d.PerCtrMiB
		case "runc":
			runcMiB = d.PerCtrMiB
		}
	}
	if wasmMiB > 0 && runcMiB > 0 {
		gs = append(gs, Goal{Goal: "idle memory per container <= runc's",
			Measured: fmt.Sprintf("%.2f MiB vs %.2f MiB (%.2fx)", wasmMiB, runcMiB, wasmMiB/runcMiB),
			Met:      wasmMiB <= runcMiB})
	}
	for _, path := range []string{"ctr", "go"} {
		cold, ok1 := r.find("wasm", path, "cold")
		warm, ok2 := r.find("wasm", path, "warm")
		if ok1 && ok2 && r.CompileMs > 0 {
			bound := 1.2 * (r.CompileMs + warm.Summary.P50)
			gs = append(gs, Goal{Goal: "cold p50 <= 1.2 x (compile + warm p50) (" + path + ")",
				Measured: fmt.Sprintf("%.1f ms vs 1.2 x (%.1f + %.1f) = %.1f ms (%.2fx of compile + warm)", cold.Summary.P50, r.CompileMs, warm.Summary.P50, bound, cold.Summary.P50/(r.CompileMs+warm.Summary.P50)),
				Met:      cold.Summary.P50 <= bound})
		}
	}
	gs = append(gs, r.netGoals()...)
	return append(gs, r.wasiHTTPGoals()...)
}

// netGoals checks the networking issue's targets: the wasm server's
// throughput at least half the native one's, our WASI host within 1.3x of
// wasmtime's on the WASI-call-heavy program, and a soak without failures,
// memory flat within 10% after warm-up and no fd growth.
func (r *Results) netGoals() []Goal {
	var gs []Goal
	native := find(r.HTTP, func(h HTTPResult) bool { return h.Runtime == "runc" })
	wasm := find(r.HTTP, func(h HTTPResult) bool { return h.Runtime == "wasm" })
	if native.ReqPerSec > 0 && wasm.Requests > 0 {
		x := wasm.ReqPerSec / native.ReqPerSec
		gs = append(gs, Goal{Goal: "HTTP req/s, wasm >= 0.5 x native",
			Measured: fmt.Sprintf("%.0f vs %.0f req/s (%.2fx)", wasm.ReqPerSec, native.ReqPerSec, x),
			Met:      x >= 0.5 && wasm.Errors == 0})
	}
	ours := find(r.WasiCalls, func(w WasiCallsResult) bool { return w.Host == "go" })
	wt := find(r.WasiCalls, func(w WasiCallsResult) bool { return w.Host == "wasmtime" })
	if ours.Ms > 0 && wt.Ms > 0 {
		x := ours.Ms / wt.Ms
		gs = append(gs, Goal{Goal: "WASI-call-heavy program, our host <= 1.3 x wasmtime's",
			Measured: fmt.Sprintf("%.1f vs %.1f ms (%.2fx)", ours.Ms, wt.Ms, x), Met: x <= 1.3})
	}
	for _, s := range r.Soaks {
		v := s.Verdict
		gs = append(gs,
			Goal{Goal: "soak of " + s.Server + ": no failed requests",
				Measured: fmt.Sprintf("%d failed of %d over %.0f s", s.Load.Errors, s.Load.Requests+s.Load.Errors, s.Seconds),
				Met:      s.Load.Errors == 0 && s.Load.Requests > 0},
			Goal{Goal: "soak of " + s.Server + ": memory flat within 10% after warm-up",
				Measured: fmt.Sprintf("RSS %.1f MiB at %.0f s, max %.1f, end %.1f MiB (+%.1f%%, %d samples); median of the first / last third %.1f / %.1f MiB (%+.1f%%)", mib(v.RSSWarmBytes), s.WarmupS, mib(v.RSSMaxBytes), mib(v.RSSEndBytes), 100*v.RSSGrowth, v.SamplesAfter, mib(v.RSSFirstMedianBytes), mib(v.RSSLastMedianBytes), 100*v.RSSMedianGrowth),
				Met:      v.memoryFlat()},
			Goal{Goal: "soak of " + s.Server + ": no fd growth",
				Measured: fmt.Sprintf("%d fds at %.0f s, max %d, end %d", v.FdsWarm, s.WarmupS, v.FdsMax, v.FdsEnd),
				Met:      v.fdsFlat()})
	}
	return gs
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }
