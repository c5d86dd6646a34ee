package main

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// bar is one bar of a plot panel; Whisker (a p95, say) is drawn as a
// line past the bar when it is above Value.
type bar struct {
	Label   string
	Value   float64
	Whisker float64
	Color   string
}

// panel is one horizontal bar chart.
type panel struct {
	Title string
	Unit  string
	Bars  []bar
}

const (
	svgWidth   = 900
	labelWidth = 330
	barHeight  = 18
	barGap     = 6
	panelTop   = 34
	panelGap   = 26
)

// writeSVG draws the panels one under the other as a standalone SVG.
func writeSVG(w io.Writer, title string, panels []panel) error {
	height := 40
	for _, p := range panels {
		height += panelTop + len(p.Bars)*(barHeight+barGap) + panelGap
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", svgWidth, height, svgWidth, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	fmt.Fprintf(&b, `<text x="10" y="24" font-size="16" font-weight="bold">%s</text>`+"\n", html.EscapeString(title))
	y := 40
	for _, p := range panels {
		y = drawPanel(&b, p, y)
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func drawPanel(b *strings.Builder, p panel, y int) int {
	fmt.Fprintf(b, `<text x="10" y="%d" font-size="14" font-weight="bold">%s</text>`+"\n", y+20, html.EscapeString(p.Title))
	y += panelTop
	top := 0.0
	for _, br := range p.Bars {
		top = math.Max(top, math.Max(br.Value, br.Whisker))
	}
	plotW := float64(svgWidth - labelWidth - 90)
	scale := 0.0
	if top > 0 {
		scale = plotW / top
	}
	for _, br := range p.Bars {
		color := br.Color
		if color == "" {
			color = "#4e79a7"
		}
		w := br.Value * scale
		fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="end">%s</text>`+"\n", labelWidth-8, y+barHeight-5, html.EscapeString(br.Label))
		fmt.Fprintf(b, `<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>`+"\n", labelWidth, y, w, barHeight, html.EscapeString(color))
		end := w
		if br.Whisker > br.Value {
			wx := float64(labelWidth) + br.Whisker*scale
			mid := y + barHeight/2
			fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="black"/>`+"\n", float64(labelWidth)+w, mid, wx, mid)
			fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="black"/>`+"\n", wx, y+3, wx, y+barHeight-3)
			end = br.Whisker * scale
		}
		fmt.Fprintf(b, `<text x="%.1f" y="%d">%s %s</text>`+"\n", float64(labelWidth)+end+6, y+barHeight-5, formatValue(br.Value), html.EscapeString(p.Unit))
		y += barHeight + barGap
	}
	return y + panelGap
}

func formatValue(v float64) string {
	if v >= 100 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// plotPanels turns results into the panels of latency.svg.
func plotPanels(r *Results) []panel {
	colors := map[string]string{"runc": "#e15759", "wasm": "#4e79a7", "": "#59a14f"}
	lat := panel{Title: "hello, start to exit: p50 (bar) and p95 (whisker)", Unit: "ms"}
	for _, l := range r.Latency {
		lat.Bars = append(lat.Bars, bar{Label: l.Name, Value: l.Summary.P50, Whisker: l.Summary.P95, Color: colors[l.Runtime]})
	}
	panels := []panel{lat}
	if len(r.Density) > 0 {
		p := panel{Title: "idle container memory (PSS of shim + children)", Unit: "MiB per container"}
		for _, d := range r.Density {
			p.Bars = append(p.Bars, bar{Label: d.Runtime + ", " + programLabel(d.Program), Value: d.PerCtrMiB, Color: colors[d.Runtime]})
		}
		panels = append(panels, p)
	}
	if len(r.Throughput) > 0 {
		p := panel{Title: "throughput, short tasks", Unit: "tasks/s"}
		for _, t := range r.Throughput {
			p.Bars = append(p.Bars, bar{Label: t.Runtime, Value: t.TasksPerSec, Color: colors[t.Runtime]})
		}
		panels = append(panels, p)
	}
	if len(r.Kernel) > 0 {
		p := panel{Title: "compute kernels, time inside the program", Unit: "ms"}
		for _, k := range r.Kernel {
			p.Bars = append(p.Bars, bar{Label: k.Kernel + ", native", Value: k.NativeMs, Color: colors["runc"]}, bar{Label: k.Kernel + ", wasm", Value: k.WasmMs, Color: colors["wasm"]})
		}
		panels = append(panels, p)
	}
	return panels
}
