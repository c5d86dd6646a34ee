package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/wasmexec"
)

// variant is one way to start hello; run returns its start-to-exit time.
type variant struct {
	name    string
	runtime string // "runc", "wasm" or "" for the in-process floor
	path    string // "ctr", "go" or "in-process"
	prepare func() error
	run     func() (time.Duration, error)
	samples []time.Duration
	phases  []phases
	errors  int
}

const helloOutput = "Hello from WebAssembly!"

// latencyVariants lists the variants in the order of the table.
func (e *env) latencyVariants(floorCache string) []*variant {
	wipe := func() error { return e.shimCache("wipe") }
	var vs []*variant
	for _, v := range []struct {
		name string
		r    runtime
		prep func() error
	}{{"runc native", e.runc, nil}, {"wasm cold cache", e.wasm, wipe}, {"wasm warm cache", e.wasm, nil}} {
		r := v.r
		vs = append(vs, &variant{name: v.name + ", ctr run --rm", runtime: r.label, path: "ctr", prepare: v.prep,
			run: func() (time.Duration, error) { return e.ctrRun(r, "hello", helloOutput) }})
		gv := &variant{name: v.name + ", Go client", runtime: r.label, path: "go", prepare: v.prep}
		gv.run = func() (time.Duration, error) {
			var out bytes.Buffer
			ph, err := e.goRun(r, "hello", nil, &out)
			if err == nil && !strings.Contains(out.String(), helloOutput) {
				err = fmt.Errorf("output %q", clip(out.String()))
			}
			if err == nil {
				gv.phases = append(gv.phases, ph)
			}
			return ph.total(), err
		}
		vs = append(vs, gv)
	}
	module := e.a.wasmModule("hello")
	vs = append(vs,
		&variant{name: "floor: wasmtime-go in-process, no cache", path: "in-process",
			run: func() (time.Duration, error) {
				d, st, err := floorRun(module, "")
				if err == nil {
					e.compiles = append(e.compiles, st.Compile)
				}
				return d, err
			}},
		&variant{name: "floor: wasmtime-go in-process, empty cache", path: "in-process",
			prepare: func() error { return wipeDir(floorCache) },
			run: func() (time.Duration, error) {
				d, _, err := floorRun(module, floorCache)
				return d, err
			}},
		&variant{name: "floor: wasmtime-go in-process, warm cache", path: "in-process",
			run: func() (time.Duration, error) {
				d, st, err := floorRun(module, floorCache)
				if err == nil {
					e.loads = append(e.loads, st.Load)
				}
				return d, err
			}},
	)
	return vs
}

// runLatency runs every variant n times, round-robin: one run of each per
// round, the starting variant rotating from round to round, so drift in
// the machine's load spreads over all of them.
func runLatency(vs []*variant, n int, progress func(string)) {
	for i := 0; i < n; i++ {
		for j := range vs {
			v := vs[(i+j)%len(vs)]
			if v.prepare != nil {
				if err := v.prepare(); err != nil {
					progress(fmt.Sprintf("%s: prepare: %v", v.name, err))
					v.errors++
					continue
				}
			}
			d, err := v.run()
			if err != nil {
				progress(fmt.Sprintf("%s: %v", v.name, err))
				v.errors++
				continue
			}
			v.samples = append(v.samples, d)
		}
		progress(fmt.Sprintf("latency round %d/%d", i+1, n))
	}
}

// shimCache runs `containerd-shim-wasm-v1 cache CMD` on the daemon's cache.
func (e *env) shimCache(args ...string) error {
	shim := e.a.repo + "/bin/containerd-shim-wasm-v1"
	cmd := exec.Command(shim, append([]string{"cache", "-dir", e.d.CacheDir}, args...)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("cache %v: %v: %s", args, err, b)
	}
	return nil
}

// wipeDir empties a compile cache in this process.
func wipeDir(dir string) error {
	c, err := wasmexec.OpenCache(dir, 0)
	if err != nil {
		return err
	}
	return c.Wipe()
}

// floorRun prepares and runs the module in this process, as a task child
// does, with fd 1 pointed at /dev/null for the run. cacheDir "" compiles.
func floorRun(module, cacheDir string) (time.Duration, wasmexec.Stats, error) {
	restore, err := silenceStdout()
	if err != nil {
		return 0, wasmexec.Stats{}, err
	}
	defer restore()
	start := time.Now()
	prog, err := wasmexec.Prepare(wasmexec.Config{ModulePath: module, Args: []string{"/hello.wasm"}, CacheDir: cacheDir})
	if err != nil {
		return 0, wasmexec.Stats{}, err
	}
	if st := prog.Run(os.Stderr); st != 0 {
		return 0, prog.Stats(), fmt.Errorf("exit status %d", st)
	}
	return time.Since(start), prog.Stats(), nil
}

func silenceStdout() (restore func(), err error) {
	null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	saved, err := syscall.Dup(1)
	if err != nil {
		null.Close()
		return nil, err
	}
	if err := syscall.Dup2(int(null.Fd()), 1); err != nil {
		null.Close()
		syscall.Close(saved)
		return nil, err
	}
	null.Close()
	return func() {
		_ = syscall.Dup2(saved, 1)
		syscall.Close(saved)
	}, nil
}

// execCost times `BINARY -v` (or --version), the cost of starting the
// process at all, runs times each, interleaved.
func execCost(bins [][]string, runs int) []ExecResult {
	samples := make([][]time.Duration, len(bins))
	for i := 0; i < runs; i++ {
		for j, b := range bins {
			start := time.Now()
			if err := exec.Command(b[0], b[1:]...).Run(); err != nil {
				continue
			}
			samples[j] = append(samples[j], time.Since(start))
		}
	}
	out := make([]ExecResult, len(bins))
	for j, b := range bins {
		out[j] = ExecResult{Name: strings.Join(append([]string{filepath.Base(b[0])}, b[1:]...), " "), P50: summarize(samples[j]).P50}
	}
	return out
}

// connectTimes reads when containerd connected to each task's shim, that
// is when the shim's `start` returned its address: the daemon's
// `time="..." level=info msg="connecting to shim ID"` lines.
func connectTimes(log []byte) map[string]time.Time {
	out := map[string]time.Time{}
	for _, line := range strings.Split(string(log), "\n") {
		_, rest, ok := strings.Cut(line, `msg="connecting to shim `)
		if !ok || !strings.HasPrefix(line, `time="`) {
			continue
		}
		id, _, _ := strings.Cut(rest, `"`)
		ts, _, _ := strings.Cut(strings.TrimPrefix(line, `time="`), `"`)
		if t, err := time.Parse(time.RFC3339Nano, ts); err == nil {
			out[id] = t
		}
	}
	return out
}

// loadTimes reads the cache load times of the shims' "ready: cache hit
// (compile 0s, load 3ms)" log lines.
func loadTimes(log []byte) []time.Duration {
	var out []time.Duration
	for _, line := range strings.Split(string(log), "\n") {
		_, rest, ok := strings.Cut(line, "ready: cache hit (")
		if !ok {
			continue
		}
		_, rest, ok = strings.Cut(rest, "load ")
		if !ok {
			continue
		}
		end := strings.IndexByte(rest, ')')
		if end < 0 {
			continue
		}
		if d, err := time.ParseDuration(rest[:end]); err == nil {
			out = append(out, d)
		}
	}
	return out
}
