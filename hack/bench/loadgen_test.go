package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestLoadSummary(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 200; i++ { // 1 ms ... 200 ms
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	r := loadSummary(lat, 3, 4*time.Second)
	if r.Requests != 200 || r.Errors != 3 {
		t.Errorf("requests, errors = %d, %d; want 200, 3", r.Requests, r.Errors)
	}
	if r.ReqPerSec != 50 {
		t.Errorf("req/s = %v, want 50 (200 in 4 s)", r.ReqPerSec)
	}
	// Nearest rank: p50 of 200 is the 100th, p99 the 198th.
	if r.P50Ms != 100 || r.P99Ms != 198 || r.MaxMs != 200 {
		t.Errorf("p50, p99, max = %v, %v, %v; want 100, 198, 200", r.P50Ms, r.P99Ms, r.MaxMs)
	}
	if e := loadSummary(nil, 5, time.Second); e.Requests != 0 || e.P50Ms != 0 || e.ReqPerSec != 0 || e.Errors != 5 {
		t.Errorf("empty sample: %+v", e)
	}
	// Unsorted input, sub-millisecond values kept to the microsecond.
	r = loadSummary([]time.Duration{900 * time.Microsecond, 150 * time.Microsecond, 400 * time.Microsecond}, 0, time.Second)
	if r.P50Ms != 0.4 || r.P99Ms != 0.9 {
		t.Errorf("p50, p99 = %v, %v; want 0.4, 0.9", r.P50Ms, r.P99Ms)
	}
}

func TestCheckLoopback(t *testing.T) {
	for _, ok := range []string{"http://127.0.0.1:8080/", "http://127.0.0.2:1/x", "http://[::1]:80/"} {
		if _, err := checkLoopback(ok); err != nil {
			t.Errorf("checkLoopback(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{
		"http://10.0.0.1:80/", "http://localhost:80/", "http://example.com:80/",
		"https://127.0.0.1:443/", "http://127.0.0.1/", "http://0.0.0.0:80/", "::",
	} {
		if _, err := checkLoopback(bad); err == nil {
			t.Errorf("checkLoopback(%q) accepted a non-loopback target", bad)
		}
	}
}

func TestRunLoadCountBound(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		served.Add(1)
		io.WriteString(w, "hi\n")
	}))
	defer srv.Close()
	r, err := runLoad(context.Background(), loadSpec{URL: srv.URL + "/", Conns: 4, Requests: 200, Duration: time.Minute, Want: "hi\n"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 200 || r.Errors != 0 || served.Load() != 200 {
		t.Errorf("requests %d, errors %d, served %d; want 200, 0, 200 (%s)", r.Requests, r.Errors, served.Load(), r.FirstError)
	}
	if r.Dials != 4 {
		t.Errorf("dials = %d, want 4: one keep-alive connection per worker", r.Dials)
	}
	if r.P50Ms <= 0 || r.P99Ms < r.P50Ms || r.ReqPerSec <= 0 {
		t.Errorf("implausible summary %+v", r)
	}
}

func TestRunLoadTimeBoundAndErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "wrong\n")
	}))
	defer srv.Close()
	start := time.Now()
	r, err := runLoad(context.Background(), loadSpec{URL: srv.URL, Conns: 2, Requests: 1 << 30, Duration: 300 * time.Millisecond, Think: 10 * time.Millisecond, Want: "hi\n"})
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("ran %s with a 300 ms bound", took)
	}
	if r.Requests != 0 || r.Errors == 0 || !strings.Contains(r.FirstError, "wrong") {
		t.Errorf("a wrong body must count as an error: %+v", r)
	}
}

func TestRunLoadRefuses(t *testing.T) {
	if _, err := runLoad(context.Background(), loadSpec{URL: "http://192.0.2.1:80/", Conns: 1, Requests: 1, Duration: time.Second}); err == nil {
		t.Error("runLoad accepted a non-loopback target")
	}
	if _, err := runLoad(context.Background(), loadSpec{URL: "http://127.0.0.1:80/", Conns: 0, Requests: 1, Duration: time.Second}); err == nil {
		t.Error("runLoad accepted zero connections")
	}
}

func TestMergeLoads(t *testing.T) {
	ms := func(xs ...int) []time.Duration {
		var d []time.Duration
		for _, x := range xs {
			d = append(d, time.Duration(x)*time.Millisecond)
		}
		return d
	}
	a := loadSummary(ms(1, 2, 3, 4), 1, 2*time.Second)
	a.Conns, a.Dials = 4, 4
	b := loadSummary(ms(10, 20, 30, 40, 50, 60), 0, 3*time.Second)
	b.Conns, b.Dials, b.FirstError = 4, 5, "later"
	m := mergeLoads([]LoadResult{a, b})
	if m.Requests != 10 || m.Errors != 1 || m.Seconds != 5 || m.ReqPerSec != 2 {
		t.Errorf("requests %d, errors %d, seconds %v, req/s %v; want 10, 1, 5, 2", m.Requests, m.Errors, m.Seconds, m.ReqPerSec)
	}
	// Over the ten samples together: p50 is the fifth (10 ms), p99 the tenth.
	if m.P50Ms != 10 || m.P99Ms != 60 || m.MaxMs != 60 {
		t.Errorf("p50, p99, max = %v, %v, %v; want 10, 60, 60", m.P50Ms, m.P99Ms, m.MaxMs)
	}
	if m.Conns != 4 || m.Dials != 9 || m.FirstError != "later" {
		t.Errorf("conns %d, dials %d, first error %q", m.Conns, m.Dials, m.FirstError)
	}
}

// With Think, the connections' first requests are spread over one Think
// instead of arriving at once.
func TestRunLoadStaggersThinkingConnections(t *testing.T) {
	var mu sync.Mutex
	var arrivals []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
		io.WriteString(w, "hi\n")
	}))
	defer srv.Close()
	const conns, think = 4, 400 * time.Millisecond
	r, err := runLoad(context.Background(), loadSpec{URL: srv.URL, Conns: conns, Requests: conns, Duration: 5 * time.Second, Think: think, Want: "hi\n"})
	if err != nil || r.Requests != conns {
		t.Fatalf("%+v, %v", r, err)
	}
	// The last connection starts 3/4 of a Think after the first.
	if spread := arrivals[conns-1].Sub(arrivals[0]); spread < think/2 {
		t.Errorf("first requests of %d connections spread over %v, want about %v", conns, spread, think*(conns-1)/conns)
	}
}
