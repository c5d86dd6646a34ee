package main

import (
	"bufio"
	"bytes"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// KernelResult is one compute kernel's time inside the program, median of
// the runs, natively under runc and as wasm under the shim.
type KernelResult struct {
	Kernel   string  `json:"kernel"`
	NativeMs float64 `json:"native_ms"`
	WasmMs   float64 `json:"wasm_ms"`
	Ratio    float64 `json:"wasm_over_native"`
	Runs     int     `json:"runs"`
}

// parseKernel reads the "NAME: 12.3 ms" lines of examples/kernel.
func parseKernel(out []byte) (map[string]float64, error) {
	res := map[string]float64{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ": ")
		if !ok || !strings.HasSuffix(rest, " ms") {
			continue
		}
		ms, err := strconv.ParseFloat(strings.TrimSuffix(rest, " ms"), 64)
		if err != nil {
			return nil, fmt.Errorf("kernel line %q: %w", sc.Text(), err)
		}
		res[name] = ms
	}
	if len(res) == 0 {
		return nil, fmt.Errorf("no kernel timings in %q", clip(string(out)))
	}
	return res, nil
}

// runKernel runs the kernel program runs times on each runtime,
// alternating, and reports the median time of each kernel.
func (e *env) runKernel(runs int) ([]KernelResult, error) {
	times := map[string]map[string][]float64{} // kernel -> runtime -> ms
	var order []string
	for i := 0; i < runs; i++ {
		for _, r := range []runtime{e.runc, e.wasm} {
			var out bytes.Buffer
			if _, err := e.goRun(r, "kernel", nil, &out); err != nil {
				return nil, fmt.Errorf("kernel on %s: %w", r.label, err)
			}
			got, err := parseKernel(out.Bytes())
			if err != nil {
				return nil, err
			}
			for k, ms := range got {
				if times[k] == nil {
					times[k] = map[string][]float64{}
					order = append(order, k)
				}
				times[k][r.label] = append(times[k][r.label], ms)
			}
		}
	}
	slices.Sort(order)
	var res []KernelResult
	for _, k := range order {
		kr := KernelResult{Kernel: k, NativeMs: median(times[k]["runc"]), WasmMs: median(times[k]["wasm"]), Runs: runs}
		if kr.NativeMs > 0 {
			kr.Ratio = kr.WasmMs / kr.NativeMs
		}
		res = append(res, kr)
	}
	return res, nil
}
