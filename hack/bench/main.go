// Command bench measures the shim side by side with runc, through a private
// containerd that it starts and stops itself (`make bench`):
//
//  1. start-to-exit latency of hello (ctr run --rm and the Go client) for
//     runc with a native static binary, the shim with an empty and a warm
//     compile cache, and the floor: wasmtime-go in this process;
//  2. density: idle containers, PSS per container and time to start all;
//  3. throughput: short tasks, a few at a time;
//  4. a compute kernel, native against wasm;
//  5. HTTP: examples/net/go native and as wasm; 6. a WASI-call-heavy program;
//  8. wasi:http: the JavaScript and C handlers served by the shim beside the
//     native Go server, and the per-request instantiation alone;
//  7. with -soak, the wasm servers under many connections for a long time.
//
// It prints a table and writes results.txt, results.json and latency.svg
// into -out (default bin/bench). See hack/bench/README.md.
//
//	go run ./hack/bench -n 30 -density 50 -tasks 1000
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	goruntime "runtime"
	"strings"
	"syscall"
	"time"

	"github.com/containerd-shim-wasm/containerd-shim-wasm/hack/privatecontainerd"
)

type options struct {
	runs, density, tasks, parallel, kernelRuns int
	version, out, only                         string
	keep                                       bool
	// networking: the HTTP server, the WASI-call-heavy program, the soak
	httpConns, httpRequests, httpRounds int
	httpTime                            time.Duration
	wasiIters, wasiRuns                 int
	soak, soakThink, soakDt             time.Duration
	soakConns                           int
	soakServers                         string
	// wasi:http: the handlers served by the shim
	wasiHTTPConns, wasiHTTPRequests, instantiateN int
	wasiHTTPTime                                  time.Duration
}

func main() {
	var o options
	flag.IntVar(&o.runs, "n", 30, "runs of each latency variant")
	flag.IntVar(&o.density, "density", 50, "idle containers per runtime")
	flag.IntVar(&o.tasks, "tasks", 1000, "short tasks per runtime for throughput")
	flag.IntVar(&o.parallel, "parallel", 4, "tasks at a time for throughput")
	flag.IntVar(&o.kernelRuns, "kernel-runs", 3, "runs of the compute kernel per runtime")
	flag.StringVar(&o.version, "containerd", "2.4.2", "containerd version, from bin/containerd-VERSION")
	flag.StringVar(&o.out, "out", "bin/bench", "output directory (also holds the built programs)")
	flag.StringVar(&o.only, "only", "latency,density,throughput,kernel,http,wasicalls,wasihttp", "comma-separated tests to run")
	flag.IntVar(&o.httpConns, "http-conns", 16, "keep-alive connections of the HTTP load")
	flag.IntVar(&o.httpRequests, "http-requests", 20000, "requests per runtime of the HTTP load (after a warm-up)")
	flag.DurationVar(&o.httpTime, "http-time", 30*time.Second, "time bound per runtime of the HTTP load")
	flag.IntVar(&o.httpRounds, "http-rounds", 5, "rounds of the HTTP load, alternating native and wasm")
	flag.IntVar(&o.wasiIters, "wasi-iters", 5000, "iterations of the WASI-call-heavy program")
	flag.IntVar(&o.wasiRuns, "wasi-runs", 3, "runs of the WASI-call-heavy program per WASI host")
	flag.IntVar(&o.wasiHTTPConns, "wasihttp-conns", 50, "keep-alive connections of the wasi:http load")
	flag.IntVar(&o.wasiHTTPRequests, "wasihttp-requests", 20000, "requests per server of the wasi:http load (after a warm-up)")
	flag.DurationVar(&o.wasiHTTPTime, "wasihttp-time", 30*time.Second, "time bound per server of the wasi:http load (split over the -http-rounds rounds)")
	flag.IntVar(&o.instantiateN, "instantiate-n", 500, "instances per component of the per-request instantiation benchmark")
	flag.DurationVar(&o.soak, "soak", 0, "soak each of -soak-servers this long (0: no soak; not part of CI)")
	flag.StringVar(&o.soakServers, "soak-servers", "http-js,go", "servers to soak, one after the other: http-js (the JavaScript wasi:http handler), go (examples/net/go as wasm)")
	flag.IntVar(&o.soakConns, "soak-conns", 1000, "keep-alive connections of the soak")
	flag.DurationVar(&o.soakThink, "soak-think", time.Second, "pause between one connection's requests in the soak")
	flag.DurationVar(&o.soakDt, "soak-every", 5*time.Second, "sampling interval of the server's memory and fds in the soak")
	flag.BoolVar(&o.keep, "keep", false, "keep the daemon's directory (log, config) after the run")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %v\n", err)
		os.Exit(1)
	}
}

func run(o options) error {
	repo, err := repoRoot()
	if err != nil {
		return err
	}
	out, err := filepath.Abs(o.out)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(repo, "bin", "containerd-shim-wasm-v1")); err != nil {
		return fmt.Errorf("bin/containerd-shim-wasm-v1 missing: run make build")
	}
	if o.needsHTTPComponents() {
		for _, name := range wasiHTTPComponents {
			if p := (assets{repo: repo}).httpComponent(name); !exists(p) {
				return fmt.Errorf("%s missing: run make http-examples", p)
			}
		}
	}
	progress := func(s string) { fmt.Fprintf(os.Stderr, "%s bench: %s\n", time.Now().Format("15:04:05"), s) }
	a := assets{repo: repo, out: out}
	progress("building programs, images and the runc shim")
	if err := a.build(); err != nil {
		return err
	}
	// The runc shim of the pinned containerd comes before the repo's bin/
	// on the daemon's PATH.
	d, err := privatecontainerd.StartPlain(privatecontainerd.Options{
		Repo: repo, Version: o.version, Prefix: "bench.",
		PathFirst: []string{a.toolDir()}, Keep: o.keep, ReadyTimeout: 30 * time.Second,
	})
	if d != nil {
		defer func() {
			if err := d.Stop(); err != nil {
				progress("stop containerd: " + err.Error())
			}
			cleanupCgroups()
			if o.keep {
				progress("kept " + d.Dir)
			}
		}()
	}
	if err != nil {
		if d != nil && d.Pid() != 0 {
			fmt.Fprintf(os.Stderr, "containerd log (end):\n%s\n", d.TailLog(30))
		}
		return fmt.Errorf("start containerd: %w", err)
	}
	progress("containerd in " + d.Dir)
	e, err := newEnv(d, a)
	if err != nil {
		return err
	}
	defer e.close()
	// A long soak may be cut short: the loads end, the servers and the
	// daemon are removed as after a full run, and the results so far are
	// written.
	interrupted, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	e.interrupted = interrupted
	if err := e.importImages(); err != nil {
		return err
	}
	res := &Results{Date: time.Now().UTC().Format(time.RFC3339), Machine: machine(), Cores: goruntime.NumCPU(), LoadBefore: loadavg(), Containerd: o.version, Runs: o.runs}
	if err := measure(e, o, res, progress); err != nil {
		return err
	}
	if interrupted.Err() != nil {
		res.Notes = append(res.Notes, "interrupted by a signal: the last load or soak is cut short")
	}
	res.LoadAfter = loadavg()
	res.Goals = res.goals()
	res.Notes = append(res.Notes, cacheNotes(d)...)
	return write(out, res)
}

func measure(e *env, o options, res *Results, progress func(string)) error {
	tests := strings.Split(o.only, ",")
	has := func(t string) bool { return contains(tests, t) }

	warm := func() error {
		mods := []string{}
		for _, p := range append(programs, "idle-wat", "go-server", "wasicalls") {
			mods = append(mods, e.a.wasmModule(p))
		}
		return e.shimCache(append([]string{"warm"}, mods...)...)
	}
	if has("latency") {
		floorCache := filepath.Join(e.d.Dir, "floor-cache")
		if err := warm(); err != nil {
			return err
		}
		if _, _, err := floorRun(e.a.wasmModule("hello"), floorCache); err != nil {
			return fmt.Errorf("floor: %w", err)
		}
		vs := e.latencyVariants(floorCache)
		runLatency(vs, o.runs, progress)
		res.Latency = latencyResults(vs)
		log, _ := os.ReadFile(e.d.Log)
		res.Phases = phaseResults(vs, connectTimes(log))
		res.CompileMs = summarize(e.compiles).P50
		res.LoadMs = summarize(e.loads).P50
		res.ShimLoadMs = summarize(loadTimes(log)).P50
		res.Exec = execCost([][]string{
			{filepath.Join(e.a.toolDir(), "containerd-shim-runc-v2"), "-v"},
			{filepath.Join(e.a.repo, "bin", "containerd-shim-wasm-v1"), "-v"},
			{"/usr/sbin/runc", "--version"},
			{e.a.native("hello")},
		}, o.runs)
	}
	if err := warm(); err != nil {
		return err
	}
	if has("density") {
		for _, r := range []struct {
			rt         runtime
			prog, shim string
		}{{e.runc, "idle", "containerd-shim-runc-v2"}, {e.wasm, "idle", "containerd-shim-wasm-v1"}, {e.wasm, "idle-wat", "containerd-shim-wasm-v1"}} {
			progress(fmt.Sprintf("density: %d idle %s containers (%s)", o.density, r.rt.label, r.prog))
			dr, err := e.runDensity(r.rt, r.prog, r.shim, o.density)
			if err != nil {
				progress(fmt.Sprintf("density %s: %v", r.rt.label, err))
				dr.Errors++
			}
			res.Density = append(res.Density, dr)
		}
	}
	if has("throughput") {
		res.Throughput = e.runThroughput([]runtime{e.runc, e.wasm}, o.tasks, o.parallel, 100, progress)
	}
	if has("kernel") {
		progress("compute kernel")
		k, err := e.runKernel(o.kernelRuns)
		if err != nil {
			return err
		}
		res.Kernel = k
	}
	if has("http") {
		h, err := e.runHTTP(o.httpConns, o.httpRequests, o.httpRounds, o.httpTime, progress)
		res.HTTP = h
		if err != nil {
			return fmt.Errorf("http: %w", err)
		}
	}
	if has("wasicalls") {
		progress(fmt.Sprintf("WASI-call-heavy program, %d iterations, %d runs per host", o.wasiIters, o.wasiRuns))
		w, err := e.runWasiCalls(o.wasiIters, o.wasiRuns)
		if err != nil {
			return err
		}
		res.WasiCalls = w
	}
	if has("wasihttp") {
		h, err := e.runWasiHTTP(o.wasiHTTPConns, o.wasiHTTPRequests, o.httpRounds, o.wasiHTTPTime, progress)
		res.WasiHTTP = h
		if err != nil {
			return fmt.Errorf("wasihttp: %w", err)
		}
		progress(fmt.Sprintf("wasihttp: per-request instantiation alone, %d instances per component", o.instantiateN))
		if res.Instantiate, err = e.runInstantiate(o.instantiateN); err != nil {
			return fmt.Errorf("wasihttp: %w", err)
		}
	}
	if o.soak > 0 {
		for _, name := range strings.Split(o.soakServers, ",") {
			v, err := e.soakServer(strings.TrimSpace(name))
			if err != nil {
				return err
			}
			s, err := e.runSoak(v, o.soak, o.soakConns, o.soakThink, o.soakDt, progress)
			if err != nil {
				return fmt.Errorf("soak of %s: %w", v.label, err)
			}
			res.Soaks = append(res.Soaks, s)
		}
	}
	return nil
}

// needsHTTPComponents: the wasi:http test or a soak of the JavaScript
// handler is asked for.
func (o options) needsHTTPComponents() bool {
	return contains(strings.Split(o.only, ","), "wasihttp") ||
		o.soak > 0 && contains(strings.Split(o.soakServers, ","), "http-js")
}

// soakServer is the server -soak-servers names.
func (e *env) soakServer(name string) (httpServer, error) {
	switch name {
	case "http-js":
		return e.jsHandler(), nil
	case "go":
		return e.netServers()[1], nil
	}
	return httpServer{}, fmt.Errorf("-soak-servers: unknown server %q (http-js, go)", name)
}

func write(out string, res *Results) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var table strings.Builder
	if err := writeTable(&table, res); err != nil {
		return err
	}
	fmt.Print(table.String())
	js, err := json.MarshalIndent(res, "", "  ")
	if err != nil {
		return err
	}
	var svg strings.Builder
	if err := writeSVG(&svg, "containerd-shim-wasm vs runc, "+res.Date, plotPanels(res)); err != nil {
		return err
	}
	return errors.Join(
		os.WriteFile(filepath.Join(out, "results.txt"), []byte(table.String()), 0o644),
		os.WriteFile(filepath.Join(out, "results.json"), append(js, '\n'), 0o644),
		os.WriteFile(filepath.Join(out, "latency.svg"), []byte(svg.String()), 0o644),
	)
}

func repoRoot() (string, error) {
	b, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return "", fmt.Errorf("find the repo root (run from inside it): %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}

func machine() string {
	model := "?"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return fmt.Sprintf("%d CPUs (%s), Linux %s, %s", goruntime.NumCPU(), model, strings.TrimSpace(string(kernel)), goruntime.Version())
}

func contains(xs []string, x string) bool {
	for _, s := range xs {
		if strings.TrimSpace(s) == x {
			return true
		}
	}
	return false
}

// cacheNotes counts the shims' "module ... ready: cache hit|miss" log
// lines, a check that cold runs compiled and warm runs did not.
func cacheNotes(d *privatecontainerd.Daemon) []string {
	b, err := os.ReadFile(d.Log)
	if err != nil {
		return nil
	}
	hits := strings.Count(string(b), "ready: cache hit")
	misses := strings.Count(string(b), "ready: cache miss")
	return []string{fmt.Sprintf("shim logs: %d modules loaded from the cache, %d compiled", hits, misses)}
}

// cleanupCgroups removes the namespace's cgroup directories that runc and
// the shim leave behind once their containers are gone (empty only).
func cleanupCgroups() {
	dirs, _ := filepath.Glob("/sys/fs/cgroup/*/" + namespace)
	if d := "/sys/fs/cgroup/" + namespace; exists(d) {
		dirs = append(dirs, d)
	}
	for _, d := range dirs {
		_ = os.Remove(d)
	}
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
