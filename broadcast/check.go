package broadcast

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// The properties CheckTotalOrder reports, in the order it reports them.
const (
	// PropTotalOrder: all processes deliver the same sequence; a process
	// may lag behind, but every sequence is a prefix of every longer one.
	PropTotalOrder = "total order"
	// PropTermination: by the end of the run every process has delivered
	// every multicast that was sent or that some process delivered
	// (validity and uniform agreement).
	PropTermination = "termination"
	// PropCausalOrder: if the send of m1 happens before the send of m2,
	// every process that delivers m2 has delivered m1 before it.
	PropCausalOrder = "causal order"
	// PropIntegrity: a process delivers a multicast at most once, and only
	// after it was sent, with the payload it was sent with; no two
	// multicasts share an identity.
	PropIntegrity = "integrity"
)

// CheckTotalOrder judges a run of totally ordered multicast from its trace,
// using the Sent and Delivered events the processes emitted and the
// simulator's ground-truth vector clocks (never the algorithm's own
// timestamps, except as the multicasts' names).
//
// It returns four verdicts: PropTotalOrder and PropIntegrity are safety
// properties and hold at every point of every run; PropCausalOrder is the
// consistency with happens-before that Lamport's timestamps buy (Lamport
// 1978, the clock condition); PropTermination is liveness, and is reported
// on its own so that a run cut short by faults reads as "n2 delivered 7 of 9
// multicasts" rather than as an ordering bug. Each failure names the first
// counterexample.
func CheckTotalOrder(t *trace.Trace) []trace.Check {
	r := readRun(t)
	return []trace.Check{r.totalOrder(), r.termination(), r.causalOrder(), r.integrity()}
}

// run is what the checker reads from a trace.
type run struct {
	t     *trace.Trace
	nodes int
	// sends lists the Sent events in trace order; sent maps an identity to
	// its first send.
	sends []trace.EmittedEvent[Sent]
	sent  map[msgID]trace.EmittedEvent[Sent]
	// deliveries lists the Delivered events in trace order, seqs the same
	// per process.
	deliveries []trace.EmittedEvent[Delivered]
	seqs       [][]trace.EmittedEvent[Delivered]
	// payloads names every multicast that was sent or delivered.
	payloads map[msgID]string
}

func readRun(t *trace.Trace) *run {
	r := &run{
		t:          t,
		nodes:      t.Nodes,
		sends:      atProcess(trace.Emitted[Sent](t)),
		deliveries: atProcess(trace.Emitted[Delivered](t)),
		sent:       map[msgID]trace.EmittedEvent[Sent]{},
		payloads:   map[msgID]string{},
	}
	for _, d := range r.deliveries {
		r.nodes = max(r.nodes, int(d.Node)+1)
		r.payloads[deliveredID(d.Value)] = d.Value.Payload
	}
	for _, s := range r.sends {
		r.nodes = max(r.nodes, int(s.Node)+1)
		id := sentID(s.Value)
		if _, dup := r.sent[id]; !dup {
			r.sent[id] = s
			r.payloads[id] = s.Value.Payload
		}
	}
	r.seqs = make([][]trace.EmittedEvent[Delivered], r.nodes)
	for _, d := range r.deliveries {
		r.seqs[d.Node] = append(r.seqs[d.Node], d)
	}
	return r
}

// atProcess drops events attributed to no process, which a well-formed trace
// does not have, so that a malformed one cannot make the checker panic.
func atProcess[T any](events []trace.EmittedEvent[T]) []trace.EmittedEvent[T] {
	return slices.DeleteFunc(events, func(e trace.EmittedEvent[T]) bool { return e.Node < 0 })
}

func sentID(s Sent) msgID           { return msgID{TS: s.TS, Sender: s.Sender} }
func deliveredID(d Delivered) msgID { return msgID{TS: d.TS, Sender: d.Sender} }

// name describes a multicast for a verdict: `7:n2 "payload"`.
func (r *run) name(id msgID) string { return fmt.Sprintf("%v %q", id, r.payloads[id]) }

// totalOrder checks that the delivery sequences are prefixes of one another.
// They are if and only if each is a prefix of the longest, so that is the
// reference every process is compared with.
func (r *run) totalOrder() trace.Check {
	if r.nodes == 0 {
		return trace.Passed(PropTotalOrder, "no processes")
	}
	longest := 0
	for n, seq := range r.seqs {
		if len(seq) > len(r.seqs[longest]) {
			longest = n
		}
	}
	ref := r.seqs[longest]
	shortest := len(ref)
	for n, seq := range r.seqs {
		shortest = min(shortest, len(seq))
		for i, d := range seq {
			if got, want := deliveredID(d.Value), deliveredID(ref[i].Value); got != want {
				return trace.Failed(PropTotalOrder,
					"%v's delivery #%d (at %v) is %s, but %v's is %s",
					node.ID(n), i+1, d.Time, r.name(got), node.ID(longest), r.name(want))
			}
		}
	}
	return trace.Passed(PropTotalOrder, "%d processes delivered in the same order (%d to %d multicasts each)",
		r.nodes, shortest, len(ref))
}

// termination checks that every process delivered every multicast that was
// sent or delivered anywhere.
func (r *run) termination() trace.Check {
	all := slices.SortedFunc(maps.Keys(r.payloads), msgID.compare)
	if len(all) == 0 {
		return trace.Passed(PropTermination, "no multicasts")
	}
	var short []string
	for n, seq := range r.seqs {
		got := map[msgID]bool{}
		for _, d := range seq {
			got[deliveredID(d.Value)] = true
		}
		if len(got) == len(all) {
			continue
		}
		var missing []string
		for _, id := range all {
			if !got[id] {
				missing = append(missing, r.name(id))
			}
		}
		s := fmt.Sprintf("%v delivered %d of %d multicasts (missing %s)", node.ID(n), len(got), len(all), abbreviate(missing, 3))
		if at, down := r.downSince(node.ID(n)); down {
			s += fmt.Sprintf(", crashed at %v", at)
		}
		short = append(short, s)
	}
	if len(short) > 0 {
		return trace.Failed(PropTermination, "%s", strings.Join(short, "; "))
	}
	return trace.Passed(PropTermination, "all %d processes delivered all %d multicasts", r.nodes, len(all))
}

// downSince reports whether n was crashed at the end of the run, and since when.
func (r *run) downSince(n node.ID) (at time.Duration, down bool) {
	for i := len(r.t.Events) - 1; i >= 0; i-- {
		e := &r.t.Events[i]
		if e.Node != n {
			continue
		}
		switch e.Kind {
		case trace.Crash:
			return e.Time, true
		case trace.Restart:
			return 0, false
		}
	}
	return 0, false
}

// causalOrder checks that each process delivers a multicast only after every
// multicast whose send happened before its send.
func (r *run) causalOrder() trace.Check {
	// before[m2] lists the multicasts whose send happened before m2's.
	before := map[msgID][]msgID{}
	for _, s2 := range r.sends {
		for _, s1 := range r.sends {
			if trace.HappensBefore(s1.Event, s2.Event) {
				id2 := sentID(s2.Value)
				before[id2] = append(before[id2], sentID(s1.Value))
			}
		}
	}
	for n, seq := range r.seqs {
		done := map[msgID]bool{}
		for i, d := range seq {
			m2 := deliveredID(d.Value)
			for _, m1 := range before[m2] {
				if done[m1] {
					continue
				}
				ever := "without ever delivering"
				if slices.ContainsFunc(seq[i:], func(d trace.EmittedEvent[Delivered]) bool { return deliveredID(d.Value) == m1 }) {
					ever = "before"
				}
				return trace.Failed(PropCausalOrder,
					"%v delivered %s (at %v) %s %s, though the send of %v happened before the send of %v",
					node.ID(n), r.name(m2), d.Time, ever, r.name(m1), m1, m2)
			}
			done[m2] = true
		}
	}
	pairs := 0
	for _, b := range before {
		pairs += len(b)
	}
	return trace.Passed(PropCausalOrder, "every delivery respects the %d causally ordered pairs of sends", pairs)
}

// integrity checks, in trace order, that multicasts are sent under distinct
// identities and that each process delivers each at most once, after its
// send and with its payload.
func (r *run) integrity() trace.Check {
	for _, s := range r.sends {
		id := sentID(s.Value)
		if s.Value.Sender != s.Node {
			return trace.Failed(PropIntegrity, "%v sent %s under the name of %v", s.Node, r.name(id), s.Value.Sender)
		}
		if first := r.sent[id]; first.Event != s.Event {
			return trace.Failed(PropIntegrity, "%v sent two multicasts named %v: %q at %v and %q at %v",
				s.Node, id, first.Value.Payload, first.Time, s.Value.Payload, s.Time)
		}
	}
	delivered := make([]map[msgID]trace.EmittedEvent[Delivered], r.nodes)
	for _, d := range r.deliveries {
		id := deliveredID(d.Value)
		if delivered[d.Node] == nil {
			delivered[d.Node] = map[msgID]trace.EmittedEvent[Delivered]{}
		}
		if first, dup := delivered[d.Node][id]; dup {
			return trace.Failed(PropIntegrity, "%v delivered %s twice, at %v and %v", d.Node, r.name(id), first.Time, d.Time)
		}
		delivered[d.Node][id] = d
		s, ok := r.sent[id]
		switch {
		case !ok:
			return trace.Failed(PropIntegrity, "%v delivered %v %q (at %v), which was never sent", d.Node, id, d.Value.Payload, d.Time)
		case d.Value.Payload != s.Value.Payload:
			return trace.Failed(PropIntegrity, "%v delivered %v with payload %q (at %v), but it was sent with %q",
				d.Node, id, d.Value.Payload, d.Time, s.Value.Payload)
		case !trace.HappensBefore(s.Event, d.Event):
			return trace.Failed(PropIntegrity, "%v delivered %s (at %v), which does not happen after its send (at %v)",
				d.Node, r.name(id), d.Time, s.Time)
		}
	}
	return trace.Passed(PropIntegrity, "%d deliveries of %d multicasts, none duplicated or invented", len(r.deliveries), len(r.sent))
}

// abbreviate joins the first k items and counts the rest.
func abbreviate(items []string, k int) string {
	if len(items) <= k {
		return strings.Join(items, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(items[:k], ", "), len(items)-k)
}
