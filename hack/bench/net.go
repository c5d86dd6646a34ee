package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/oci"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// helloBody is what examples/net/go answers on GET /.
const helloBody = "hello from go\n"

// HTTPResult is one runtime's Go HTTP server under the load generator.
type HTTPResult struct {
	Runtime string `json:"runtime"`
	Server  string `json:"server"`
	LoadResult
}

// WasiCallsResult is the WASI-call-heavy program on one WASI host, timed
// inside the program (median of the runs).
type WasiCallsResult struct {
	Host       string  `json:"host"`
	Iterations int     `json:"iterations"`
	Ms         float64 `json:"ms"`
	UsPerIter  float64 `json:"us_per_iteration"`
	Runs       int     `json:"runs"`
	Errors     int     `json:"errors"`
}

// SoakSample is the server task's process, sampled during the soak.
type SoakSample struct {
	AtS      float64 `json:"at_s"`
	RSSBytes int64   `json:"rss_bytes"`
	Fds      int     `json:"fds"`
}

// SoakResult is a wasm server under many keep-alive connections for a
// long time: failures, and whether memory and fds stay flat.
type SoakResult struct {
	Server    string       `json:"server"`
	Seconds   float64      `json:"seconds"`
	ThinkMs   float64      `json:"think_ms"`
	Pid       int          `json:"pid"`
	Comm      string       `json:"comm"`
	Load      LoadResult   `json:"load"`
	Samples   []SoakSample `json:"samples"`
	WarmupS   float64      `json:"warmup_s"`
	Verdict   soakVerdict  `json:"verdict"`
	SampleErr string       `json:"sample_error,omitempty"`
}

// soakVerdict compares the samples after warm-up with the first of them.
type soakVerdict struct {
	RSSWarmBytes int64   `json:"rss_warm_bytes"`
	RSSMaxBytes  int64   `json:"rss_max_after_warmup_bytes"`
	RSSEndBytes  int64   `json:"rss_end_bytes"`
	RSSGrowth    float64 `json:"rss_growth"` // max after warm-up / at warm-up, minus 1
	// The medians of the first and the last third of the samples after
	// warm-up: a server whose memory follows the requests in flight (an
	// instance each) swings between samples; a leak moves the median.
	RSSFirstMedianBytes int64   `json:"rss_first_third_median_bytes"`
	RSSLastMedianBytes  int64   `json:"rss_last_third_median_bytes"`
	RSSMedianGrowth     float64 `json:"rss_median_growth"`
	FdsWarm             int     `json:"fds_warm"`
	FdsMax              int     `json:"fds_max_after_warmup"`
	FdsEnd              int     `json:"fds_end"`
	SamplesAfter        int     `json:"samples_after_warmup"`
}

// judgeSoak reads the samples taken at or after warmup seconds: memory is
// flat when no later sample exceeds the first by more than 10%, fds when
// none exceeds the first at all.
func judgeSoak(samples []SoakSample, warmup float64) soakVerdict {
	var v soakVerdict
	for _, s := range samples {
		if s.AtS < warmup {
			continue
		}
		if v.SamplesAfter == 0 {
			v.RSSWarmBytes, v.FdsWarm = s.RSSBytes, s.Fds
		}
		v.SamplesAfter++
		v.RSSMaxBytes, v.FdsMax = max(v.RSSMaxBytes, s.RSSBytes), max(v.FdsMax, s.Fds)
		v.RSSEndBytes, v.FdsEnd = s.RSSBytes, s.Fds
	}
	if v.RSSWarmBytes > 0 {
		v.RSSGrowth = float64(v.RSSMaxBytes)/float64(v.RSSWarmBytes) - 1
	}
	var after []int64
	for _, s := range samples {
		if s.AtS >= warmup {
			after = append(after, s.RSSBytes)
		}
	}
	if third := len(after) / 3; third > 0 {
		v.RSSFirstMedianBytes = medianInt(after[:third])
		v.RSSLastMedianBytes = medianInt(after[len(after)-third:])
		v.RSSMedianGrowth = float64(v.RSSLastMedianBytes)/float64(v.RSSFirstMedianBytes) - 1
	}
	return v
}

func medianInt(xs []int64) int64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func (v soakVerdict) memoryFlat() bool { return v.SamplesAfter >= 2 && v.RSSGrowth <= 0.10 }
func (v soakVerdict) fdsFlat() bool    { return v.SamplesAfter >= 2 && v.FdsMax <= v.FdsWarm }

// parseVmRSS reads VmRSS (kB) from /proc/PID/status, in bytes.
func parseVmRSS(r io.Reader) (int64, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("VmRSS line %q", sc.Text())
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || kb < 0 {
			return 0, fmt.Errorf("VmRSS line %q: bad number", sc.Text())
		}
		return kb << 10, nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no VmRSS line (a kernel thread, or a zombie)")
}

// sampleProc reads a process's RSS and open fd count.
func sampleProc(pid int) (rss int64, fds int, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	if rss, err = parseVmRSS(bytes.NewReader(b)); err != nil {
		return 0, 0, fmt.Errorf("pid %d: %w", pid, err)
	}
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, 0, err
	}
	return rss, len(ents), nil
}

// freePort picks a loopback port nobody listens on right now.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// httpServer is an HTTP server the benchmark runs as a container in the
// host's network namespace, on a free port of 127.0.0.1.
type httpServer struct {
	label  string // short name in the table
	server string // what it is
	rt     runtime
	prog   string // the program in the runtime's image
	// proxy: a wasi:http component, which the shim serves itself on
	// WASMTIME_HTTP_PROXY_SOCKET_ADDR; otherwise examples/net/go's hand-over
	// (WASI_TCP_LISTEN under the shim, fdlisten under runc).
	proxy bool
	body  string // the answer to GET path
	path  string // what the load gets; "" is /
	opts  []oci.SpecOpts
}

// target is the URL the load sends to server s of v.
func (v httpServer) target(s *server) string {
	return s.url + strings.TrimPrefix(v.path, "/")
}

// netServers are examples/net/go natively under runc, as wasm under the
// shim, and for reference natively with GOMAXPROCS=1 (the wasm build has
// one thread).
func (e *env) netServers() []httpServer {
	return []httpServer{
		{label: "runc", server: "examples/net/go, native (fdlisten)", rt: e.runc, prog: "go-server", body: helloBody},
		{label: "wasm", server: "examples/net/go, wasip1 (WASI_TCP_LISTEN)", rt: e.wasm, prog: "go-server", body: helloBody},
		{label: "runc-1thread", server: "the same native, GOMAXPROCS=1 (reference)", rt: e.runc, prog: "go-server", body: helloBody,
			opts: []oci.SpecOpts{oci.WithEnv([]string{"GOMAXPROCS=1"})}},
	}
}

// server is a running HTTP server task.
type server struct {
	ctr  client.Container
	task client.Task
	url  string
}

// startServer runs v in the host's network namespace on 127.0.0.1:PORT
// and returns once GET / answers.
func (e *env) startServer(v httpServer, extra ...oci.SpecOpts) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	args := []string{v.rt.path(v.prog)}
	env := "WASI_TCP_LISTEN=" + addr
	switch {
	case v.proxy:
		env = "WASMTIME_HTTP_PROXY_SOCKET_ADDR=" + addr
	case v.rt.label == "runc":
		args = []string{v.rt.path("fdlisten"), addr, v.rt.path(v.prog)}
	}
	opts := append([]oci.SpecOpts{oci.WithHostNamespace(specs.NetworkNamespace), oci.WithEnv([]string{env})}, v.opts...)
	ctx := e.ctx()
	ctr, task, _, err := e.create(ctx, v.rt, e.id("http-"+v.label), args, nil, nil, append(opts, extra...)...)
	if err != nil {
		return nil, err
	}
	s := &server{ctr: ctr, task: task, url: "http://" + addr + "/"}
	if err := task.Start(ctx); err != nil {
		e.remove(ctr)
		return nil, fmt.Errorf("start %s server: %w", v.label, err)
	}
	if err := waitHTTP(ctx, s.url, time.Minute); err != nil {
		e.remove(ctr)
		return nil, fmt.Errorf("%s server: %w", v.label, err)
	}
	return s, nil
}

// runHTTP loads the servers of the networking issue (netServers).
func (e *env) runHTTP(conns, requests, rounds int, limit time.Duration, progress func(string)) ([]HTTPResult, error) {
	return e.loadServers("http", e.netServers(), conns, requests, rounds, limit, progress)
}

// loadServers runs the servers vs at once, warms each up, then loads them
// in turn, rounds times each with requests/rounds requests, so that all
// see the same machine load; the rounds are merged per server.
func (e *env) loadServers(test string, vs []httpServer, conns, requests, rounds int, limit time.Duration, progress func(string)) ([]HTTPResult, error) {
	servers := make([]*server, len(vs))
	defer func() {
		for _, s := range servers {
			if s != nil {
				e.remove(s.ctr)
			}
		}
	}()
	ctx := e.loadCtx()
	for i, v := range vs {
		progress(fmt.Sprintf("%s: starting %s (%s)", test, v.label, v.server))
		s, err := e.startServer(v)
		if err != nil {
			return nil, err
		}
		servers[i] = s
		warm := loadSpec{URL: v.target(s), Conns: conns, Requests: max(conns*10, requests/20), Duration: limit / 4, Want: v.body}
		if _, err := runLoad(ctx, warm); err != nil {
			return nil, err
		}
	}
	rounds = max(1, rounds)
	per := max(1, requests/rounds)
	runs := make([][]LoadResult, len(vs))
	for k := 0; k < rounds; k++ {
		progress(fmt.Sprintf("%s: round %d/%d, %d requests over %d connections per server (at most %s each)", test, k+1, rounds, per, conns, limit/time.Duration(rounds)))
		for i, v := range vs {
			res, err := runLoad(ctx, loadSpec{URL: v.target(servers[i]), Conns: conns, Requests: per, Duration: max(time.Second, limit/time.Duration(rounds)), Want: v.body})
			if err != nil {
				return nil, err
			}
			runs[i] = append(runs[i], res)
		}
	}
	var out []HTTPResult
	for i, v := range vs {
		out = append(out, HTTPResult{Runtime: v.label, Server: v.server, LoadResult: mergeLoads(runs[i])})
	}
	return out, nil
}

// runWasiCalls runs the WASI-call-heavy program on the shim's WASI host
// and on wasmtime's (the annotation), alternating, runs times each.
func (e *env) runWasiCalls(iters, runs int) ([]WasiCallsResult, error) {
	hosts := []struct{ name, annotation string }{{"go", ""}, {"wasmtime", "wasmtime"}}
	times := map[string][]float64{}
	errs := map[string]int{}
	args := []string{"-n", strconv.Itoa(iters)}
	for i := 0; i < runs; i++ {
		for _, h := range hosts {
			var opts []oci.SpecOpts
			if h.annotation != "" {
				opts = append(opts, oci.WithAnnotations(map[string]string{"io.containerd.wasm.wasi-host": h.annotation}))
			}
			var out bytes.Buffer
			if _, err := e.goRun(e.wasm, "wasicalls", args, &out, opts...); err != nil {
				errs[h.name]++
				if errs[h.name] == runs {
					return nil, fmt.Errorf("wasicalls on the %s host: %w (%s)", h.name, err, clip(out.String()))
				}
				continue
			}
			got, err := parseKernel(out.Bytes())
			if err != nil {
				return nil, fmt.Errorf("wasicalls on the %s host: %w", h.name, err)
			}
			ms, ok := got["files"]
			if !ok {
				return nil, fmt.Errorf("wasicalls on the %s host: no files line in %q", h.name, clip(out.String()))
			}
			times[h.name] = append(times[h.name], ms)
		}
	}
	var res []WasiCallsResult
	for _, h := range hosts {
		r := WasiCallsResult{Host: h.name, Iterations: iters, Ms: median(times[h.name]), Runs: len(times[h.name]), Errors: errs[h.name]}
		if iters > 0 {
			r.UsPerIter = r.Ms * 1000 / float64(iters)
		}
		res = append(res, r)
	}
	return res, nil
}

// runSoak holds conns keep-alive connections to the wasm server v for d,
// each sending a request every think, and samples the task's process
// every interval.
func (e *env) runSoak(v httpServer, d time.Duration, conns int, think, interval time.Duration, progress func(string)) (SoakResult, error) {
	res := SoakResult{Server: v.server, ThinkMs: float64(think.Microseconds()) / 1000, WarmupS: min(60, d.Seconds()/5)}
	// containerd's default RLIMIT_NOFILE (1024) would leave the server a
	// handful of fds beyond 1,000 connections: the soak is about leaks,
	// not that limit.
	nofile := uint64(max(4096, 2*conns))
	s, err := e.startServer(v, oci.WithRlimit(&specs.POSIXRlimit{Type: "RLIMIT_NOFILE", Hard: nofile, Soft: nofile}))
	if err != nil {
		return res, err
	}
	defer e.remove(s.ctr)
	res.Pid = int(s.task.Pid())
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", res.Pid)); err == nil {
		res.Comm = strings.TrimSpace(string(b))
	}
	progress(fmt.Sprintf("soak of %s: %d connections for %s, pid %d (%s), sampling every %s", v.label, conns, d, res.Pid, res.Comm, interval))
	ctx, cancel := context.WithCancel(e.loadCtx())
	defer cancel()
	done := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			// Past d the load generator is closing its connections: those
			// samples would show the fds going, not the server's steady state.
			if time.Since(start) >= d {
				return
			}
			rss, fds, err := sampleProc(res.Pid)
			if err != nil {
				res.SampleErr = err.Error()
				return
			}
			res.Samples = append(res.Samples, SoakSample{AtS: time.Since(start).Seconds(), RSSBytes: rss, Fds: fds})
			if n := len(res.Samples); n%12 == 0 {
				progress(fmt.Sprintf("soak of %s: %.0f s, rss %.1f MiB, %d fds", v.label, res.Samples[n-1].AtS, float64(rss)/(1<<20), fds))
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	// The count bound is far above what the time allows at this rate;
	// the time bound ends the run.
	rate := float64(conns) / max(think.Seconds(), 0.001)
	bound := int(rate*d.Seconds()*2) + conns
	res.Load, err = runLoad(ctx, loadSpec{URL: s.url, Conns: conns, Requests: bound, Duration: d, Think: think, Want: v.body})
	res.Seconds = time.Since(start).Seconds()
	cancel()
	<-done
	res.Verdict = judgeSoak(res.Samples, res.WarmupS)
	return res, err
}
