package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// loadSpec bounds one load run: at most Requests requests and at most
// Duration, over Conns keep-alive connections, each sending its next
// request when the previous answer is read (after Think, if set).
type loadSpec struct {
	URL      string // http://127.0.0.1:PORT/...: loopback only
	Conns    int
	Requests int
	Duration time.Duration
	// Think is the pause between a connection's requests (soak). With
	// Think the connections' first requests are spread over one Think, so
	// that they do not arrive in one burst per Think.
	Think time.Duration
	Want  string // expected body; empty: any 200
}

// LoadResult is what a load run measured.
type LoadResult struct {
	Requests  int     `json:"requests"` // answered 200 with the expected body
	Errors    int     `json:"errors"`   // transport errors, other statuses, wrong bodies
	Conns     int     `json:"conns"`
	Dials     int     `json:"dials"` // connections opened: Conns when keep-alive held
	Seconds   float64 `json:"seconds"`
	ReqPerSec float64 `json:"req_per_sec"`
	P50Ms     float64 `json:"p50_ms"`
	P99Ms     float64 `json:"p99_ms"`
	MaxMs     float64 `json:"max_ms"`
	// FirstError is the first failure's text, to say why errors happened.
	FirstError string `json:"first_error,omitempty"`
	// lat keeps the sample, so that runs can be merged (mergeLoads).
	lat []time.Duration
}

// mergeLoads adds up runs of the same load: requests/s over the time spent
// in them, percentiles over every sample.
func mergeLoads(rs []LoadResult) LoadResult {
	var lat []time.Duration
	var errs, dials int
	var took time.Duration
	first := ""
	for _, r := range rs {
		lat = append(lat, r.lat...)
		errs += r.Errors
		dials += r.Dials
		took += time.Duration(r.Seconds * float64(time.Second))
		if first == "" {
			first = r.FirstError
		}
	}
	m := loadSummary(lat, errs, took)
	if len(rs) > 0 {
		m.Conns = rs[0].Conns
	}
	m.Dials, m.FirstError = dials, first
	return m
}

// checkLoopback refuses any target but a loopback IP literal: the load
// generator must never leave the machine.
func checkLoopback(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("load target %q: %w", raw, err)
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("load target %q: only http", raw)
	}
	ip := net.ParseIP(u.Hostname())
	if ip == nil || !ip.IsLoopback() || u.Port() == "" {
		return nil, fmt.Errorf("load target %q: only a loopback IP with a port (127.0.0.1:PORT)", raw)
	}
	return u, nil
}

// runLoad drives s.Conns connections until s.Requests requests have been
// sent or s.Duration has passed, whichever comes first; ctx ends it early.
func runLoad(ctx context.Context, s loadSpec) (LoadResult, error) {
	res := LoadResult{Conns: s.Conns}
	if _, err := checkLoopback(s.URL); err != nil {
		return res, err
	}
	if s.Conns <= 0 || s.Requests <= 0 || s.Duration <= 0 {
		return res, fmt.Errorf("load: conns, requests and duration must be positive (%d, %d, %s)", s.Conns, s.Requests, s.Duration)
	}
	ctx, cancel := context.WithTimeout(ctx, s.Duration)
	defer cancel()
	var dials, sent, failed atomic.Int64
	var firstErr atomic.Pointer[string]
	fail := func(err error) {
		failed.Add(1)
		msg := err.Error()
		firstErr.CompareAndSwap(nil, &msg)
	}
	dialer := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	lat := make([][]time.Duration, s.Conns)
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < s.Conns; w++ {
		// One transport per worker, one connection each: Conns is then
		// exactly the number of connections the server sees.
		tr := &http.Transport{
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				if _, err := checkLoopback("http://" + addr); err != nil {
					return nil, err
				}
				dials.Add(1)
				return dialer.DialContext(ctx, network, addr)
			},
			MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1, MaxIdleConns: 1,
			DisableCompression: true,
		}
		c := &http.Client{Transport: tr, Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer tr.CloseIdleConnections()
			if s.Think > 0 {
				select {
				case <-time.After(s.Think * time.Duration(w) / time.Duration(s.Conns)):
				case <-ctx.Done():
				}
			}
			for ctx.Err() == nil && sent.Add(1) <= int64(s.Requests) {
				t := time.Now()
				err := get(ctx, c, s.URL, s.Want)
				if err != nil {
					if ctx.Err() != nil {
						return // cut off by the time bound, not a failure
					}
					fail(err)
				} else {
					lat[w] = append(lat[w], time.Since(t))
				}
				if s.Think > 0 {
					select {
					case <-time.After(s.Think):
					case <-ctx.Done():
					}
				}
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	res = loadSummary(all, int(failed.Load()), took)
	res.Conns, res.Dials = s.Conns, int(dials.Load())
	if p := firstErr.Load(); p != nil {
		res.FirstError = *p
	}
	return res, nil
}

func get(ctx context.Context, c *http.Client, u, want string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	// Read to the end, or the connection is not reused.
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		return fmt.Errorf("read body: %w", err)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("status %s", resp.Status)
	case want != "" && string(body) != want:
		return fmt.Errorf("body %q, want %q", clip(string(body)), want)
	}
	return nil
}

// loadSummary reduces the answered requests' latencies: requests/s over
// the wall time, nearest-rank p50 and p99 (microsecond resolution).
func loadSummary(lat []time.Duration, errs int, took time.Duration) LoadResult {
	r := LoadResult{Requests: len(lat), Errors: errs, Seconds: took.Seconds(), lat: lat}
	if took > 0 {
		r.ReqPerSec = float64(len(lat)) / took.Seconds()
	}
	if len(lat) == 0 {
		return r
	}
	ms := make([]float64, len(lat))
	for i, d := range lat {
		ms[i] = float64(d.Microseconds()) / 1000
	}
	slices.Sort(ms)
	r.P50Ms, r.P99Ms, r.MaxMs = percentile(ms, 50), percentile(ms, 99), ms[len(ms)-1]
	return r
}

// waitHTTP polls u until it answers 200 or timeout passes.
func waitHTTP(ctx context.Context, u string, timeout time.Duration) error {
	if _, err := checkLoopback(u); err != nil {
		return err
	}
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if last = get(ctx, c, u, ""); last == nil {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	if last == nil {
		last = errors.Join(ctx.Err(), errors.New("timed out"))
	}
	return fmt.Errorf("%s not serving after %s: %w", u, timeout, last)
}
