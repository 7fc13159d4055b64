package trace

import (
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
)

// Splitting a trace by node and merging the parts gives an order consistent
// with happens-before, even when the nodes' wall clocks disagree.
func TestMergeRespectsHappensBefore(t *testing.T) {
	full := &Trace{Nodes: 2}
	add := func(n node.ID, k Kind, at time.Duration, clock VC) {
		full.Record(&Event{Node: n, Kind: k, Time: at, Clock: clock})
	}
	add(0, Start, 0, VC{1, 0})
	add(1, Start, 0, VC{0, 1})
	add(0, Send, 10, VC{2, 0})
	// n1's clock runs behind: its delivery is stamped earlier than the send.
	add(1, Deliver, 5, VC{2, 2})
	add(1, Send, 6, VC{2, 3})
	add(0, Deliver, 20, VC{3, 3})
	parts := []*Trace{{Nodes: 2}, {Nodes: 2}}
	for _, e := range full.Events {
		parts[e.Node].Record(&e)
	}
	merged, err := Merge(parts[1], parts[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(merged.Events) != len(full.Events) {
		t.Fatalf("merged %d events of %d", len(merged.Events), len(full.Events))
	}
	for i := range merged.Events {
		for j := i + 1; j < len(merged.Events); j++ {
			if HappensBefore(&merged.Events[j], &merged.Events[i]) {
				t.Fatalf("event %d (%v %v) placed after %d (%v %v) which it happens before", j, merged.Events[j].Kind, merged.Events[j].Clock, i, merged.Events[i].Kind, merged.Events[i].Clock)
			}
		}
		if merged.Events[i].Seq != i {
			t.Fatalf("Seq not renumbered")
		}
	}
	if _, err := Merge(&Trace{Nodes: 2}, &Trace{Nodes: 3}); err == nil {
		t.Fatal("merged traces of different sizes")
	}
}

func TestAppendWriterContinuesATrace(t *testing.T) {
	var b strings.Builder
	w, _ := NewJSONLWriter(&b, 2)
	w.Record(&Event{Node: 0, Kind: Start, Clock: VC{1, 0}})
	w.Record(&Event{Node: 0, Kind: Emit, Clock: VC{2, 0}, Type: "x"})
	_ = w.Flush()
	a := AppendJSONLWriter(&b)
	a.Record(&Event{Node: 0, Kind: Restart, Clock: VC{3, 0}})
	_ = a.Flush()
	tr, err := ReadJSONL(strings.NewReader(b.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Events) != 3 || !LastClock(tr, 0).Equal(VC{3, 0}) || LastClock(tr, 1) != nil {
		t.Fatalf("events %d, last clock %v", len(tr.Events), LastClock(tr, 0))
	}
}
