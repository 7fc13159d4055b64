package consensus

import (
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// The properties CheckMultiPaxos reports.
const (
	PropSlotAgreement = "agreement per slot"
	PropPrefix        = "prefix execution"
	PropOneLeader     = "one leader per ballot"
)

// CheckMultiPaxos judges Multi-Paxos' safety on a trace, from the events the
// nodes emit:
//
//   - agreement per slot: no two replicas (nor one replica before and after
//     a restart) execute different values in one slot — the consensus of
//     each Paxos instance ("Paxos Made Simple", §2.1: "only a single value
//     is chosen"), as the state machines see it;
//   - prefix execution: a replica executes slot i only right after slot
//     i−1, or right after restoring a snapshot through i−1 (§3: a server
//     cannot execute command 136 before it learns 135, even if 136 is
//     chosen);
//   - one leader per ballot: each ballot is won at most once, by the node
//     that owns it (ballots are unique per proposer, §2.3), so no ballot
//     ever has two leaders proposing in it.
func CheckMultiPaxos(t *trace.Trace) []trace.Check {
	return []trace.Check{
		checkSlotAgreement(t),
		checkPrefix(t),
		checkOneLeaderPerBallot(t),
	}
}

func checkSlotAgreement(t *trace.Trace) trace.Check {
	type first struct {
		digest uint64
		node   node.ID
		noop   bool
	}
	seen := map[uint64]first{}
	executions := 0
	for _, e := range trace.Emitted[MultiPaxosExecuted](t) {
		v := e.Value
		executions++
		if f, ok := seen[v.Slot]; ok {
			if f.digest != v.Digest {
				return trace.Failed(PropSlotAgreement, "slot %d: %v executed %s, %v executed %s (at %v)",
					v.Slot, f.node, describeValue(f.noop), e.Event.Node, describeValue(v.Noop), e.Event.Time)
			}
			continue
		}
		seen[v.Slot] = first{v.Digest, e.Event.Node, v.Noop}
	}
	return trace.Passed(PropSlotAgreement, "%d slots executed %d times, one value each", len(seen), executions)
}

func describeValue(noop bool) string {
	if noop {
		return "a no-op"
	}
	return "a command"
}

func checkPrefix(t *trace.Trace) trace.Check {
	next := map[node.ID]uint64{} // the slot each replica must execute next
	n := 0
	for i := range t.Events {
		e := &t.Events[i]
		if e.Kind != trace.Emit {
			continue
		}
		switch v := e.Value.(type) {
		case MultiPaxosRestored:
			next[e.Node] = v.Slot + 1
		case MultiPaxosExecuted:
			want, ok := next[e.Node]
			if !ok {
				want = 1
			}
			if v.Slot != want {
				return trace.Failed(PropPrefix, "%v executed slot %d at %v, but slot %d was next: a gap was executed past", e.Node, v.Slot, e.Time, want)
			}
			next[e.Node] = v.Slot + 1
			n++
		}
	}
	return trace.Passed(PropPrefix, "%d executions, each right after its predecessor", n)
}

func checkOneLeaderPerBallot(t *trace.Trace) trace.Check {
	won := map[MultiPaxosBallot]node.ID{}
	for _, e := range trace.Emitted[MultiPaxosElected](t) {
		b := e.Value.Ballot
		if owner := b.Leader(); owner != e.Event.Node {
			return trace.Failed(PropOneLeader, "%v won ballot %s, which belongs to %v (at %v)", e.Event.Node, b, owner, e.Event.Time)
		}
		if _, ok := won[b]; ok {
			return trace.Failed(PropOneLeader, "ballot %s was won twice by %v (the second time at %v): it may propose two values in one slot",
				b, e.Event.Node, e.Event.Time)
		}
		won[b] = e.Event.Node
	}
	return trace.Passed(PropOneLeader, "%d ballots won, each once", len(won))
}
