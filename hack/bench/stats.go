package main

import (
	"math"
	"slices"
	"time"
)

// Summary is a sample of durations reduced to what the table shows.
type Summary struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_ms"`
	P95 float64 `json:"p95_ms"`
	Min float64 `json:"min_ms"`
	Max float64 `json:"max_ms"`
}

// summarize computes nearest-rank percentiles, in milliseconds, of
// samples; an empty sample gives the zero Summary.
func summarize(samples []time.Duration) Summary {
	if len(samples) == 0 {
		return Summary{}
	}
	ms := make([]float64, len(samples))
	for i, d := range samples {
		ms[i] = float64(d.Microseconds()) / 1000
	}
	slices.Sort(ms)
	return Summary{N: len(ms), P50: percentile(ms, 50), P95: percentile(ms, 95), Min: ms[0], Max: ms[len(ms)-1]}
}

// percentile is the nearest-rank percentile p (0 < p <= 100) of sorted:
// the smallest value with at least p% of the sample at or below it.
func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

// median of a sample of plain numbers (not modified).
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return percentile(s, 50)
}
