package mutex

import (
	"regexp"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// tb writes a trace by hand, one event per millisecond.
type tb struct {
	t   trace.Trace
	ids uint64
}

func (b *tb) add(e trace.Event) *tb {
	e.Time = time.Duration(len(b.t.Events)+1) * time.Millisecond
	b.t.Nodes = max(b.t.Nodes, int(e.Node)+1, int(e.Peer)+1)
	b.t.Record(&e)
	return b
}

func (b *tb) request(n node.ID, id node.RequestID) *tb {
	return b.add(trace.Event{Kind: trace.Request, Node: n, Request: id, Value: Acquire{}})
}
func (b *tb) enter(n node.ID, id node.RequestID, ts uint64) *tb {
	return b.add(trace.Event{Kind: trace.Emit, Node: n, Value: EnterCS{Request: id, TS: ts}})
}
func (b *tb) exit(n node.ID, id node.RequestID) *tb {
	return b.add(trace.Event{Kind: trace.Emit, Node: n, Value: ExitCS{Request: id}})
}
func (b *tb) crash(n node.ID) *tb   { return b.add(trace.Event{Kind: trace.Crash, Node: n}) }
func (b *tb) restart(n node.ID) *tb { return b.add(trace.Event{Kind: trace.Restart, Node: n}) }

// message sends msg from one process to another and delivers it.
func (b *tb) message(from, to node.ID, msg any) *tb {
	b.ids++
	b.add(trace.Event{Kind: trace.Send, Node: from, Peer: to, MsgID: b.ids, Value: msg})
	return b.add(trace.Event{Kind: trace.Deliver, Node: to, Peer: from, MsgID: b.ids, Value: msg})
}

// stay is a whole request: arrival, entry and exit.
func (b *tb) stay(n node.ID, id node.RequestID, ts uint64) *tb {
	return b.request(n, id).enter(n, id, ts).exit(n, id)
}

// Each checker accepts a correct history and rejects the first violation of
// its property with a detail that names it.
func TestCheckers(t *testing.T) {
	tests := []struct {
		name     string
		trace    *tb
		check    func(*trace.Trace) []trace.Check
		property string
		ok       bool
		detail   string // a regular expression
	}{
		{"one at a time", new(tb).stay(0, 1, 1).stay(1, 2, 2), CheckVoting, PropMutualExclusion, true,
			`^2 entries by 2 processes, never two inside at once$`},
		{"two inside", new(tb).request(0, 1).request(1, 2).enter(0, 1, 0).enter(1, 2, 0).exit(0, 1).exit(1, 2), CheckVoting, PropMutualExclusion, false,
			`^n1 entered at 4ms while n0 was inside \(since 3ms\)$`},
		{"counts every overlap", new(tb).request(0, 1).request(1, 2).request(2, 3).enter(0, 1, 0).enter(1, 2, 0).enter(2, 3, 0), CheckVoting, PropMutualExclusion, false,
			`^n1 entered at 5ms while n0 was inside \(since 4ms\) \(2 overlapping entries in all\)$`},
		{"entering twice", new(tb).request(0, 1).request(0, 2).enter(0, 1, 0).enter(0, 2, 0), CheckVoting, PropMutualExclusion, false,
			`^n0 entered again at 4ms while already inside \(since 3ms\)$`},
		{"a crash inside is an exit", new(tb).request(0, 1).request(1, 2).enter(0, 1, 0).crash(0).enter(1, 2, 0).exit(1, 2), CheckVoting, PropMutualExclusion, true,
			`^2 entries by 2 processes`},

		{"every request granted", new(tb).stay(0, 1, 1).stay(1, 2, 2), CheckVoting, PropLiveness, true,
			`^2 of 2 requests granted$`},
		{"a request never granted, with the crash that explains it", new(tb).stay(0, 1, 1).crash(2).request(1, 2), CheckVoting, PropLiveness, false,
			`^n1's request at 5ms never granted \(n2 crashed at 4ms\); 1 of 2 requests never granted$`},
		{"restarts and partitions are named", new(tb).crash(2).restart(2).add(trace.Event{Kind: trace.Partition, Node: node.None, Detail: "partition n0|n1,n2"}).request(1, 2), CheckVoting, PropLiveness, false,
			`^n1's request at 4ms never granted \(n2 crashed at 1ms and restarted at 2ms; partition n0\|n1,n2 at 3ms\); 1 of 1 requests never granted$`},
		{"blocked without faults", new(tb).request(1, 2), CheckVoting, PropLiveness, false,
			`^n1's request at 1ms never granted \(in a run without faults\)`},
		{"a request dies with its process", new(tb).request(1, 2).crash(1).stay(0, 3, 1), CheckVoting, PropLiveness, true,
			`^1 of 2 requests granted; 1 died with their process's crash$`},

		{"timestamp order", new(tb).stay(0, 1, 3).stay(1, 2, 3).stay(0, 3, 5), CheckLamport, PropTimestampOrder, true,
			`^3 entries in increasing \(timestamp, process\) order$`},
		{"out of timestamp order", new(tb).stay(0, 1, 5).stay(1, 2, 3), CheckRicartAgrawala, PropTimestampOrder, false,
			`^n1 entered at 5ms for request 3:n1, after n0 entered at 2ms for request 5:n0$`},
		{"equal timestamps: lower process first", new(tb).stay(1, 1, 4).stay(0, 2, 4), CheckLamport, PropTimestampOrder, false,
			`^n0 entered at 5ms for request 4:n0, after n1 entered at 2ms for request 4:n1$`},

		{"FIFO order", new(tb).request(1, 1).request(2, 2).
			message(1, 0, centralRequest{Seq: 1}).message(2, 0, centralRequest{Seq: 1}).
			enter(1, 1, 1).exit(1, 1).enter(2, 2, 1).exit(2, 2), CheckCentral, PropFIFOOrder, true,
			`^2 entries in the order their requests reached the coordinator$`},
		{"overtaken at the coordinator", new(tb).request(1, 1).request(2, 2).
			message(1, 0, centralRequest{Seq: 1}).message(2, 0, centralRequest{Seq: 1}).
			enter(2, 2, 1), CheckCentral, PropFIFOOrder, false,
			`^n2 entered at 7ms for its request #1, which reached the coordinator at 6ms, after n1's request #1 \(at 4ms\) that is still waiting$`},
		{"a duplicate arrival does not count", new(tb).request(1, 1).
			message(1, 0, centralRequest{Seq: 1}).message(1, 0, centralRequest{Seq: 1}).request(2, 2).
			message(2, 0, centralRequest{Seq: 1}).enter(1, 1, 1).exit(1, 1).enter(2, 2, 1), CheckCentral, PropFIFOOrder, true,
			`^2 entries`},
		{"a crashed requester leaves the queue", new(tb).request(1, 1).request(2, 2).
			message(1, 0, centralRequest{Seq: 1}).message(2, 0, centralRequest{Seq: 1}).crash(1).
			enter(2, 2, 1), CheckCentral, PropFIFOOrder, true,
			`^1 entries`},

		{"bounded waiting", new(tb).request(0, 1).stay(1, 2, 0).stay(2, 3, 0).enter(0, 1, 0), CheckTokenRing, PropBoundedWaiting, true,
			`^no process entered twice while another waited \(at most 2 entries while one waited\)$`},
		{"overtaken twice", new(tb).request(0, 1).stay(1, 2, 0).stay(1, 3, 0).enter(0, 1, 0), CheckTokenRing, PropBoundedWaiting, false,
			`^n1 entered twice \(at 3ms and 6ms\) while n0's request from 1ms waited \(granted at 8ms\)$`},
		{"waiting starts when the request is served", new(tb).request(0, 1).request(0, 2).stay(1, 3, 0).enter(0, 1, 0).stay(1, 4, 0).exit(0, 1).stay(1, 5, 0).enter(0, 2, 0),
			CheckTokenRing, PropBoundedWaiting, true, `^no process entered twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got *trace.Check
			for _, c := range tt.check(&tt.trace.t) {
				if c.Property == tt.property {
					got = &c
				}
			}
			if got == nil {
				t.Fatalf("no %q verdict", tt.property)
			}
			if got.OK != tt.ok || !regexp.MustCompile(tt.detail).MatchString(got.Detail) {
				t.Errorf("%s: ok=%v %q; want ok=%v and a detail matching %q", tt.property, got.OK, got.Detail, tt.ok, tt.detail)
			}
		})
	}
}

// Overlaps counts every violating entry, not just the first.
func TestOverlaps(t *testing.T) {
	b := new(tb).request(0, 1).request(1, 2).request(2, 3).
		enter(0, 1, 0).enter(1, 2, 0).exit(0, 1).exit(1, 2).enter(2, 3, 0).exit(2, 3)
	got := Overlaps(&b.t)
	want := []Overlap{{Node: 1, At: 5 * time.Millisecond, Inside: 0, Since: 4 * time.Millisecond}}
	if len(got) != len(want) || got[0] != want[0] {
		t.Fatalf("Overlaps = %+v, want %+v", got, want)
	}
}
