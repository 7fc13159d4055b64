package trace

import (
	"bufio"
	"cmp"
	"encoding/xml"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/synod-dev/synod/node"
)

// SVGOptions tune WriteSVG.
type SVGOptions struct {
	// Title is printed at the top ("space-time diagram" if empty).
	Title string
	// MaxEvents draws only the first MaxEvents events of the trace (0: all).
	// The picture says when it was cut.
	MaxEvents int
}

// WriteSVG draws t as a space-time (Lamport) diagram in SVG.
//
// Each process is a horizontal line, labelled n0, n1... at the left, with
// time flowing left to right. A delivered message is an arrow from its Send
// on the sender's line to its Deliver on the receiver's line, coloured by
// message type (see the legend) and labelled with the type's short name where
// there is room; a message to self is a small arc. A dropped message is an
// arrow that stops short at a red ✕, and a message still in flight when the
// trace ends is a short dashed stub. A crash is a red cross, after which the
// line is dashed and grey until a green bar marks the restart; a pause makes
// the line dotted. Emitted events are dots labelled with their short type
// name and value; timers, requests and replies are small grey circles and
// blue squares. Partitions are shaded bands until the next heal, with their
// description on top. Every mark has a tooltip with the details.
//
// Time is mapped to x so that bursts stay readable: consecutive distinct
// event times are at least a few pixels apart, events of one process at the
// same instant are spread out in order, long quiet spells are shortened
// (marked ≈ on the axis), and the axis ticks give the true virtual times.
// The output depends only on t and opts.
func WriteSVG(w io.Writer, t *Trace, opts SVGOptions) error {
	d := newDiagram(t, opts)
	d.layout()
	d.draw()
	bw := bufio.NewWriter(w)
	d.write(bw)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("trace: write svg: %w", err)
	}
	return nil
}

// Layout constants, in pixels.
const (
	svgLeft       = 64.0  // x of time zero: room for the process labels
	svgRightPad   = 150.0 // room after the last event for its labels
	svgLaneGap    = 60.0  // between process lines
	svgMinGap     = 18.0  // least gap between consecutive distinct times
	svgSubGap     = 10.0  // between events of one process at the same time
	svgMaxGap     = 200.0 // longest gap: quieter spells are shortened
	svgSpanWidth  = 720.0 // the width the whole run would take if proportional
	svgCharWidth  = 6.2   // estimated width of a 10px sans-serif character
	svgTickGap    = 64.0  // least distance between labelled axis ticks
	svgMarkerRows = 3     // rows of partition and note labels above the lines
	svgEmitLabel  = 28    // longest emitted-event label, in runes
	svgMinWidth   = 640.0
	svgMaxNodes   = 1000 // most processes drawn
)

// svgPalette colours message types: category10 without its red, which
// marks drops and crashes.
var svgPalette = []string{
	"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b",
	"#17becf", "#e377c2", "#7f7f7f", "#bcbd22", "#393b79",
}

const svgStyle = `
text{font-family:DejaVu Sans,Verdana,Arial,sans-serif;font-size:10px;fill:#222}
.title{font-size:16px;font-weight:bold}
.sub{font-size:11px;fill:#555}
.warn{font-size:11px;fill:#c62828;font-weight:bold}
.proc text{font-size:12px;font-weight:bold}
.up{stroke:#333;stroke-width:1.5}
.down{stroke:#bbb;stroke-width:1.5;stroke-dasharray:5 4}
.paused{stroke:#e69500;stroke-width:1.5;stroke-dasharray:2 3}
.msg,.drop,.stub{fill:none;stroke-width:1.3}
.key{stroke-width:2.5}
.stub{stroke-dasharray:3 3;opacity:0.6}
.x{stroke:#d62728;stroke-width:2;stroke-linecap:round}
.crash line{stroke-width:2.5}
.restart{fill:#2e9b3a}
.emit{stroke:#fff;stroke-width:1}
.timer{fill:#fff;stroke:#999;stroke-width:1}
.request{fill:#fff;stroke:#1a4fa0;stroke-width:1.2}
.reply{fill:#1a4fa0}
.start{fill:#333}
.clockset{fill:#8e44ad}
.pause{stroke:#e69500;stroke-width:2}
.band{fill:#f5a623;fill-opacity:0.13;stroke:#f5a623;stroke-opacity:0.5;stroke-dasharray:4 3}
.heal{stroke:#2e9b3a;stroke-width:1;stroke-dasharray:4 3}
.note{stroke:#888;stroke-width:1;stroke-dasharray:1 3}
.grid{stroke:#eee;stroke-width:1}
.axis{stroke:#666;stroke-width:1}
.axis text{fill:#555;text-anchor:middle}
.brk{fill:#666;font-size:12px;text-anchor:middle}
.lbl{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}
.mlbl{font-size:9px}
.band-lbl{fill:#9a5b00}
`

// diagram is a space-time diagram being laid out and drawn.
type diagram struct {
	title  string
	events []Event // the events drawn
	total  int     // events in the whole trace
	nodes  int     // processes drawn
	// allNodes is the number of processes in the trace, more than nodes
	// only when there are too many to draw.
	allNodes int

	// Message types, sorted, with their palette index, label and number
	// of messages sent; the Send of each message.
	types     []string
	color     map[string]int
	short     map[string]string
	typeCount map[string]int
	sendAt    map[uint64]int // MsgID -> index in events

	// The time axis: distinct event times ascending, and for each the x of
	// its first and last slot; the x of each event.
	times     []time.Duration
	base, end []float64
	breaks    []float64 // x of shortened quiet spells
	x         []float64

	// Partition bands, heals and notes, with the rows of their labels.
	markers  []marker
	rowEnds  []float64 // right end of the last label in each row
	markRows int

	// The frame: y of the first line and of the axis, x where lines end,
	// the picture's width and the top of the legend.
	top, bottom, right, width, legendY float64

	// The layers of the picture, back to front, and what was drawn.
	bands, grid, lanes    strings.Builder
	arrows, marks, labels strings.Builder
	lab                   labeler
	used                  map[string]bool // kinds of marks drawn, for the legend
}

// marker is a partition band, a heal or a note, with its label row.
type marker struct {
	kind      Kind
	x0, x1    float64
	text, tip string
	row       int // -1: no room for the label
}

func newDiagram(t *Trace, opts SVGOptions) *diagram {
	d := &diagram{
		events:    t.Events,
		total:     len(t.Events),
		nodes:     t.Nodes,
		color:     map[string]int{},
		short:     map[string]string{},
		used:      map[string]bool{},
		sendAt:    map[uint64]int{},
		typeCount: map[string]int{},
		title:     opts.Title,
	}
	if d.title == "" {
		d.title = "space-time diagram"
	}
	if opts.MaxEvents > 0 && len(d.events) > opts.MaxEvents {
		d.events = d.events[:opts.MaxEvents]
	}
	if d.nodes <= 0 { // not given: as many as the events name
		for i := range d.events {
			e := &d.events[i]
			d.nodes = max(d.nodes, int(e.Node)+1)
			if hasPeer(e.Kind) {
				d.nodes = max(d.nodes, int(e.Peer)+1)
			}
		}
	}
	d.allNodes = d.nodes
	d.nodes = min(d.nodes, svgMaxNodes)
	for i := range d.events {
		e := &d.events[i]
		switch e.Kind {
		case Send:
			if _, dup := d.sendAt[e.MsgID]; !dup {
				d.sendAt[e.MsgID] = i
			}
			d.typeCount[typeOf(e)]++
		case Deliver, Drop:
			if _, ok := d.typeCount[typeOf(e)]; !ok {
				d.typeCount[typeOf(e)] = 0
			}
		}
	}
	for ty := range d.typeCount {
		d.types = append(d.types, ty)
	}
	slices.Sort(d.types)
	shortCount := map[string]int{}
	for _, ty := range d.types {
		shortCount[node.ShortName(ty)]++
	}
	for i, ty := range d.types {
		d.color[ty] = i % len(svgPalette)
		s := node.ShortName(ty)
		if shortCount[s] > 1 { // two packages with the same message name
			s = ty
		}
		if s == "" {
			s = "(untyped)"
		}
		d.short[ty] = s
	}
	return d
}

// onLane reports whether an event is drawn on its node's line and so takes
// a slot there.
func (d *diagram) onLane(e *Event) bool {
	if !d.valid(e.Node) {
		return false
	}
	return e.Kind.IsProcess() || e.Kind == Pause || e.Kind == Resume || e.Kind == ClockSet
}

func (d *diagram) layout() {
	// Distinct times, and how many slots each needs: the most events any
	// one process has at that instant.
	for i := range d.events {
		d.times = append(d.times, d.events[i].Time)
	}
	slices.Sort(d.times)
	d.times = slices.Compact(d.times)
	slots := make([]int, len(d.times))
	slot := make([]int, len(d.events))
	type key struct {
		k int
		n node.ID
	}
	count := map[key]int{}
	for i := range d.events {
		e := &d.events[i]
		k := d.timeIndex(e.Time)
		if d.onLane(e) {
			slot[i] = count[key{k, e.Node}]
			count[key{k, e.Node}]++
		}
		slots[k] = max(slots[k], slot[i]+1)
	}
	var scale float64
	if n := len(d.times); n > 1 && d.times[n-1] > d.times[0] {
		scale = svgSpanWidth / float64(d.times[n-1]-d.times[0])
	}
	d.base = make([]float64, len(d.times))
	d.end = make([]float64, len(d.times))
	x := svgLeft + 16
	for k := range d.times {
		if k > 0 {
			gap := float64(d.times[k]-d.times[k-1]) * scale
			if gap > svgMaxGap {
				gap = svgMaxGap
				d.breaks = append(d.breaks, d.end[k-1]+gap/2)
			}
			x = d.end[k-1] + max(svgMinGap, gap)
		}
		d.base[k] = x
		d.end[k] = x + float64(max(slots[k], 1)-1)*svgSubGap
	}
	d.x = make([]float64, len(d.events))
	for i := range d.events {
		d.x[i] = d.base[d.timeIndex(d.events[i].Time)] + float64(slot[i])*svgSubGap
	}
	last := svgLeft + 16
	if n := len(d.end); n > 0 {
		last = d.end[n-1]
	}
	d.right = last + 24

	// Partition bands, heals and notes, and rows for their labels.
	d.collectMarkers()

	d.top = 76 + float64(d.markRows)*14
	if d.markRows > 0 {
		d.top += 8
	}
	d.bottom = d.laneY(max(d.nodes, 1)-1) + 26
	d.width = max(svgMinWidth, d.right+svgRightPad)
	d.legendY = d.bottom + 46
}

// timeIndex is the index of t in d.times.
func (d *diagram) timeIndex(t time.Duration) int {
	k, _ := slices.BinarySearch(d.times, t)
	return k
}

// xAt maps any time to x, interpolating between event times.
func (d *diagram) xAt(t time.Duration) float64 {
	n := len(d.times)
	if n == 0 {
		return svgLeft + 16
	}
	k, found := slices.BinarySearch(d.times, t)
	switch {
	case found:
		return d.base[k]
	case k == 0:
		return d.base[0]
	case k == n:
		return d.end[n-1]
	}
	t0, t1 := d.times[k-1], d.times[k]
	f := float64(t-t0) / float64(t1-t0)
	return d.end[k-1] + f*(d.base[k]-d.end[k-1])
}

// valid reports whether id is one of the diagram's processes.
func (d *diagram) valid(id node.ID) bool { return id >= 0 && int(id) < d.nodes }

func (d *diagram) laneY(n int) float64 { return d.top + float64(n)*svgLaneGap }

func (d *diagram) collectMarkers() {
	var open []int // indices into d.markers of unhealed partitions
	for i := range d.events {
		e := &d.events[i]
		switch e.Kind {
		case Partition:
			text := oneLine(e.Detail)
			if text == "" {
				text = "partition"
			}
			d.markers = append(d.markers, marker{kind: Partition, x0: d.x[i], x1: d.right, text: text,
				tip: fmt.Sprintf("%v: partition %s", e.Time, text)})
			open = append(open, len(d.markers)-1)
		case Heal:
			for _, m := range open {
				d.markers[m].x1 = d.x[i]
				d.markers[m].tip += fmt.Sprintf(", healed at %v", e.Time)
			}
			open = open[:0]
			d.markers = append(d.markers, marker{kind: Heal, x0: d.x[i], text: "heal",
				tip: strings.TrimSpace(fmt.Sprintf("%v: heal %s", e.Time, oneLine(e.Detail)))})
		case Note:
			d.markers = append(d.markers, marker{kind: Note, x0: d.x[i], text: oneLine(e.Detail),
				tip: fmt.Sprintf("%v: %s", e.Time, oneLine(e.Detail))})
		}
	}
	for i := range d.markers {
		m := &d.markers[i]
		m.text = truncate(m.text, 40)
		w := textWidth(m.text)
		m.row = -1
		for r := 0; r < svgMarkerRows; r++ {
			if r == len(d.rowEnds) {
				d.rowEnds = append(d.rowEnds, math.Inf(-1))
			}
			if m.x0 >= d.rowEnds[r]+6 {
				m.row = r
				d.rowEnds[r] = m.x0 + w
				d.markRows = max(d.markRows, r+1)
				break
			}
		}
	}
}

func (d *diagram) draw() {
	d.drawMarkers()
	d.drawAxis()
	d.drawLanes()
	d.drawMessages()
	d.drawMarks()
}

func (d *diagram) drawMarkers() {
	y0 := d.top - 22
	for _, m := range d.markers {
		labelY := 72 + float64(m.row)*14
		switch m.kind {
		case Partition:
			d.used["partition"] = true
			fmt.Fprintf(&d.bands, `<rect class="band" x="%s" y="%s" width="%s" height="%s"><title>%s</title></rect>`+"\n",
				num(m.x0), num(y0), num(max(m.x1-m.x0, 2)), num(d.bottom-y0-10), esc(m.tip))
			if m.row >= 0 {
				fmt.Fprintf(&d.bands, `<text class="band-lbl" x="%s" y="%s">%s</text>`+"\n", num(m.x0), num(labelY), esc(m.text))
			}
		case Heal, Note:
			class := "heal"
			if m.kind == Note {
				class = "note"
			}
			d.used[class] = true
			top := y0
			if m.row >= 0 {
				top = labelY + 3
				fmt.Fprintf(&d.bands, `<text x="%s" y="%s">%s</text>`+"\n", num(m.x0), num(labelY), esc(m.text))
			}
			fmt.Fprintf(&d.bands, `<line class="%s" x1="%s" y1="%s" x2="%s" y2="%s"><title>%s</title></line>`+"\n",
				class, num(m.x0), num(top), num(m.x0), num(d.bottom-10), esc(m.tip))
		}
	}
}

func (d *diagram) drawAxis() {
	y := d.bottom
	fmt.Fprintf(&d.grid, `<g class="axis"><line x1="%s" y1="%s" x2="%s" y2="%s"/>`+"\n", num(svgLeft), num(y), num(d.right), num(y))
	for _, tk := range d.ticks() {
		fmt.Fprintf(&d.grid, `<line class="grid" x1="%s" y1="%s" x2="%s" y2="%s"/>`, num(tk.x), num(d.top-20), num(tk.x), num(y))
		fmt.Fprintf(&d.grid, `<line x1="%s" y1="%s" x2="%s" y2="%s"/>`, num(tk.x), num(y), num(tk.x), num(y+4))
		fmt.Fprintf(&d.grid, `<text x="%s" y="%s">%s</text>`+"\n", num(tk.x), num(y+16), esc(tk.t.String()))
	}
	for _, bx := range d.breaks {
		fmt.Fprintf(&d.grid, `<text class="brk lbl" x="%s" y="%s">≈<title>a quiet spell, shortened</title></text>`+"\n", num(bx), num(y+4))
	}
	fmt.Fprintf(&d.grid, `<text x="%s" y="%s" style="text-anchor:start">time →</text></g>`+"\n", num(d.right+6), num(y+4))
}

type tick struct {
	t time.Duration
	x float64
}

// ticks chooses labelled times for the axis: round values, the roundest
// first, each at least svgTickGap pixels from the others.
func (d *diagram) ticks() []tick {
	if len(d.times) == 0 {
		return nil
	}
	t0, t1 := d.times[0], d.times[len(d.times)-1]
	var out []tick
	free := func(x float64) bool {
		for _, tk := range out {
			if math.Abs(tk.x-x) < svgTickGap {
				return false
			}
		}
		return true
	}
	add := func(t time.Duration) {
		if x := d.xAt(t); free(x) {
			out = append(out, tick{t, x})
		}
	}
	add(t0)
	span := t1 - t0
	if span > 0 {
		coarsest := niceStep(span)
		for step := coarsest; step >= 1 && step >= coarsest/200; step = smallerStep(step) {
			for t := (t0 + step - 1) / step * step; t <= t1; t += step {
				add(t)
			}
		}
	}
	slices.SortFunc(out, func(a, b tick) int { return cmp.Compare(a.t, b.t) })
	return out
}

// niceStep is the largest 1, 2 or 5 times a power of ten not above d.
func niceStep(d time.Duration) time.Duration {
	p := time.Duration(1)
	for p*10 <= d {
		p *= 10
	}
	switch {
	case 5*p <= d:
		return 5 * p
	case 2*p <= d:
		return 2 * p
	}
	return p
}

// smallerStep is the next nice step below s.
func smallerStep(s time.Duration) time.Duration {
	for p := time.Duration(1); p <= s; p *= 10 {
		switch s {
		case 5 * p:
			return 2 * p
		case 2 * p:
			return p
		case p:
			return p / 2 // 10^k -> 5*10^(k-1)
		}
	}
	return s / 2
}

func (d *diagram) drawLanes() {
	// The crashes, restarts, pauses and resumes of each process.
	changes := make([][]int, d.nodes)
	for i := range d.events {
		e := &d.events[i]
		switch e.Kind {
		case Crash, Restart, Pause, Resume:
			if d.valid(e.Node) {
				changes[e.Node] = append(changes[e.Node], i)
			}
		}
	}
	for n := range d.nodes {
		y := d.laneY(n)
		fmt.Fprintf(&d.lanes, `<g class="proc" id="n%d"><text x="%s" y="%s" text-anchor="end">n%d</text>`, n, num(svgLeft-12), num(y+4), n)
		x, state := svgLeft, "up"
		crashed, paused := false, false
		for _, i := range changes[n] {
			switch d.events[i].Kind {
			case Crash:
				crashed = true
			case Restart:
				crashed = false
			case Pause:
				paused = true
			case Resume:
				paused = false
			}
			next := "up"
			if crashed {
				next = "down"
			} else if paused {
				next = "paused"
			}
			if next != state {
				d.laneSegment(state, x, d.x[i], y)
				x, state = d.x[i], next
			}
		}
		d.laneSegment(state, x, d.right, y)
		d.lanes.WriteString("</g>\n")
	}
}

func (d *diagram) laneSegment(class string, x0, x1, y float64) {
	if x1 > x0 {
		fmt.Fprintf(&d.lanes, `<line class="%s" x1="%s" y1="%s" x2="%s" y2="%s"/>`, class, num(x0), num(y), num(x1), num(y))
	}
}

// point is a position in the picture.
type point struct{ x, y float64 }

func (d *diagram) at(i int) point {
	return point{d.x[i], d.laneY(int(d.events[i].Node))}
}

func (d *diagram) drawMessages() {
	done := map[uint64]bool{} // messages delivered or dropped
	for i := range d.events {
		e := &d.events[i]
		switch e.Kind {
		case Deliver:
			done[e.MsgID] = true
			d.drawDeliver(i)
		case Drop:
			done[e.MsgID] = true
			d.drawDrop(i)
		}
	}
	// Messages still in flight at the end of the (possibly cut) trace.
	for i := range d.events {
		e := &d.events[i]
		if e.Kind != Send || done[e.MsgID] || !d.valid(e.Node) || !d.valid(e.Peer) {
			continue
		}
		if d.sendAt[e.MsgID] != i {
			continue
		}
		d.used["stub"] = true
		p := d.at(i)
		q := point{p.x + 26, p.y + 16}
		if to := d.laneY(int(e.Peer)); to < p.y {
			q.y = p.y - 16
		} else if to == p.y {
			q.y = p.y - 10
		}
		ty := typeOf(e)
		fmt.Fprintf(&d.arrows, `<line class="stub" stroke="%s" x1="%s" y1="%s" x2="%s" y2="%s"><title>%s at %v, not delivered by the end of the trace</title></line>`+"\n",
			svgPalette[d.color[ty]], num(p.x), num(p.y), num(q.x), num(q.y), esc(d.msgTip(e)), e.Time)
	}
}

// msgTip describes a message for tooltips: "ack n0→n2 (msg 7, 40 B) {...}".
func (d *diagram) msgTip(e *Event) string {
	from, to := e.Node, e.Peer
	if e.Kind == Deliver {
		from, to = e.Peer, e.Node
	}
	if e.Kind == Drop {
		if s, ok := d.sendAt[e.MsgID]; ok {
			from = d.events[s].Node
		}
	}
	s := fmt.Sprintf("%s %v→%v (msg %d", typeLabel(typeOf(e)), from, to, e.MsgID)
	if e.Size > 0 {
		s += fmt.Sprintf(", %d B", e.Size)
	}
	s += ")"
	if v := compactValue(e.Value, 120); v != "" {
		s += " " + v
	}
	return s
}

func (d *diagram) drawDeliver(i int) {
	e := &d.events[i]
	if !d.valid(e.Node) {
		return
	}
	q := d.at(i)
	var p point
	sentAt := "?"
	if s, ok := d.sendAt[e.MsgID]; ok && d.valid(d.events[s].Node) {
		p = d.at(s)
		sentAt = d.events[s].Time.String()
	} else if d.valid(e.Peer) { // no Send in the trace: a short arrow
		p = point{q.x - svgMinGap, d.laneY(int(e.Peer))}
	} else {
		return
	}
	ty := typeOf(e)
	c := d.color[ty]
	tip := fmt.Sprintf("%s: sent %s, delivered %v", d.msgTip(e), sentAt, e.Time)
	fmt.Fprintf(&d.arrows, `<path class="msg" stroke="%s" marker-end="url(#ah%d)" d="%s"><title>%s</title></path>`+"\n",
		svgPalette[c], c, msgPath(p, q, 1), esc(tip))
	d.labelMessage(p, q, d.short[ty], svgPalette[c])
}

func (d *diagram) drawDrop(i int) {
	e := &d.events[i]
	if !d.valid(e.Peer) {
		return
	}
	to := point{d.x[i], d.laneY(int(e.Peer))}
	var from point
	if s, ok := d.sendAt[e.MsgID]; ok && d.valid(d.events[s].Node) {
		from = d.at(s)
	} else if d.valid(e.Node) { // no Send in the trace: a short arrow
		from = point{to.x - 2*svgMinGap, d.laneY(int(e.Node))}
	} else {
		return
	}
	d.used["drop"] = true
	ty := typeOf(e)
	c := d.color[ty]
	end := partial(from, to, 0.72)
	reason := e.Reason
	if reason == "" {
		reason = "unknown reason"
	}
	fmt.Fprintf(&d.arrows, `<g class="drop"><path stroke="%s" d="%s"/>%s<title>%s dropped at %v: %s</title></g>`+"\n",
		svgPalette[c], msgPath(from, to, 0.72), cross(end, 4), esc(d.msgTip(e)), e.Time, esc(reason))
}

// msgPath is the SVG path of a message from p to q, or of its first part
// (frac < 1): a straight line, or an arc when both ends are on one line.
func msgPath(p, q point, frac float64) string {
	if p.y != q.y {
		end := point{p.x + frac*(q.x-p.x), p.y + frac*(q.y-p.y)}
		return "M" + num(p.x) + "," + num(p.y) + " L" + num(end.x) + "," + num(end.y)
	}
	// A quadratic arc above the line, split at frac (de Casteljau).
	c := point{(p.x + q.x) / 2, p.y - 22}
	c1 := point{p.x + frac*(c.x-p.x), p.y + frac*(c.y-p.y)}
	c2 := point{c.x + frac*(q.x-c.x), c.y + frac*(q.y-c.y)}
	end := point{c1.x + frac*(c2.x-c1.x), c1.y + frac*(c2.y-c1.y)}
	return "M" + num(p.x) + "," + num(p.y) + " Q" + num(c1.x) + "," + num(c1.y) + " " + num(end.x) + "," + num(end.y)
}

// partial is the point a fraction of the way along the message path.
func partial(p, q point, frac float64) point {
	if p.y != q.y {
		return point{p.x + frac*(q.x-p.x), p.y + frac*(q.y-p.y)}
	}
	c := point{(p.x + q.x) / 2, p.y - 22}
	u := 1 - frac
	return point{u*u*p.x + 2*u*frac*c.x + frac*frac*q.x, u*u*p.y + 2*u*frac*c.y + frac*frac*q.y}
}

// cross is a ✕ of half-size r centred on p.
func cross(p point, r float64) string {
	return fmt.Sprintf(`<path class="x" d="M%s,%s L%s,%s M%s,%s L%s,%s"/>`,
		num(p.x-r), num(p.y-r), num(p.x+r), num(p.y+r), num(p.x-r), num(p.y+r), num(p.x+r), num(p.y-r))
}

// labelMessage puts the type name on a message arrow if it fits.
func (d *diagram) labelMessage(p, q point, text, colour string) {
	w := textWidth(text)
	if p.y == q.y { // an arc: label over its top
		if q.x-p.x < w*0.6 {
			return
		}
		c := partial(p, q, 0.5)
		d.label(c.x, c.y-3, "middle", "lbl mlbl", text, colour)
		return
	}
	if math.Hypot(q.x-p.x, q.y-p.y) < w+24 {
		return
	}
	// Try the middle of each gap between process lines that the arrow
	// crosses, the one nearest the arrow's middle first, so that labels
	// never sit on a line.
	var fracs []float64
	for y := min(p.y, q.y) + svgLaneGap/2; y < max(p.y, q.y); y += svgLaneGap {
		fracs = append(fracs, (y-p.y)/(q.y-p.y))
	}
	slices.SortStableFunc(fracs, func(a, b float64) int {
		return cmp.Compare(math.Abs(a-0.5), math.Abs(b-0.5))
	})
	for _, f := range fracs {
		c := partial(p, q, f)
		if d.label(c.x, c.y+3.5, "middle", "lbl mlbl", text, colour) {
			return
		}
	}
}

// label writes text at (x, y) unless it would overlap a label already
// placed; it reports whether it did.
func (d *diagram) label(x, y float64, anchor, class, text, colour string) bool {
	w := textWidth(text)
	x0 := x
	switch anchor {
	case "middle":
		x0 -= w / 2
	case "end":
		x0 -= w
	}
	r := rect{x0 - 1, y - 9, x0 + w + 1, y + 3}
	if !d.lab.place(r) {
		return false
	}
	fill := ""
	if colour != "" {
		fill = ` style="fill:` + colour + `"`
	}
	fmt.Fprintf(&d.labels, `<text class="%s" x="%s" y="%s" text-anchor="%s"%s>%s</text>`+"\n",
		class, num(x), num(y), anchor, fill, esc(text))
	return true
}

func (d *diagram) drawMarks() {
	// Emitted events first: their labels take precedence over others.
	for i := range d.events {
		e := &d.events[i]
		if e.Kind != Emit || !d.valid(e.Node) {
			continue
		}
		d.used["emit"] = true
		p := d.at(i)
		fmt.Fprintf(&d.marks, `<circle class="emit" cx="%s" cy="%s" r="4" fill="#111"><title>%v %v: %s</title></circle>`+"\n",
			num(p.x), num(p.y), e.Time, e.Node, esc(describe(e)))
		text := node.ShortName(typeOf(e)) + compactValue(e.Value, 0)
		text = truncate(text, svgEmitLabel)
		if !d.label(p.x+2, p.y-8, "start", "lbl", text, "") {
			d.label(p.x+2, p.y+16, "start", "lbl", text, "")
		}
	}
	for i := range d.events {
		e := &d.events[i]
		if !d.onLane(e) {
			continue
		}
		p := d.at(i)
		tip := fmt.Sprintf("<title>%v %v: %s</title>", e.Time, e.Node, esc(describe(e)))
		switch e.Kind {
		case Start:
			fmt.Fprintf(&d.marks, `<circle class="start" cx="%s" cy="%s" r="2">%s</circle>`+"\n", num(p.x), num(p.y), tip)
		case Timer:
			d.used["timer"] = true
			fmt.Fprintf(&d.marks, `<circle class="timer" cx="%s" cy="%s" r="2.5">%s</circle>`+"\n", num(p.x), num(p.y), tip)
		case Request, Reply:
			d.used["request"] = true
			fmt.Fprintf(&d.marks, `<rect class="%s" x="%s" y="%s" width="6" height="6">%s</rect>`+"\n",
				e.Kind, num(p.x-3), num(p.y-3), tip)
		case Crash:
			d.used["crash"] = true
			fmt.Fprintf(&d.marks, `<g class="crash">%s%s</g>`+"\n", cross(p, 6), tip)
		case Restart:
			d.used["restart"] = true
			fmt.Fprintf(&d.marks, `<rect class="restart" x="%s" y="%s" width="4" height="16" rx="1.5">%s</rect>`+"\n",
				num(p.x-2), num(p.y-8), tip)
		case Pause:
			d.used["pause"] = true
			fmt.Fprintf(&d.marks, `<path class="pause" d="M%s,%s v12 M%s,%s v12">%s</path>`+"\n",
				num(p.x-2), num(p.y-6), num(p.x+2), num(p.y-6), tip)
		case ClockSet:
			d.used["clockset"] = true
			fmt.Fprintf(&d.marks, `<path class="clockset" d="M%s,%s l4,4 l-4,4 l-4,-4 z">%s</path>`+"\n",
				num(p.x), num(p.y-4), tip)
		}
	}
}

func (d *diagram) write(w *bufio.Writer) {
	legend := d.legend()
	height := d.legendY + legend.height + 14
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" viewBox="0 0 %s %s">`+"\n",
		num(d.width), num(height), num(d.width), num(height))
	fmt.Fprintf(w, "<title>%s</title>\n<style>%s</style>\n<defs>\n", esc(d.title), svgStyle)
	for i, c := range svgPalette {
		fmt.Fprintf(w, `<marker id="ah%d" markerWidth="8" markerHeight="6" refX="8" refY="3" orient="auto" markerUnits="userSpaceOnUse"><path d="M0,0 L8,3 L0,6 z" fill="%s"/></marker>`+"\n", i, c)
	}
	w.WriteString("</defs>\n")
	fmt.Fprintf(w, `<rect width="100%%" height="100%%" fill="#fff"/>`+"\n")
	fmt.Fprintf(w, `<text class="title" x="16" y="24">%s</text>`+"\n", esc(d.title))
	fmt.Fprintf(w, `<text class="sub" x="16" y="42">%s</text>`+"\n", esc(d.subtitle()))
	var cut []string
	if len(d.events) < d.total {
		cut = append(cut, fmt.Sprintf("the first %d of %d events", len(d.events), d.total))
	}
	if d.nodes < d.allNodes {
		cut = append(cut, fmt.Sprintf("the first %d of %d processes", d.nodes, d.allNodes))
	}
	if len(cut) > 0 {
		fmt.Fprintf(w, `<text class="warn" x="16" y="57">showing only %s</text>`+"\n", esc(strings.Join(cut, " and ")))
	}
	for _, layer := range []*strings.Builder{&d.bands, &d.grid, &d.lanes, &d.arrows, &d.marks, &d.labels} {
		w.WriteString(layer.String())
	}
	w.WriteString(legend.svg)
	w.WriteString("</svg>\n")
}

func (d *diagram) subtitle() string {
	msgs := 0
	for _, n := range d.typeCount {
		msgs += n
	}
	s := fmt.Sprintf("%d processes, %d events, %d messages", d.nodes, len(d.events), msgs)
	if n := len(d.times); n > 0 {
		s += fmt.Sprintf(", time %v to %v", d.times[0], d.times[n-1])
	}
	return s
}

type legendBox struct {
	svg    string
	height float64
}

// legend lists the message types with their colours, then the marks used.
func (d *diagram) legend() legendBox {
	var b strings.Builder
	x, y := 16.0, d.legendY
	right := d.width - 16
	item := func(w float64, draw func(x, y float64) string) {
		if x+w > right && x > 16 {
			x, y = 16, y+18
		}
		b.WriteString(draw(x, y))
		x += w + 18
	}
	b.WriteString(`<g class="legend">` + "\n")
	for _, ty := range d.types {
		text := fmt.Sprintf("%s (%d)", d.short[ty], d.typeCount[ty])
		c := svgPalette[d.color[ty]]
		item(26+legendWidth(text), func(x, y float64) string {
			return fmt.Sprintf(`<line class="key" stroke="%s" x1="%s" y1="%s" x2="%s" y2="%s"/><text x="%s" y="%s">%s</text>`+"\n",
				c, num(x), num(y-3), num(x+20), num(y-3), num(x+26), num(y+1), esc(text))
		})
	}
	if len(d.types) > 0 {
		x, y = 16, y+18
	}
	marks := []struct {
		key, text string
		icon      func(x, y float64) string
	}{
		{"emit", "emitted event", func(x, y float64) string {
			return fmt.Sprintf(`<circle class="emit" cx="%s" cy="%s" r="4" fill="#111"/>`, num(x+5), num(y-3))
		}},
		{"drop", "message dropped", func(x, y float64) string { return cross(point{x + 5, y - 3}, 4) }},
		{"stub", "in flight at the end", func(x, y float64) string {
			return fmt.Sprintf(`<line class="stub" stroke="#555" x1="%s" y1="%s" x2="%s" y2="%s"/>`, num(x), num(y-7), num(x+10), num(y+1))
		}},
		{"crash", "crash (line dashed while down)", func(x, y float64) string {
			return `<g class="crash">` + cross(point{x + 5, y - 3}, 5) + `</g>`
		}},
		{"restart", "restart", func(x, y float64) string {
			return fmt.Sprintf(`<rect class="restart" x="%s" y="%s" width="4" height="12" rx="1.5"/>`, num(x+3), num(y-9))
		}},
		{"pause", "pause (line dotted)", func(x, y float64) string {
			return fmt.Sprintf(`<path class="pause" d="M%s,%s v10 M%s,%s v10"/>`, num(x+3), num(y-8), num(x+7), num(y-8))
		}},
		{"timer", "timer", func(x, y float64) string {
			return fmt.Sprintf(`<circle class="timer" cx="%s" cy="%s" r="2.5"/>`, num(x+5), num(y-3))
		}},
		{"request", "request / reply", func(x, y float64) string {
			return fmt.Sprintf(`<rect class="request" x="%s" y="%s" width="5" height="5"/><rect class="reply" x="%s" y="%s" width="5" height="5"/>`,
				num(x-2), num(y-6), num(x+6), num(y-6))
		}},
		{"clockset", "clock changed", func(x, y float64) string {
			return fmt.Sprintf(`<path class="clockset" d="M%s,%s l4,4 l-4,4 l-4,-4 z"/>`, num(x+5), num(y-7))
		}},
		{"partition", "partition until heal", func(x, y float64) string {
			return fmt.Sprintf(`<rect class="band" x="%s" y="%s" width="12" height="10"/>`, num(x), num(y-8))
		}},
		{"heal", "heal", func(x, y float64) string {
			return fmt.Sprintf(`<line class="heal" x1="%s" y1="%s" x2="%s" y2="%s"/>`, num(x+5), num(y-9), num(x+5), num(y+2))
		}},
		{"note", "note", func(x, y float64) string {
			return fmt.Sprintf(`<line class="note" x1="%s" y1="%s" x2="%s" y2="%s"/>`, num(x+5), num(y-9), num(x+5), num(y+2))
		}},
	}
	drewMark := false
	for _, m := range marks {
		if !d.used[m.key] {
			continue
		}
		drewMark = true
		icon, text := m.icon, m.text
		item(20+legendWidth(text), func(x, y float64) string {
			return icon(x, y) + fmt.Sprintf(`<text x="%s" y="%s">%s</text>`+"\n", num(x+16), num(y+1), esc(text))
		})
	}
	if !drewMark {
		y -= 18
	}
	b.WriteString("</g>\n")
	return legendBox{svg: b.String(), height: y - d.legendY + 6}
}

// rect is an axis-aligned box: a label's extent.
type rect struct{ x0, y0, x1, y1 float64 }

// labeler remembers where labels went, so that new ones do not overlap
// them. Boxes are bucketed by x to keep the check cheap on big diagrams.
type labeler struct {
	buckets map[int][]rect
}

const labelBucket = 128.0

func (l *labeler) place(r rect) bool {
	lo, hi := int(math.Floor(r.x0/labelBucket)), int(math.Floor(r.x1/labelBucket))
	for b := lo; b <= hi; b++ {
		for _, o := range l.buckets[b] {
			if r.x0 < o.x1 && o.x0 < r.x1 && r.y0 < o.y1 && o.y0 < r.y1 {
				return false
			}
		}
	}
	if l.buckets == nil {
		l.buckets = map[int][]rect{}
	}
	for b := lo; b <= hi; b++ {
		l.buckets[b] = append(l.buckets[b], r)
	}
	return true
}

// textWidth estimates the width of a 10px label.
func textWidth(s string) float64 {
	return float64(len([]rune(s))) * svgCharWidth
}

// legendWidth estimates the width of legend text more tightly than
// textWidth, which errs on the wide side to keep labels apart.
func legendWidth(s string) float64 {
	return float64(len([]rune(s))) * 5.6
}

// num formats a coordinate with at most one decimal.
func num(f float64) string {
	s := strconv.FormatFloat(math.Round(f*10)/10, 'f', 1, 64)
	s = strings.TrimSuffix(s, ".0")
	if s == "-0" {
		s = "0"
	}
	return s
}

// esc escapes text for XML content and attribute values.
func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
