package main

import (
	"encoding/xml"
	"io"
	"strconv"
	"strings"
	"testing"
)

func sampleResults() *Results {
	r := &Results{
		Date: "2026-11-24T17:00:00Z", Machine: "2 CPUs", LoadBefore: "1.0 1.0 1.0", LoadAfter: "2.0 1.5 1.0", Containerd: "2.4.2", Runs: 30,
		Latency: []LatencyResult{
			{Name: "runc native, ctr run --rm", Runtime: "runc", Path: "ctr", Summary: Summary{N: 30, P50: 200, P95: 300}},
			{Name: "wasm cold cache, ctr run --rm", Runtime: "wasm", Path: "ctr", Summary: Summary{N: 30, P50: 1200, P95: 1500}},
			{Name: "wasm warm cache, ctr run --rm", Runtime: "wasm", Path: "ctr", Summary: Summary{N: 30, P50: 150, P95: 250}},
			{Name: "floor <&>", Path: "in-process", Summary: Summary{N: 30, P50: 9, P95: 12}},
		},
		CompileMs: 900,
		Density: []DensityResult{
			{Runtime: "runc", Program: "idle", N: 50, PssBytes: 500 << 20, PerCtrMiB: 10},
			{Runtime: "wasm", Program: "idle", N: 50, PssBytes: 750 << 20, PerCtrMiB: 15},
			{Runtime: "wasm", Program: "idle-wat", N: 50, PssBytes: 400 << 20, PerCtrMiB: 8},
		},
		Throughput: []ThroughputResult{{Runtime: "runc", Tasks: 1000, Parallel: 4, Seconds: 50, TasksPerSec: 20}, {Runtime: "wasm", Tasks: 1000, Parallel: 4, Seconds: 25, TasksPerSec: 40}},
		Kernel:     []KernelResult{{Kernel: "sort", NativeMs: 100, WasmMs: 150, Ratio: 1.5, Runs: 3}},
	}
	for i := range r.Latency {
		if r.Latency[i].Path == "ctr" {
			r.Latency[i].RatioP50 = r.Latency[i].Summary.P50 / 200
		}
	}
	r.Goals = r.goals()
	return r
}

func TestGoals(t *testing.T) {
	got := map[string]bool{}
	for _, g := range sampleResults().Goals {
		got[g.Goal] = g.Met
	}
	want := map[string]bool{
		"warm p50 <= runc p50 (ctr)":                   true,  // 150 <= 200
		"idle memory per container <= runc's":          false, // 15 > 10
		"cold p50 <= 1.2 x (compile + warm p50) (ctr)": true,  // 1200 <= 1.2 * 1050
	}
	if len(got) != len(want) {
		t.Errorf("goals %v, want %v", got, want)
	}
	for k, v := range want {
		if met, ok := got[k]; !ok || met != v {
			t.Errorf("goal %q: met=%v present=%v, want met=%v", k, met, ok, v)
		}
	}
}

func TestWriteTable(t *testing.T) {
	var b strings.Builder
	if err := writeTable(&b, sampleResults()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"load average before: 1.0 1.0 1.0; after: 2.0 1.5 1.0",
		"wasm warm cache, ctr run --rm",
		"0.75x",                // warm over runc
		"~82 ms (precompiled)", // runwasi's figure beside ours
		"~143 ms (plain)",
		"1.50x",             // memory ratio and kernel ratio
		"wasm (warm cache)", // throughput label
		"2.00x",             // throughput ratio
		"[met] warm p50 <= runc p50 (ctr)",
		"[NOT MET] idle memory per container",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasSuffix(l, " ") {
			t.Errorf("trailing space in %q", l)
		}
	}
}

func TestWriteSVG(t *testing.T) {
	var b strings.Builder
	if err := writeSVG(&b, "title & more", plotPanels(sampleResults())); err != nil {
		t.Fatal(err)
	}
	svg := b.String()
	// Well-formed XML, with the labels escaped.
	dec := xml.NewDecoder(strings.NewReader(svg))
	var texts []string
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, svg)
		}
		if cd, ok := tok.(xml.CharData); ok && strings.TrimSpace(string(cd)) != "" {
			texts = append(texts, string(cd))
		}
	}
	joined := strings.Join(texts, "|")
	for _, want := range []string{"title & more", "floor <&>", "wasm warm cache, ctr run --rm", "1200 ms", "15.0 MiB per container", "wasm, idle (WAT, no Go heap)", "40.0 tasks/s", "sort, wasm"} {
		if !strings.Contains(joined, want) {
			t.Errorf("svg text lacks %q: %s", want, joined)
		}
	}
	// 4 latency + 3 density + 2 throughput + 2 kernel bars, plus the background.
	if n := strings.Count(svg, "<rect "); n != 12 {
		t.Errorf("%d rects, want 12", n)
	}
}

func TestSVGScalesToLongestBar(t *testing.T) {
	var b strings.Builder
	_ = writeSVG(&b, "t", []panel{{Title: "p", Unit: "ms", Bars: []bar{{Label: "a", Value: 50, Whisker: 100}, {Label: "b", Value: 100}}}})
	full := svgWidth - labelWidth - 90
	if !strings.Contains(b.String(), `width="`+strconv.Itoa(full)+`.0"`) {
		t.Errorf("the longest bar is not %d wide:\n%s", full, b.String())
	}
}
