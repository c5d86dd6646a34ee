package main

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// ThroughputResult is short tasks run to completion, `parallel` at a time.
type ThroughputResult struct {
	Runtime     string  `json:"runtime"`
	Tasks       int     `json:"tasks"`
	Parallel    int     `json:"parallel"`
	Seconds     float64 `json:"seconds"`
	TasksPerSec float64 `json:"tasks_per_sec"`
	Errors      int     `json:"errors"`
}

// runThroughput runs n hello tasks per runtime through the Go client,
// parallel at a time, in chunks that alternate between the runtimes so
// that both see the same machine load; time counts only while a chunk runs.
func (e *env) runThroughput(rs []runtime, n, parallel, chunk int, progress func(string)) []ThroughputResult {
	res := make([]ThroughputResult, len(rs))
	for i, r := range rs {
		res[i] = ThroughputResult{Runtime: r.label, Parallel: parallel}
	}
	for done := 0; done < n; done += chunk {
		k := min(chunk, n-done)
		for i, r := range rs {
			d, errs := e.batch(r, k, parallel)
			res[i].Tasks += k - errs
			res[i].Errors += errs
			res[i].Seconds += d.Seconds()
		}
		progress(fmt.Sprintf("throughput %d/%d", done+k, n))
	}
	for i := range res {
		if res[i].Seconds > 0 {
			res[i].TasksPerSec = float64(res[i].Tasks) / res[i].Seconds
		}
	}
	return res
}

func (e *env) batch(r runtime, k, parallel int) (time.Duration, int) {
	var next, errs atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(k) {
				if _, err := e.goRun(r, "hello", nil, nil); err != nil {
					errs.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return time.Since(start), int(errs.Load())
}
