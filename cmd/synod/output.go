package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
)

// printRun prints the summary of one run: properties, messages by type,
// cost beside the textbook, virtual time.
func printRun(w io.Writer, spec *runSpec, r *runResult) {
	a := spec.alg
	name := a.Name
	if spec.variant != "" {
		name += " --variant " + spec.variant + " (broken on purpose)"
	}
	fmt.Fprintf(w, "%s: %s\n", name, a.Summary)
	if spec.live {
		fmt.Fprintf(w, "live run of %d nodes: %d events over %v of wall-clock time\n\n", spec.nodes, r.steps, r.end.Round(time.Microsecond))
	} else {
		cfg := spec.base
		fmt.Fprintf(w, "%d nodes, seed %d; %s\n", spec.nodes, r.seed, cfg.Describe())
		stop := "quiescent"
		if r.end >= spec.length {
			stop = "time limit"
		}
		fmt.Fprintf(w, "ran to %v of virtual time (%s), %d events\n\n", r.end.Round(time.Microsecond), stop, r.steps)
	}

	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROPERTY\tRESULT\tDETAIL")
	for _, c := range r.checks {
		res := "pass"
		if !c.OK {
			res = "FAIL"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Property, res, c.Detail)
	}
	tw.Flush()
	fmt.Fprintln(w)
	m := r.metrics
	m.Table(w)
	fmt.Fprintln(w)
	tb := a.Textbook(spec.nodes)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MEASURE\tMEASURED\tTEXTBOOK")
	if m.Requests > 0 || tb.PerOp > 0 {
		fmt.Fprintf(tw, "operations completed\t%d of %d\t\n", m.Replies, m.Requests)
		fmt.Fprintf(tw, "messages per operation\t%s\t%s\n", num(m.MessagesPerOp()), textbookCell(tb))
	}
	if m.Sent > 0 {
		fmt.Fprintf(tw, "bytes per message\t%.1f\t%s\n", float64(m.Bytes)/float64(m.Sent), noteCell(tb))
	}
	clock := "virtual"
	if spec.live {
		clock = "wall-clock"
	}
	fmt.Fprintf(tw, "%s time to completion\t%v\t\n", clock, m.Completion.Round(time.Microsecond))
	if m.LastRound > 0 {
		fmt.Fprintf(tw, "rounds to completion\t%d\t\n", m.LastRound)
	}
	if a.Costs != nil && r.trace != nil {
		for _, c := range a.Costs(r.trace, spec.nodes) {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", c.Name, c, c.Textbook)
		}
	}
	tw.Flush()
}

func noteCell(tb textbook) string {
	if tb.Note != "" {
		return tb.Note
	}
	return ""
}

// printSweep summarizes many seeds: each property's pass count and the
// spread of the measurements.
func printSweep(w io.Writer, spec *runSpec, results []runResult, wall time.Duration) {
	a := spec.alg
	fmt.Fprintf(w, "%s: %d seeds from %d, %d nodes; %s (%v wall time)\n\n", a.Name, len(results), results[0].seed, spec.nodes, spec.base.Describe(), wall.Round(time.Millisecond))
	type tally struct {
		pass, fail int
		first      uint64
		detail     string
	}
	var order []string
	tallies := map[string]*tally{}
	broken := 0
	var perOp, completion []float64
	for _, r := range results {
		if r.err != nil {
			broken++
			continue
		}
		for _, c := range r.checks {
			t := tallies[c.Property]
			if t == nil {
				t = &tally{}
				tallies[c.Property] = t
				order = append(order, c.Property)
			}
			if c.OK {
				t.pass++
			} else {
				if t.fail == 0 {
					t.first, t.detail = r.seed, c.Detail
				}
				t.fail++
			}
		}
		if r.metrics.Replies > 0 {
			perOp = append(perOp, r.metrics.MessagesPerOp())
		}
		completion = append(completion, float64(r.metrics.Completion))
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROPERTY\tPASSED\tFIRST FAILURE")
	for _, p := range order {
		t := tallies[p]
		first := ""
		if t.fail > 0 {
			first = fmt.Sprintf("seed %d: %s", t.first, t.detail)
		}
		fmt.Fprintf(tw, "%s\t%d/%d\t%s\n", p, t.pass, t.pass+t.fail, first)
	}
	tw.Flush()
	if broken > 0 {
		fmt.Fprintf(w, "%d runs broke before they could be checked:\n", broken)
		for _, r := range results {
			if r.err != nil {
				fmt.Fprintf(w, "  seed %d: %v\n", r.seed, r.err)
				break
			}
		}
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MEASURE\tMEAN\tMIN\tMAX\tTEXTBOOK")
	if len(perOp) > 0 {
		mean, lo, hi := stats(perOp)
		fmt.Fprintf(tw, "messages per operation\t%s\t%s\t%s\t%s\n", num(mean), num(lo), num(hi), textbookCell(a.Textbook(spec.nodes)))
	}
	if len(completion) > 0 {
		mean, lo, hi := stats(completion)
		d := func(f float64) time.Duration { return time.Duration(f).Round(time.Microsecond) }
		fmt.Fprintf(tw, "virtual time to completion\t%v\t%v\t%v\t\n", d(mean), d(lo), d(hi))
	}
	tw.Flush()
}

func stats(xs []float64) (mean, lo, hi float64) {
	lo, hi = slices.Min(xs), slices.Max(xs)
	for _, x := range xs {
		mean += x
	}
	return mean / float64(len(xs)), lo, hi
}

// progress draws a progress bar for seed sweeps on a terminal, and a line
// every tenth of the way otherwise (logs, CI).
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	total    int
	tty      bool
	lastTen  int
	finished bool
}

func newProgress(w io.Writer, total int) *progress {
	return &progress{w: w, total: total, tty: isTerminal(w)}
}

func (p *progress) update(done, failed int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		const width = 30
		fill := done * width / p.total
		fmt.Fprintf(p.w, "\r[%s%s] %d/%d seeds, %d failed", strings.Repeat("=", fill), strings.Repeat(" ", width-fill), done, p.total, failed)
		return
	}
	if ten := done * 10 / p.total; ten > p.lastTen {
		p.lastTen = ten
		fmt.Fprintf(p.w, "%d/%d seeds, %d failed\n", done, p.total, failed)
	}
}

func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty && !p.finished {
		fmt.Fprintln(p.w)
	}
	p.finished = true
}

// num prints a measurement: whole numbers in full, others to 4 significant
// digits.
func num(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', 4, 64)
}
