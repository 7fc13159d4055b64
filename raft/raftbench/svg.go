package raftbench

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"slices"
	"strings"
	"time"
)

// Panel is one graph of a figure: a title over the CDFs of some results.
type Panel struct {
	Title   string
	Results []TimingResult
}

// FigurePanels groups results the way Figure 16 does: the top graph holds
// the RandomnessRanges, the bottom one the ScaleRanges (150–300 ms is in
// both), and any other range goes to a third graph. Empty graphs are left
// out; within a graph the lines keep the order of results.
func FigurePanels(results []TimingResult) []Panel {
	top := Panel{Title: "Varying the randomness of the election timeout (Figure 16, top)"}
	bottom := Panel{Title: "Scaling the minimum election timeout (Figure 16, bottom)"}
	other := Panel{Title: "Other election-timeout ranges"}
	for _, r := range results {
		in := false
		if slices.Contains(RandomnessRanges, r.Range) {
			top.Results, in = append(top.Results, r), true
		}
		if slices.Contains(ScaleRanges, r.Range) {
			bottom.Results, in = append(bottom.Results, r), true
		}
		if !in {
			other.Results = append(other.Results, r)
		}
	}
	var out []Panel
	for _, p := range []Panel{top, bottom, other} {
		if len(p.Results) > 0 {
			out = append(out, p)
		}
	}
	return out
}

// The figure's geometry, in SVG user units.
const (
	svgWidth     = 800
	panelHeight  = 300
	marginLeft   = 64
	marginRight  = 250 // the legend
	marginTop    = 34
	marginBottom = 46
)

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"}

// WriteSVG draws panels one above the other as an SVG image, like Figure
// 16: for each result, the cumulative percent of trials (y) that had a
// leader again within a time (x, milliseconds, logarithmic as in the
// paper). Each line is labelled with its range and its number of trials;
// trials that never elected a leader keep their line below 100%.
func WriteSVG(w io.Writer, panels []Panel) error {
	bw := bufio.NewWriter(w)
	height := len(panels) * panelHeight
	fmt.Fprintf(bw, `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">
<rect width="100%%" height="100%%" fill="white"/>
`, svgWidth, height, svgWidth, height)
	for i, p := range panels {
		writePanel(bw, p, float64(i*panelHeight))
	}
	fmt.Fprintln(bw, "</svg>")
	return bw.Flush()
}

func writePanel(w io.Writer, p Panel, top float64) {
	x0, x1 := float64(marginLeft), float64(svgWidth-marginRight)
	y0, y1 := top+panelHeight-marginBottom, top+marginTop // y0 is 0%, y1 100%

	// The x axis spans whole decades around every time drawn.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range p.Results {
		for _, c := range r.CDF() {
			v := msOf(c.Time)
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	if math.IsInf(lo, 1) {
		lo, hi = 10, 1000
	}
	dlo := math.Floor(math.Log10(math.Max(lo, 1e-3)))
	dhi := math.Ceil(math.Log10(math.Max(hi, 1e-3)))
	if dhi <= dlo {
		dhi = dlo + 1
	}
	xOf := func(v float64) float64 {
		return x0 + (math.Log10(math.Max(v, 1e-3))-dlo)/(dhi-dlo)*(x1-x0)
	}
	yOf := func(f float64) float64 { return y0 + f*(y1-y0) }

	fmt.Fprintf(w, "<g class=\"panel\">\n<text x=\"%.1f\" y=\"%.1f\" font-size=\"13\" font-weight=\"bold\">%s</text>\n",
		x0, top+20, html.EscapeString(p.Title))
	// Grid and ticks: every decade labelled, 2× and 5× unlabelled.
	for d := dlo; d <= dhi; d++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, d)
			if d == dhi && m > 1 {
				break
			}
			x := xOf(v)
			stroke := "#eeeeee"
			if m == 1 {
				stroke = "#cccccc"
				fmt.Fprintf(w, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n", x, y0+16, formatMS(v))
			}
			fmt.Fprintf(w, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", x, y0, x, y1, stroke)
		}
	}
	for pct := 0; pct <= 100; pct += 20 {
		y := yOf(float64(pct) / 100)
		fmt.Fprintf(w, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#cccccc\"/>\n", x0, y, x1, y)
		fmt.Fprintf(w, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%d%%</text>\n", x0-6, y+4, pct)
	}
	fmt.Fprintf(w, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"black\"/>\n", x0, y1, x1-x0, y0-y1)
	fmt.Fprintf(w, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">time without leader (ms, log scale)</text>\n", (x0+x1)/2, y0+34)
	fmt.Fprintf(w, "<text transform=\"translate(%.1f %.1f) rotate(-90)\" text-anchor=\"middle\">cumulative percent</text>\n", x0-44, (y0+y1)/2)

	for i, r := range p.Results {
		color := palette[i%len(palette)]
		cdf := r.CDF()
		if len(cdf) > 0 {
			fmt.Fprintf(w, "<polyline class=\"cdf\" data-range=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"", html.EscapeString(r.Range.String()), color)
			prev := 0.0
			for _, c := range cdf {
				x := xOf(msOf(c.Time))
				fmt.Fprintf(w, "%.1f,%.1f %.1f,%.1f ", x, yOf(prev), x, yOf(c.Fraction))
				prev = c.Fraction
			}
			fmt.Fprintln(w, "\"/>")
		}
		label := fmt.Sprintf("%v  n=%d", r.Range, len(r.Trials)-r.Unstable)
		if r.Unstable > 0 {
			label += fmt.Sprintf(" (+%d unstable)", r.Unstable)
		}
		if r.TimedOut > 0 {
			label += fmt.Sprintf(", %d > %s", r.TimedOut, formatMS(msOf(r.Limit))+"ms")
			if r.Limit%time.Second == 0 {
				label = label[:strings.LastIndex(label, " ")+1] + fmt.Sprintf("%ds", r.Limit/time.Second)
			}
		}
		ly := y1 + 8 + float64(i)*18
		fmt.Fprintf(w, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>\n", x1+12, ly, x1+30, ly, color)
		fmt.Fprintf(w, "<text x=\"%.1f\" y=\"%.1f\">%s</text>\n", x1+35, ly+4, html.EscapeString(label))
	}
	fmt.Fprintln(w, "</g>")
}

func msOf(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func formatMS(v float64) string {
	if v >= 1 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%g", v)
}
