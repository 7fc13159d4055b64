package trace

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
)

// svgElement is one element of a parsed SVG: its name, classes and the
// classes of its ancestors.
type svgElement struct {
	name      string
	classes   []string
	ancestors []string
	attrs     map[string]string
	text      string
}

func (e svgElement) is(class string) bool     { return slices.Contains(e.classes, class) }
func (e svgElement) within(class string) bool { return slices.Contains(e.ancestors, class) }

// parseSVG checks that data is well-formed XML, read to EOF, and returns its
// elements in document order.
func parseSVG(t *testing.T, data []byte) []svgElement {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	var (
		out   []svgElement
		stack []int // indices into out of the open elements
	)
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			el := svgElement{name: tok.Name.Local, attrs: map[string]string{}}
			for _, a := range tok.Attr {
				el.attrs[a.Name.Local] = a.Value
				if a.Name.Local == "class" {
					el.classes = strings.Fields(a.Value)
				}
			}
			for _, i := range stack {
				el.ancestors = append(el.ancestors, out[i].classes...)
			}
			out = append(out, el)
			stack = append(stack, len(out)-1)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				out[stack[len(stack)-1]].text += string(tok)
			}
		}
	}
	if len(stack) != 0 {
		t.Fatalf("SVG ends with %d open elements", len(stack))
	}
	return out
}

// count returns how many elements outside the legend have the class.
func count(els []svgElement, class string) int {
	n := 0
	for _, e := range els {
		if e.is(class) && !e.within("legend") {
			n++
		}
	}
	return n
}

func TestWriteSVGSmall(t *testing.T) {
	tr := smallTrace()
	var buf bytes.Buffer
	if err := WriteSVG(&buf, tr, SVGOptions{Title: "small <test> & co"}); err != nil {
		t.Fatal(err)
	}
	els := parseSVG(t, buf.Bytes())
	if els[0].name != "svg" {
		t.Fatalf("root element is %q, want svg", els[0].name)
	}
	m := Measure(tr)
	for _, c := range []struct {
		class string
		want  int
	}{
		{"proc", tr.Nodes},   // one line per process
		{"msg", m.Delivered}, // one arrow per delivered message
		{"drop", m.Dropped},
		{"crash", m.Crashes},
		{"restart", m.Restarts},
		{"emit", m.Emitted},
		{"band", 1}, // the partition
		{"heal", 1},
		{"timer", 1},
		{"request", 1},
		{"reply", 1},
		{"down", 1}, // n2's line while it is down
		{"stub", 0}, // every message was delivered or dropped
	} {
		if got := count(els, c.class); got != c.want {
			t.Errorf("%d elements of class %q, want %d", got, c.class, c.want)
		}
	}
	// Every process line is labelled, and the labels are escaped text.
	var texts []string
	for _, e := range els {
		if e.name == "text" {
			texts = append(texts, e.text)
		}
	}
	for _, want := range []string{"n0", "n1", "n2", "small <test> & co", "ping", "ack", "decided{V:7}", "n0 n1 | n2", "heal"} {
		if !slices.Contains(texts, want) {
			t.Errorf("no text %q in the diagram; texts: %q", want, texts)
		}
	}
	if !strings.Contains(buf.String(), "&lt;hi &amp; bye&gt;") {
		t.Error("the message value is not in a tooltip, escaped")
	}
	golden(t, "small.svg", buf.Bytes())
}

func TestWriteSVGDeterministic(t *testing.T) {
	tr := syntheticRun(7, 7, 14)
	var a, b bytes.Buffer
	if err := WriteSVG(&a, tr, SVGOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := WriteSVG(&b, syntheticRun(7, 7, 14), SVGOptions{}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two drawings of the same trace differ")
	}
	els := parseSVG(t, a.Bytes())
	m := Measure(tr)
	if got := count(els, "proc"); got != 7 {
		t.Errorf("%d process lines, want 7", got)
	}
	if got := count(els, "msg"); got != m.Delivered {
		t.Errorf("%d message arrows, want %d", got, m.Delivered)
	}
	if got := count(els, "drop"); got != m.Dropped {
		t.Errorf("%d drops drawn, want %d", got, m.Dropped)
	}
	if m.Delivered < 100 || m.Dropped == 0 {
		t.Fatalf("the synthetic run is too small to test with: %v", m)
	}
	golden(t, "synthetic.svg", a.Bytes())
}

func TestWriteSVGMaxEvents(t *testing.T) {
	tr := smallTrace()
	var buf bytes.Buffer
	if err := WriteSVG(&buf, tr, SVGOptions{MaxEvents: 6}); err != nil {
		t.Fatal(err)
	}
	els := parseSVG(t, buf.Bytes())
	var warned bool
	for _, e := range els {
		if e.is("warn") && strings.Contains(e.text, "first 6 of 20 events") {
			warned = true
		}
	}
	if !warned {
		t.Error("a cut diagram does not say it was cut")
	}
	// The first 6 events: 3 starts, a request and two sends, neither
	// delivered yet: two stubs, no arrows.
	if got, want := count(els, "stub"), 2; got != want {
		t.Errorf("%d in-flight stubs, want %d", got, want)
	}
	if got := count(els, "msg"); got != 0 {
		t.Errorf("%d message arrows, want 0", got)
	}
}

func TestWriteSVGEmpty(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSVG(&buf, &Trace{}, SVGOptions{}); err != nil {
		t.Fatal(err)
	}
	parseSVG(t, buf.Bytes())
}

// TestWriteSVGEveryKind draws a trace with one event of every kind, a
// message to self and a long quiet spell.
func TestWriteSVGEveryKind(t *testing.T) {
	b := newBuilder(3)
	for n := range node.ID(3) {
		b.start(0, n)
	}
	b.nemesis(1*ms, 1, Pause, "")
	b.nemesis(1*ms, 0, ClockSet, "offset +5ms")
	self := b.send(1*ms, 0, 0, ping{From: 0}, 8)
	b.deliver(2*ms, self)
	b.tr.Record(&Event{Time: 2 * ms, Node: node.None, Kind: Note, Detail: "phase 2:\nwrites"})
	b.nemesis(3*ms, 1, Resume, "")
	lost := b.send(3*ms, 2, 2, ack{}, 3)
	b.drop(4*ms, lost, DropLoss)
	b.proc(2*time.Second, 2, Timer, nil, Event{Value: "late"})
	b.send(2*time.Second, 2, 1, ack{OK: true}, 3) // still in flight at the end
	var buf bytes.Buffer
	if err := WriteSVG(&buf, &b.tr, SVGOptions{}); err != nil {
		t.Fatal(err)
	}
	els := parseSVG(t, buf.Bytes())
	for _, c := range []struct {
		class string
		want  int
	}{
		{"proc", 3}, {"msg", 1}, {"drop", 1}, {"stub", 1}, {"paused", 1},
		{"pause", 1}, {"clockset", 1}, {"note", 1}, {"brk", 1},
	} {
		if got := count(els, c.class); got != c.want {
			t.Errorf("%d elements of class %q, want %d", got, c.class, c.want)
		}
	}
	golden(t, "every-kind.svg", buf.Bytes())
}
