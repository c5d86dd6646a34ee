package main

import (
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ten := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, tc := range []struct {
		name   string
		sorted []float64
		p      float64
		want   float64
	}{
		{"empty", nil, 50, 0},
		{"one", []float64{7}, 95, 7},
		{"p50 of ten is the fifth", ten, 50, 5},
		{"p95 of ten is the tenth", ten, 95, 10},
		{"p90 of ten is the ninth", ten, 90, 9},
		{"p0 clamps to the first", ten, 0, 1},
		{"p100 is the last", ten, 100, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.sorted, tc.p); got != tc.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tc.sorted, tc.p, got, tc.want)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	var ds []time.Duration
	// 30 samples, 1..30 ms, out of order.
	for i := 30; i >= 1; i-- {
		ds = append(ds, time.Duration(i)*time.Millisecond)
	}
	got := summarize(ds)
	want := Summary{N: 30, P50: 15, P95: 29, Min: 1, Max: 30}
	if got != want {
		t.Errorf("summarize = %+v, want %+v", got, want)
	}
	if ds[0] != 30*time.Millisecond {
		t.Error("summarize reordered its input")
	}
	if (summarize(nil) != Summary{}) {
		t.Error("summarize(nil) is not zero")
	}
}

func TestMedian(t *testing.T) {
	xs := []float64{3, 1, 2}
	if got := median(xs); got != 2 {
		t.Errorf("median = %v, want 2", got)
	}
	if xs[0] != 3 {
		t.Error("median reordered its input")
	}
}
