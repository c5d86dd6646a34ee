package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}

// writeTable renders the results as the plain-text table of results.txt.
func writeTable(out io.Writer, r *Results) error {
	var b strings.Builder
	renderTable(&b, r)
	lines := strings.Split(b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	_, err := io.WriteString(out, strings.Join(lines, "\n"))
	return err
}

func renderTable(w io.Writer, r *Results) {
	fmt.Fprintf(w, "containerd-shim-wasm benchmark, %s\n", r.Date)
	fmt.Fprintf(w, "machine: %s; containerd %s\n", r.Machine, r.Containerd)
	fmt.Fprintf(w, "load average before: %s; after: %s\n\n", r.LoadBefore, r.LoadAfter)

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	renderLatency(w, tw, r)
	if len(r.Phases) > 0 {
		fmt.Fprintln(w, "   where a Go client run's time goes (p50 ms of each call)")
		fmt.Fprintln(tw, "variant\tNewContainer\tNewTask\t= shim start\t+ Create\tWait+Start\tto exit\tDelete")
		for _, p := range r.Phases {
			fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\n", p.Name, p.CreateMs, p.NewTaskMs, p.ShimStartMs, p.CreateRPCMs, p.StartMs, p.ExitMs, p.DeleteMs)
		}
		tw.Flush()
		fmt.Fprintln(w)
	}

	if len(r.Density) > 0 {
		fmt.Fprintln(w, "2. density: idle containers (block reading stdin)")
		fmt.Fprintln(tw, "runtime\tprogram\tcontainers\tstart all s\tPSS total MiB\tper container MiB\tx runc\tof which shim MiB\tshims\tprocesses\trunwasi")
		runc := find(r.Density, func(d DensityResult) bool { return d.Runtime == "runc" && d.Program == "idle" })
		for _, d := range r.Density {
			ref := ""
			if d.Runtime == "wasm" && d.Program == "idle" {
				ref = fmt.Sprintf("~%d MiB shim+helper", runwasiShimMiB)
			}
			shim := safeDiv(float64(d.ShimPssBytes)/(1<<20), float64(d.N))
			fmt.Fprintf(tw, "%s\t%s\t%d\t%.2f\t%.1f\t%.2f\t%s\t%.2f\t%d\t%d\t%s\n", d.Runtime, programLabel(d.Program), d.N, d.StartAllMs/1000, float64(d.PssBytes)/(1<<20), d.PerCtrMiB, ratio(safeDiv(d.PerCtrMiB, runc.PerCtrMiB)), shim, d.Shims, d.Processes, ref)
		}
		tw.Flush()
		fmt.Fprintln(w)
	}

	if len(r.Throughput) > 0 {
		fmt.Fprintln(w, "3. throughput: short tasks (hello) through the Go client")
		fmt.Fprintln(tw, "runtime\ttasks\tparallel\tseconds\ttasks/s\tx runc\terrors\trunwasi")
		runc := find(r.Throughput, func(t ThroughputResult) bool { return t.Runtime == "runc" })
		for _, t := range r.Throughput {
			ref := ""
			if t.Runtime == "wasm" {
				ref = fmt.Sprintf("~%d/s precompiled, %.1f/s plain", runwasiTasksPerSecPrecomp, runwasiTasksPerSecPlain)
			}
			name := t.Runtime
			if t.Runtime == "wasm" {
				name += " (warm cache)"
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%.1f\t%.1f\t%s\t%d\t%s\n", name, t.Tasks, t.Parallel, t.Seconds, t.TasksPerSec, ratio(safeDiv(t.TasksPerSec, runc.TasksPerSec)), t.Errors, ref)
		}
		tw.Flush()
		fmt.Fprintln(w)
	}

	if len(r.Kernel) > 0 {
		fmt.Fprintln(w, "4. compute kernels, timed inside the program (median)")
		fmt.Fprintln(tw, "kernel\tnative (runc) ms\twasm (shim) ms\twasm / native\truns")
		for _, k := range r.Kernel {
			fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.2fx\t%d\n", k.Kernel, k.NativeMs, k.WasmMs, k.Ratio, k.Runs)
		}
		tw.Flush()
		fmt.Fprintln(w)
	}

	renderNet(w, tw, r)

	if len(r.Goals) > 0 {
		fmt.Fprintln(w, "goals")
		for _, g := range r.Goals {
			mark := "NOT MET"
			if g.Met {
				mark = "met"
			}
			fmt.Fprintf(w, "  [%s] %s: %s\n", mark, g.Goal, g.Measured)
		}
		fmt.Fprintln(w)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

// programLabel names the idle programs for the table.
func programLabel(p string) string {
	switch p {
	case "idle":
		return "idle (Go)"
	case "idle-wat":
		return "idle (WAT, no Go heap)"
	}
	return p
}

func ratio(x float64) string {
	if x == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fx", x)
}

func safeDiv(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func find[T any](xs []T, f func(T) bool) T {
	for _, x := range xs {
		if f(x) {
			return x
		}
	}
	var zero T
	return zero
}

// renderNet writes the networking sections: the HTTP server side by side,
// the WASI-call-heavy program on both WASI hosts, and the soak.
func renderNet(w io.Writer, tw *tabwriter.Writer, r *Results) {
	if len(r.HTTP) > 0 {
		fmt.Fprintln(w, "5. HTTP: examples/net/go, GET / from the Go load generator on 127.0.0.1 (keep-alive, host network)")
		fmt.Fprintln(tw, "runtime\tserver\tconns\trequests\tseconds\treq/s\tx native\tp50 ms\tp99 ms\tmax ms\terrors\tdials")
		native := find(r.HTTP, func(h HTTPResult) bool { return h.Runtime == "runc" })
		for _, h := range r.HTTP {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.1f\t%.0f\t%s\t%.2f\t%.2f\t%.1f\t%d\t%d\n", h.Runtime, h.Server, h.Conns, h.Requests, h.Seconds, h.ReqPerSec, ratio(safeDiv(h.ReqPerSec, native.ReqPerSec)), h.P50Ms, h.P99Ms, h.MaxMs, h.Errors, h.Dials)
		}
		tw.Flush()
		for _, h := range r.HTTP {
			if h.FirstError != "" {
				fmt.Fprintf(w, "   first error (%s): %s\n", h.Runtime, h.FirstError)
			}
		}
		fmt.Fprintln(w)
	}
	if len(r.WasiCalls) > 0 {
		fmt.Fprintln(w, "6. WASI-call-heavy program (create, write, close, open, read, stat, close small files), timed inside the module (median)")
		fmt.Fprintln(tw, "WASI host\titerations\tms\tus/iteration\tx wasmtime\truns\terrors")
		wt := find(r.WasiCalls, func(x WasiCallsResult) bool { return x.Host == "wasmtime" })
		for _, x := range r.WasiCalls {
			name := x.Host
			if x.Host == "go" {
				name = "go (the shim's, default)"
			} else if x.Host == "wasmtime" {
				name = "wasmtime (annotation)"
			}
			fmt.Fprintf(tw, "%s\t%d\t%.1f\t%.1f\t%s\t%d\t%d\n", name, x.Iterations, x.Ms, x.UsPerIter, ratio(safeDiv(x.Ms, wt.Ms)), x.Runs, x.Errors)
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	renderWasiHTTP(w, tw, r)
	for _, s := range r.Soaks {
		l := s.Load
		fmt.Fprintf(w, "8. soak: %s, %d keep-alive connections for %.0f s, one request per connection every %.0f ms\n", s.Server, l.Conns, s.Seconds, s.ThinkMs)
		fmt.Fprintf(w, "   %d requests (%.0f req/s), %d failed, %d connections opened; p50 %.2f ms, p99 %.2f ms, max %.1f ms\n", l.Requests, l.ReqPerSec, l.Errors, l.Dials, l.P50Ms, l.P99Ms, l.MaxMs)
		if l.FirstError != "" {
			fmt.Fprintf(w, "   first error: %s\n", l.FirstError)
		}
		fmt.Fprintf(w, "   task process %d (%s), %d samples, warm-up %.0f s\n", s.Pid, s.Comm, len(s.Samples), s.WarmupS)
		if s.SampleErr != "" {
			fmt.Fprintf(w, "   sampling stopped: %s\n", s.SampleErr)
		}
		fmt.Fprintln(tw, "   at s\tRSS MiB\tfds")
		for i, x := range s.Samples {
			// Every sample would be hundreds of lines in a long soak.
			if len(s.Samples) > 24 && i%(len(s.Samples)/12) != 0 && i != len(s.Samples)-1 {
				continue
			}
			fmt.Fprintf(tw, "   %.0f\t%.1f\t%d\n", x.AtS, mib(x.RSSBytes), x.Fds)
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
}

// renderWasiHTTP writes section 7: the wasi:http handlers beside the
// native server, and the per-request instantiation alone.
func renderWasiHTTP(w io.Writer, tw *tabwriter.Writer, r *Results) {
	if len(r.WasiHTTP) > 0 {
		fmt.Fprintln(w, "7. wasi:http: GET / from the Go load generator on 127.0.0.1 (keep-alive, host network), the shim serving each component")
		fmt.Fprintln(tw, "server\twhat\tconns\trequests\tseconds\treq/s\tper core\tx native\tp50 ms\tp99 ms\tmax ms\terrors\tdials")
		native := find(r.WasiHTTP, func(h HTTPResult) bool { return h.Runtime == "runc" })
		cores := float64(max(1, r.Cores))
		for _, h := range r.WasiHTTP {
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.1f\t%.0f\t%.0f\t%s\t%.2f\t%.2f\t%.1f\t%d\t%d\n", h.Runtime, h.Server, h.Conns, h.Requests, h.Seconds, h.ReqPerSec, h.ReqPerSec/cores, ratio(safeDiv(h.ReqPerSec, native.ReqPerSec)), h.P50Ms, h.P99Ms, h.MaxMs, h.Errors, h.Dials)
		}
		tw.Flush()
		for _, h := range r.WasiHTTP {
			if h.FirstError != "" {
				fmt.Fprintf(w, "   first error (%s): %s\n", h.Runtime, h.FirstError)
			}
		}
		fmt.Fprintf(w, "   runwasi's wasmtime shim (published): %d-%d req/s, hey with 50 connections, 4-core CI runners: %d per core\n",
			16000, runwasiWasiHTTPReqPerSec, runwasiWasiHTTPReqPerSec/runwasiWasiHTTPCores)
	}
	if len(r.Instantiate) > 0 {
		fmt.Fprintln(w, "   per-request instantiation alone (the served linker, one thread, no request)")
		fmt.Fprintln(tw, "   component\tinstances\tus/instance\tinstances/s")
		for _, x := range r.Instantiate {
			fmt.Fprintf(tw, "   %s\t%d\t%.1f\t%.0f\n", x.Component, x.N, x.UsPerOp, safeDiv(1e6, x.UsPerOp))
		}
		tw.Flush()
	}
	if len(r.WasiHTTP) > 0 || len(r.Instantiate) > 0 {
		fmt.Fprintln(w)
	}
}

// renderLatency writes section 1, if the run measured it.
func renderLatency(w io.Writer, tw *tabwriter.Writer, r *Results) {
	if len(r.Latency) == 0 {
		return
	}
	fmt.Fprintf(w, "1. hello, start to exit (%d runs each, interleaved)\n", r.Runs)
	fmt.Fprintln(tw, "variant\tp50 ms\tp95 ms\tmin ms\tx runc p50\truns\terrors\trunwasi")
	for _, l := range r.Latency {
		ref := ""
		switch {
		case l.Path == "ctr" && containsFold(l.Name, "warm"):
			ref = fmt.Sprintf("~%d ms (precompiled)", runwasiCtrRunPrecompiledMs)
		case l.Path == "ctr" && containsFold(l.Name, "cold"):
			ref = fmt.Sprintf("~%d ms (plain)", runwasiCtrRunPlainMs)
		}
		fmt.Fprintf(tw, "%s\t%.1f\t%.1f\t%.1f\t%s\t%d\t%d\t%s\n", l.Name, l.Summary.P50, l.Summary.P95, l.Summary.Min, ratio(l.RatioP50), l.Summary.N, l.Errors, ref)
	}
	tw.Flush()
	fmt.Fprintf(w, "compile alone (wasmexec, no cache) p50: %.1f ms; cache load (warm floor) p50: %.1f ms\n", r.CompileMs, r.LoadMs)
	if r.ShimLoadMs > 0 {
		fmt.Fprintf(w, "cache load in the task child, from the shims' log (warm runs, 1 ms resolution) p50: %.0f ms\n", r.ShimLoadMs)
	}
	if len(r.Exec) > 0 {
		fmt.Fprintln(w, "   exec of each binary alone (fork+exec+exit of `BINARY -v`, p50 ms): the floor under every shim start")
		for _, x := range r.Exec {
			fmt.Fprintf(tw, "%s\t%.1f\n", x.Name, x.P50)
		}
		tw.Flush()
	}
	fmt.Fprintln(w)
}
