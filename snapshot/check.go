package snapshot

import (
	"fmt"
	"slices"
	"strings"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// The properties Check reports.
const (
	// PropConsistentCut: for every snapshot, no transfer received before
	// its receiver recorded its state was sent after its sender recorded
	// its own — the recorded states form a consistent cut. Judged on the
	// runtime's happens-before (its vector clocks), not on what the
	// processes say.
	PropConsistentCut = "consistent cut"
	// PropConservation: for every complete snapshot, the recorded balances
	// plus the transfers in the recorded channel states add up to the money
	// the branches opened with (Chandy & Lamport §4: the recorded state is
	// one the bank could have been in, and money is conserved in every
	// such state).
	PropConservation = "conservation"
	// PropRecordedState: every recorded balance is the balance its process
	// had at that point of the run, and every recorded channel state is
	// exactly the transfers sent along the channel before the sender
	// recorded its state and not received before the receiver recorded its
	// own (§3.1's condition), in order.
	PropRecordedState = "recorded state"
	// PropTermination: every snapshot initiated completes at every process,
	// each recording every incoming channel once its marker has come
	// (§3.3). Judged on runs without crashes, the algorithm's assumption.
	PropTermination = "termination"
)

// Check judges a run of snapshots over the bank: consistent cut,
// conservation, recorded state and termination. It needs the runtime's
// ground-truth vector clocks for the consistent cut.
func Check(t *trace.Trace) []trace.Check {
	r := read(t)
	return []trace.Check{r.consistentCut(), r.conservation(), r.recordedState(), r.termination()}
}

// describe names an event for a failure detail: "n2 #123 at 12.5ms".
func describe(e *trace.Event) string { return fmt.Sprintf("%v #%d at %v", e.Node, e.Seq, e.Time) }

// consistentCut checks PropConsistentCut: for each snapshot and each
// delivered transfer whose sender and receiver both recorded their states,
// a receipt that happens before the receiver's recording must come from a
// send that happens before the sender's.
func (r *run) consistentCut() trace.Check {
	for _, s := range r.snapshots {
		for _, e := range s.recorded {
			if len(e.Clock) == 0 {
				return trace.Failed(PropConsistentCut, "the trace has no vector clocks (%v's recording for %v has none): the cut cannot be judged", e.Node, s.id)
			}
		}
	}
	var judged, violations int
	var first string
	for _, s := range r.snapshots {
		for _, m := range r.transfers {
			if m.deliver == nil {
				continue
			}
			recP, recQ := s.recorded[m.send.Node], s.recorded[m.deliver.Node]
			if recP == nil || recQ == nil {
				continue
			}
			judged++
			if trace.HappensBefore(m.deliver, recQ) && !trace.HappensBefore(m.send, recP) {
				violations++
				if first == "" {
					first = fmt.Sprintf("snapshot %v: the transfer of %d along %v was received (%s) before %v recorded its state (%s) but sent (%s) after %v recorded its own (%s)",
						s.id, m.amount, m.channel(), describe(m.deliver), m.deliver.Node, describe(recQ), describe(m.send), m.send.Node, describe(recP))
				}
			}
		}
	}
	if violations > 0 {
		return trace.Failed(PropConsistentCut, "%d receipts inside a cut of a send outside it; first: %s", violations, first)
	}
	if len(r.snapshots) == 0 {
		return trace.Passed(PropConsistentCut, "no snapshot was recorded")
	}
	return trace.Passed(PropConsistentCut, "%d snapshots, %d receipts judged against their cuts: none inside a cut was of a transfer sent outside it", len(r.snapshots), judged)
}

// conservation checks PropConservation on every complete snapshot.
func (r *run) conservation() trace.Check {
	total, missing := r.openingTotal()
	if len(missing) > 0 {
		return trace.Failed(PropConservation, "no opening balance (AccountOpened) in the trace for %v: the money to find is unknown", missing)
	}
	var complete, bad, inFlight int
	var money int64
	var first string
	for _, s := range r.snapshots {
		if !s.complete(r.nodes) {
			continue
		}
		complete++
		g := s.globalState(r.nodes)
		var channels int64
		for _, ts := range g.Channels {
			channels += sum(ts)
			inFlight += len(ts)
		}
		money += channels
		if got := g.Total(); got != total {
			bad++
			if first == "" {
				first = fmt.Sprintf("snapshot %v records %d in balances + %d in channel states = %d, but the branches opened with %d (%+d)",
					s.id, got-channels, channels, got, total, got-total)
			}
		}
	}
	if bad > 0 {
		return trace.Failed(PropConservation, "%d of %d complete snapshots miscount the money; first: %s%s", bad, complete, first, r.bankFaults())
	}
	detail := fmt.Sprintf("%d complete snapshots each count %d, the opening total (%d transfers worth %d in recorded channel states)", complete, total, inFlight, money)
	if n := len(r.snapshots) - complete; n > 0 {
		detail += fmt.Sprintf("; %d incomplete, not counted", n)
	}
	return trace.Passed(PropConservation, "%s", detail)
}

// bankFaults says, for a failure detail, which faults outside the
// algorithm's assumptions changed the bank's money itself: a lost transfer
// destroys its amount, a duplicated one creates it, a crash loses the
// branch's balance and reopens it.
func (r *run) bankFaults() string {
	var faults []string
	if n := r.lost[node.ShortName(node.TypeName(Transfer{}))]; n > 0 {
		faults = append(faults, fmt.Sprintf("%d transfers lost", n))
	}
	if r.duplicated > 0 {
		faults = append(faults, fmt.Sprintf("%d transfers delivered twice", r.duplicated))
	}
	if r.crashes > 0 {
		faults = append(faults, fmt.Sprintf("%d crashes", r.crashes))
	}
	if len(faults) == 0 {
		return ""
	}
	return " (the bank itself did not conserve money: " + strings.Join(faults, ", ") + ")"
}

// recordedState checks PropRecordedState: it replays every branch's balance
// along the trace and compares it with each recording, and derives each
// channel state from the sends and receipts around the two recordings.
func (r *run) recordedState() trace.Check {
	var judged, bad int
	var first string
	fail := func(format string, args ...any) {
		bad++
		if first == "" {
			first = fmt.Sprintf(format, args...)
		}
	}
	balance := map[node.ID]int64{}
	for i := range r.t.Events {
		e := &r.t.Events[i]
		switch v := e.Value.(type) {
		case Transfer:
			switch e.Kind {
			case trace.Send:
				balance[e.Node] -= v.Amount
			case trace.Deliver:
				balance[e.Node] += v.Amount
			}
		case AccountOpened:
			if e.Kind == trace.Emit {
				balance[e.Node] = v.Balance
			}
		case StateRecorded:
			if e.Kind == trace.Emit && r.byID[v.Snapshot].recorded[e.Node] == e {
				judged++
				if v.Balance != balance[e.Node] {
					fail("snapshot %v: %v recorded a balance of %d (%s), but its balance was %d then", v.Snapshot, e.Node, v.Balance, describe(e), balance[e.Node])
				}
			}
		}
	}
	for _, s := range r.snapshots {
		expected := map[Channel][]Transfer{}
		for _, m := range r.transfers {
			recP, recQ := s.recorded[m.send.Node], s.recorded[m.send.Peer]
			switch {
			case recP == nil || recQ == nil || m.send.Seq > recP.Seq:
				continue // not part of this cut, or sent after the sender recorded
			case m.deliver == nil && m.dropped:
				continue // lost: in no channel
			case m.deliver != nil && m.deliver.Seq < recQ.Seq:
				continue // received before the receiver recorded
			}
			expected[m.channel()] = append(expected[m.channel()], Transfer{Amount: m.amount})
		}
		chans := make([]Channel, 0, len(s.channels))
		for c := range s.channels {
			chans = append(chans, c)
		}
		slices.SortFunc(chans, Channel.compare)
		for _, c := range chans {
			judged++
			if got, want := amounts(s.states[c]), amounts(expected[c]); got != want {
				fail("snapshot %v: %v recorded channel %v as %s, but %v sent %s along it before recording its state that %v received after recording its own",
					s.id, c.To, c, got, c.From, want, c.To)
			}
		}
	}
	if bad > 0 {
		return trace.Failed(PropRecordedState, "%d of %d recorded states differ from the run; first: %s", bad, judged, first)
	}
	return trace.Passed(PropRecordedState, "%d recorded balances and channel states match the run at their cuts", judged)
}

// termination checks PropTermination: every Initiate request started a
// snapshot, and every snapshot was recorded by every process and along
// every channel.
func (r *run) termination() trace.Check {
	if r.crashes > 0 {
		return trace.Passed(PropTermination, "not judged: the run had %d crashes, and Chandy–Lamport assumes none", r.crashes)
	}
	var problems []string
	initiated := map[node.ID]int{}
	for _, s := range r.snapshots {
		if s.recorded[s.id.Initiator] != nil {
			initiated[s.id.Initiator]++
		}
	}
	for _, id := range r.group() {
		if got, want := initiated[id], r.requested[id]; got < want {
			problems = append(problems, fmt.Sprintf("%v received %d Initiate requests but initiated %d snapshots", id, want, got))
		}
	}
	var channels int
	for _, s := range r.snapshots {
		for _, q := range r.group() {
			if s.recorded[q] == nil {
				problems = append(problems, fmt.Sprintf("snapshot %v: %v never recorded its state", s.id, q))
			}
			for _, p := range r.group() {
				if p == q {
					continue
				}
				if s.channels[Channel{From: p, To: q}] == nil {
					problems = append(problems, fmt.Sprintf("snapshot %v: %v never recorded channel %v (no marker came along it)", s.id, q, Channel{From: p, To: q}))
				} else {
					channels++
				}
			}
		}
	}
	if len(problems) > 0 {
		detail := fmt.Sprintf("%d recordings missing; first: %s", len(problems), problems[0])
		if n := r.lost[node.ShortName(node.TypeName(Marker{}))]; n > 0 {
			detail += fmt.Sprintf(" (%d markers were lost: the algorithm assumes reliable channels)", n)
		}
		return trace.Failed(PropTermination, "%s", detail)
	}
	if len(r.snapshots) == 0 {
		return trace.Passed(PropTermination, "no snapshot was initiated")
	}
	return trace.Passed(PropTermination, "all %d snapshots completed at all %d processes (%d channel states recorded)", len(r.snapshots), r.nodes, channels)
}
