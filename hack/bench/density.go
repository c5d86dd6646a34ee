package main

import (
	"context"
	"fmt"
	"io"
	"sync"
	"syscall"
	"time"

	"github.com/containerd/containerd/v2/client"
)

// DensityResult is n idle containers of one runtime.
type DensityResult struct {
	Runtime    string  `json:"runtime"`
	Program    string  `json:"program"`
	N          int     `json:"n"`
	StartAllMs float64 `json:"start_all_ms"`
	PssBytes   int64   `json:"pss_bytes"`
	// ShimPssBytes is the shims' own share of PssBytes; the rest is the
	// containers' processes (runc's container, the shim's task child).
	ShimPssBytes int64   `json:"shim_pss_bytes"`
	PerCtrMiB    float64 `json:"pss_per_container_mib"`
	Shims        int     `json:"shims"`
	Processes    int     `json:"processes"`
	Errors       int     `json:"errors"`
}

type idleCtr struct {
	ctr  client.Container
	task client.Task
	in   *io.PipeWriter
}

// runDensity starts n idle containers one after the other (each blocks
// reading a stdin that we keep open), measures the PSS of the runtime's
// shims and all their descendants, then kills and deletes them.
func (e *env) runDensity(r runtime, prog, shimBinary string, n int) (DensityResult, error) {
	res := DensityResult{Runtime: r.label, Program: prog, N: n}
	ctx := e.ctx()
	var ctrs []idleCtr
	defer func() { e.teardown(ctrs) }()
	start := time.Now()
	for i := 0; i < n; i++ {
		pr, pw := io.Pipe()
		ctr, task, _, err := e.create(ctx, r, e.id("idle-"+r.label), []string{r.path(prog)}, pr, nil)
		if err != nil {
			pw.Close()
			return res, err
		}
		ctrs = append(ctrs, idleCtr{ctr, task, pw})
		if err := task.Start(ctx); err != nil {
			return res, fmt.Errorf("start idle %d: %w", i, err)
		}
	}
	res.StartAllMs = float64(time.Since(start).Microseconds()) / 1000
	// Let lazily touched pages settle (Go runtimes start background work).
	time.Sleep(2 * time.Second)
	procs, err := listProcs()
	if err != nil {
		return res, err
	}
	shims, all := shimTree(procs, shimBinary, e.d.Address)
	res.Shims, res.Processes = len(shims), len(all)
	res.PssBytes, _ = pssOf(all)
	res.ShimPssBytes, _ = pssOf(shims)
	if n > 0 {
		res.PerCtrMiB = float64(res.PssBytes) / float64(n) / (1 << 20)
	}
	if res.Shims != n {
		return res, fmt.Errorf("%d idle %s containers but %d shims found", n, r.label, res.Shims)
	}
	return res, nil
}

// teardown kills and deletes the containers, four at a time.
func (e *env) teardown(ctrs []idleCtr) {
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for _, c := range ctrs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			ctx, cancel := context.WithTimeout(e.ctx(), time.Minute)
			defer cancel()
			_ = c.task.Kill(ctx, syscall.SIGKILL)
			if ch, err := c.task.Wait(ctx); err == nil {
				select {
				case <-ch:
				case <-time.After(10 * time.Second):
				}
			}
			_, _ = c.task.Delete(ctx, client.WithProcessKill)
			_ = c.ctr.Delete(ctx, client.WithSnapshotCleanup)
			c.in.Close()
		}()
	}
	wg.Wait()
}
