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

// The properties of the broadcast abstractions of Cachin, Guerraoui and
// Rodrigues (2011), chapter 3, which Check judges besides PropCausalOrder
// and PropTotalOrder. A correct process is one that never crashed during
// the run; a process that crashed and restarted is not correct, and each of
// its incarnations counts as a process of its own for the safety properties
// (none of these algorithms remembers anything across a crash).
const (
	// PropValidity: if a correct process broadcasts m, every correct
	// process delivers m (by the end of the run), itself included.
	PropValidity = "validity"
	// PropNoDuplication: no process delivers a message more than once.
	PropNoDuplication = "no duplication"
	// PropNoCreation: a process delivers m with sender s only if s
	// broadcast m before, with that payload; no two broadcasts share a name.
	PropNoCreation = "no creation"
	// PropAgreement: if a correct process delivers m, every correct
	// process delivers m (regular agreement; uniform agreement would
	// oblige the correct processes by the deliveries of crashed ones too).
	PropAgreement = "agreement"
	// PropFIFOOrder: if a process broadcasts m1 before m2, no process
	// delivers m2 unless it has already delivered m1.
	PropFIFOOrder = "FIFO order"
)

// CheckBestEffort judges best-effort broadcast: validity, no duplication and
// no creation. Agreement is not promised, and not judged: when a sender
// crashes mid-broadcast some correct processes deliver its message and
// others never do, as the textbook says they may.
func CheckBestEffort(t *trace.Trace) []trace.Check {
	return Check(t, PropValidity, PropNoDuplication, PropNoCreation)
}

// CheckReliable judges (regular) reliable broadcast: best-effort's
// properties and agreement.
func CheckReliable(t *trace.Trace) []trace.Check {
	return Check(t, PropValidity, PropNoDuplication, PropNoCreation, PropAgreement)
}

// CheckFIFO judges FIFO-order reliable broadcast: reliable broadcast's
// properties and FIFO order.
func CheckFIFO(t *trace.Trace) []trace.Check {
	return Check(t, PropValidity, PropNoDuplication, PropNoCreation, PropAgreement, PropFIFOOrder)
}

// CheckCausal judges causal-order reliable broadcast: reliable broadcast's
// properties and causal order (of which FIFO order is a part).
func CheckCausal(t *trace.Trace) []trace.Check {
	return Check(t, PropValidity, PropNoDuplication, PropNoCreation, PropAgreement, PropCausalOrder)
}

// CheckSequencer judges total-order broadcast by a sequencer: reliable
// broadcast's properties and total order, in the strong form in which every
// process's deliveries are a prefix of one sequence.
func CheckSequencer(t *trace.Trace) []trace.Check {
	return Check(t, PropValidity, PropNoDuplication, PropNoCreation, PropAgreement, PropTotalOrder)
}

// Check judges a run of a broadcast algorithm on the given properties, in
// that order, from the Sent and Delivered events the processes emitted and
// from the trace itself: who crashed, the order of events at each process,
// and the simulator's vector clocks (to see that a message was broadcast
// before it was delivered). The properties are PropValidity,
// PropNoDuplication, PropNoCreation, PropAgreement, PropFIFOOrder,
// PropCausalOrder and PropTotalOrder; an unknown name gets a failed verdict
// that says so. Each failure names the first counterexample.
//
// Causal order is judged on the causal order of broadcasts that the book
// defines (§3.9.1): m1 precedes m2 if a process broadcast m1 before m2, or
// delivered m1 before it broadcast m2, or through a chain of these; the
// checker replays it from the order of the Sent and Delivered events at
// each process, never from the algorithm's vectors. It is not the
// happens-before of every message the simulator saw: a process that has
// received m1 but holds it back (its own predecessors missing), or that
// received a relay of something after a message it has not delivered,
// has m1 in its happens-before past without having delivered it, and no
// causal broadcast orders what a process broadcasts next after messages it
// has not delivered. (CheckTotalOrder's causal order is the stronger claim
// on happens-before, which Lamport's timestamps do give.)
func Check(t *trace.Trace, props ...string) []trace.Check {
	r := readBroadcastRun(t)
	checks := make([]trace.Check, 0, len(props))
	for _, p := range props {
		switch p {
		case PropValidity:
			checks = append(checks, r.validity())
		case PropNoDuplication:
			checks = append(checks, r.noDuplication())
		case PropNoCreation:
			checks = append(checks, r.noCreation())
		case PropAgreement:
			checks = append(checks, r.agreement())
		case PropFIFOOrder:
			checks = append(checks, r.order(true))
		case PropCausalOrder:
			checks = append(checks, r.order(false))
		case PropTotalOrder:
			checks = append(checks, r.totalOrder())
		default:
			checks = append(checks, trace.Failed(p, "unknown property %q: want one of %s", p,
				strings.Join([]string{PropValidity, PropNoDuplication, PropNoCreation, PropAgreement, PropFIFOOrder, PropCausalOrder, PropTotalOrder}, ", ")))
		}
	}
	return checks
}

// incarnation is one life of a process: from its start to its crash.
type incarnation struct {
	node node.ID
	life int // 0 before the first restart, 1 after it, ...
}

func (i incarnation) String() string {
	if i.life == 0 {
		return i.node.String()
	}
	return fmt.Sprintf("%v (after restart %d)", i.node, i.life)
}

// broadcastRun is what Check reads from a trace, on top of run.
type broadcastRun struct {
	*run
	// crashed maps each process that crashed to its first crash.
	crashed map[node.ID]time.Duration
	// lifeOf gives the incarnation of a Sent or Delivered event, by Seq.
	lifeOf map[int]incarnation
	// got maps each correct process to the messages it delivered.
	got map[node.ID]map[msgID]bool
}

func readBroadcastRun(t *trace.Trace) *broadcastRun {
	r := &broadcastRun{run: readRun(t), crashed: map[node.ID]time.Duration{}, lifeOf: map[int]incarnation{}}
	lives := map[node.ID]int{}
	for i := range t.Events {
		e := &t.Events[i]
		switch e.Kind {
		case trace.Crash:
			if _, ok := r.crashed[e.Node]; !ok {
				r.crashed[e.Node] = e.Time
			}
		case trace.Restart:
			lives[e.Node]++
		case trace.Emit:
			switch e.Value.(type) {
			case Sent, Delivered:
				r.lifeOf[e.Seq] = incarnation{e.Node, lives[e.Node]}
			}
		}
	}
	r.got = map[node.ID]map[msgID]bool{}
	for n := range node.ID(r.nodes) {
		if r.correct(n) {
			r.got[n] = map[msgID]bool{}
		}
	}
	for _, d := range r.deliveries {
		if g, ok := r.got[d.Node]; ok {
			g[deliveredID(d.Value)] = true
		}
	}
	return r
}

// correct reports whether n never crashed during the run.
func (r *broadcastRun) correct(n node.ID) bool {
	_, crashed := r.crashed[n]
	return !crashed
}

// correctNodes lists the correct processes in rank order.
func (r *broadcastRun) correctNodes() []node.ID {
	return slices.Sorted(maps.Keys(r.got))
}

// missing lists, for a message, the correct processes that never delivered it.
func (r *broadcastRun) missing(id msgID) []node.ID {
	var out []node.ID
	for _, n := range r.correctNodes() {
		if !r.got[n][id] {
			out = append(out, n)
		}
	}
	return out
}

// senderFate says whether a message's sender crashed, for failure details.
func (r *broadcastRun) senderFate(id msgID) string {
	if at, ok := r.crashed[id.Sender]; ok {
		return fmt.Sprintf("%v crashed at %v", id.Sender, at)
	}
	return fmt.Sprintf("%v is correct", id.Sender)
}

// validity checks that every message a correct process broadcast was
// delivered by every correct process.
func (r *broadcastRun) validity() trace.Check {
	var bad []string
	judged := 0
	for _, s := range r.sends {
		id := sentID(s.Value)
		if !r.correct(s.Node) || r.sent[id].Event != s.Event {
			continue
		}
		judged++
		if miss := r.missing(id); len(miss) > 0 {
			bad = append(bad, fmt.Sprintf("%s, broadcast by correct %v at %v, was never delivered by %s",
				r.name(id), s.Node, s.Time, abbreviate(idStrings(miss), 3)))
		}
	}
	if len(bad) > 0 {
		return trace.Failed(PropValidity, "%s", abbreviate(bad, 2))
	}
	return trace.Passed(PropValidity, "all %d correct processes delivered all %d messages the correct processes broadcast",
		len(r.got), judged)
}

// agreement checks that every message some correct process delivered was
// delivered by every correct process.
func (r *broadcastRun) agreement() trace.Check {
	all := map[msgID]node.ID{} // message -> the first correct process to deliver it
	for _, d := range r.deliveries {
		id := deliveredID(d.Value)
		if _, seen := all[id]; !seen && r.correct(d.Node) {
			all[id] = d.Node
		}
	}
	var bad []string
	for _, id := range slices.SortedFunc(maps.Keys(all), msgID.compare) {
		if miss := r.missing(id); len(miss) > 0 {
			bad = append(bad, fmt.Sprintf("correct %v delivered %s but correct %s never did (%s)",
				all[id], r.name(id), abbreviate(idStrings(miss), 3), r.senderFate(id)))
		}
	}
	if len(bad) > 0 {
		return trace.Failed(PropAgreement, "%s", abbreviate(bad, 2))
	}
	return trace.Passed(PropAgreement, "each of the %d messages delivered by a correct process was delivered by all %d correct processes (%d crashed)",
		len(all), len(r.got), len(r.crashed))
}

// noDuplication checks that no incarnation delivers a message twice.
func (r *broadcastRun) noDuplication() trace.Check {
	first := map[incarnation]map[msgID]trace.EmittedEvent[Delivered]{}
	for _, d := range r.deliveries {
		life, id := r.lifeOf[d.Seq], deliveredID(d.Value)
		if first[life] == nil {
			first[life] = map[msgID]trace.EmittedEvent[Delivered]{}
		}
		if f, dup := first[life][id]; dup {
			return trace.Failed(PropNoDuplication, "%v delivered %s twice, at %v and %v", life, r.name(id), f.Time, d.Time)
		}
		first[life][id] = d
	}
	return trace.Passed(PropNoDuplication, "%d deliveries, none of them a repeat", len(r.deliveries))
}

// noCreation checks that every delivered message was broadcast by its
// sender, with its payload, before the delivery, and that no two
// broadcasts share a name.
func (r *broadcastRun) noCreation() trace.Check {
	for _, s := range r.sends {
		id := sentID(s.Value)
		if s.Value.Sender != s.Node {
			return trace.Failed(PropNoCreation, "%v broadcast %s under the name of %v", s.Node, r.name(id), s.Value.Sender)
		}
		if first := r.sent[id]; first.Event != s.Event {
			return trace.Failed(PropNoCreation, "%v broadcast two messages named %v: %q at %v and %q at %v",
				s.Node, id, first.Value.Payload, first.Time, s.Value.Payload, s.Time)
		}
	}
	for _, d := range r.deliveries {
		id := deliveredID(d.Value)
		s, ok := r.sent[id]
		switch {
		case !ok:
			return trace.Failed(PropNoCreation, "%v delivered %v %q (at %v), which %v never broadcast", d.Node, id, d.Value.Payload, d.Time, id.Sender)
		case d.Value.Payload != s.Value.Payload:
			return trace.Failed(PropNoCreation, "%v delivered %v with payload %q (at %v), but it was broadcast with %q",
				d.Node, id, d.Value.Payload, d.Time, s.Value.Payload)
		case !before(s.Event, d.Event):
			return trace.Failed(PropNoCreation, "%v delivered %s (at %v), which does not happen after its broadcast (at %v)",
				d.Node, r.name(id), d.Time, s.Time)
		}
	}
	return trace.Passed(PropNoCreation, "every one of the %d deliveries is of a message its sender broadcast (%d broadcasts)", len(r.deliveries), len(r.sent))
}

// before reports whether a happens before b: on the simulator's vector
// clocks when the trace has them, on trace order otherwise.
func before(a, b *trace.Event) bool {
	if a.Clock != nil && b.Clock != nil {
		return trace.HappensBefore(a, b)
	}
	return a.Seq < b.Seq
}

// order checks FIFO order (fifo) or causal order (!fifo) by replaying the
// run: every incarnation's broadcasts form a stream numbered 1, 2, ...;
// each incarnation keeps its causal past as a vector over streams (how many
// of each stream's first messages it has broadcast or delivered, or has in
// the past of a message it delivered); a broadcast records the past of its
// message; a delivery must find every message of that past (for FIFO order,
// of the message's own stream) delivered already.
func (r *broadcastRun) order(fifo bool) trace.Check {
	prop := PropCausalOrder
	if fifo {
		prop = PropFIFOOrder
	}
	type position struct{ stream, pos int }
	streams := map[incarnation]int{}
	var streamLen []int
	var names [][]msgID // names[stream][pos-1]
	where := map[msgID]position{}
	dep := map[msgID][]int{}        // a message's causal past, by stream (its own stream: the earlier ones)
	past := map[incarnation][]int{} // an incarnation's causal past, by stream
	done := map[incarnation][]int{} // how long a prefix of each stream an incarnation delivered
	got := map[incarnation]map[msgID]bool{}
	// everGot tells "delivered before" from "never delivered" in details.
	everGot := map[incarnation]map[msgID]bool{}
	for _, d := range r.deliveries {
		life := r.lifeOf[d.Seq]
		if everGot[life] == nil {
			everGot[life] = map[msgID]bool{}
		}
		everGot[life][deliveredID(d.Value)] = true
	}
	grow := func(v []int) []int {
		for len(v) < len(streamLen) {
			v = append(v, 0)
		}
		return v
	}
	checked, pastSize := 0, 0
	for i := range r.t.Events {
		e := &r.t.Events[i]
		if e.Kind != trace.Emit {
			continue
		}
		switch v := e.Value.(type) {
		case Sent:
			id := sentID(v)
			if r.sent[id].Event != e || e.Node < 0 {
				continue // a repeated name: noCreation reports it
			}
			life := r.lifeOf[e.Seq]
			st, ok := streams[life]
			if !ok {
				st = len(streamLen)
				streams[life] = st
				streamLen = append(streamLen, 0)
				names = append(names, nil)
			}
			streamLen[st]++
			names[st] = append(names[st], id)
			where[id] = position{st, streamLen[st]}
			past[life] = grow(past[life])
			dep[id] = slices.Clone(past[life])
			past[life][st] = streamLen[st]
		case Delivered:
			id := deliveredID(v)
			at, ok := where[id]
			if !ok || e.Node < 0 {
				continue // never broadcast: noCreation reports it
			}
			life := r.lifeOf[e.Seq]
			done[life] = grow(done[life])
			if got[life] == nil {
				got[life] = map[msgID]bool{}
			}
			need := dep[id]
			for st := range need {
				if fifo && st != at.stream {
					continue
				}
				if done[life][st] >= need[st] {
					continue
				}
				// The first message of the stream not yet delivered here.
				k := done[life][st]
				for k < need[st] && got[life][names[st][k]] {
					k++
				}
				if k >= need[st] {
					continue // cannot happen: done is the delivered prefix
				}
				pred := names[st][k]
				ever := "without ever delivering"
				if everGot[life][pred] {
					ever = "before"
				}
				why := "which causally precedes it"
				if pred.Sender == id.Sender && st == at.stream {
					why = fmt.Sprintf("which %v broadcast first", id.Sender)
				}
				return trace.Failed(prop, "%v delivered %s (at %v) %s %s, %s", life, r.name(id), e.Time, ever, r.name(pred), why)
			}
			checked++
			for _, n := range need {
				pastSize += n
			}
			got[life][id] = true
			for done[life][at.stream] < streamLen[at.stream] && got[life][names[at.stream][done[life][at.stream]]] {
				done[life][at.stream]++
			}
			past[life] = grow(past[life])
			for st, n := range need {
				past[life][st] = max(past[life][st], n)
			}
			past[life][at.stream] = max(past[life][at.stream], at.pos)
		}
	}
	if fifo {
		return trace.Passed(prop, "all %d deliveries kept each sender's broadcast order", checked)
	}
	mean := 0.0
	if checked > 0 {
		mean = float64(pastSize) / float64(checked)
	}
	return trace.Passed(prop, "all %d deliveries came after their message's causal past (%.1f messages on average)", checked, mean)
}

func idStrings(ids []node.ID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = id.String()
	}
	return out
}

// PartlyDelivered counts the messages that some correct process delivered
// and some other correct process never did: what agreement forbids, and
// best-effort broadcast allows when a sender crashes mid-broadcast.
func PartlyDelivered(t *trace.Trace) int {
	r := readBroadcastRun(t)
	partly := map[msgID]bool{}
	for _, d := range r.deliveries {
		id := deliveredID(d.Value)
		if r.correct(d.Node) && !partly[id] && len(r.missing(id)) > 0 {
			partly[id] = true
		}
	}
	return len(partly)
}
