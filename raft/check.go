package raft

import (
	"fmt"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// Check judges Raft's safety properties (§5.4, Figure 3) on a trace, from
// the Elected and Applied events the servers emit:
//
//   - Election Safety: at most one leader can be elected in a given term;
//   - Log Matching: if two logs contain an entry with the same index and
//     term, then the logs are identical in all entries up through that index
//     (seen through the chained digests of every applied entry and every
//     new leader's log);
//   - Leader Completeness: if a log entry is committed in a given term, that
//     entry will be present in the logs of the leaders for all higher terms
//     (every entry applied anywhere before a leader's election is in that
//     leader's log, with the same digest);
//   - State Machine Safety: if a server has applied a log entry at a given
//     index to its state machine, no other server will ever apply a
//     different log entry for the same index.
func Check(t *trace.Trace) []trace.Check {
	return []trace.Check{
		checkElectionSafety(t),
		checkLogMatching(t),
		checkLeaderCompleteness(t),
		checkStateMachineSafety(t),
	}
}

func checkElectionSafety(t *trace.Trace) trace.Check {
	const name = "election safety"
	leaders := map[uint64]node.ID{}
	for _, e := range trace.Emitted[Elected](t) {
		if prev, ok := leaders[e.Value.Term]; ok && prev != e.Event.Node {
			return trace.Failed(name, "term %d has two leaders, %v and %v (at %v)", e.Value.Term, prev, e.Event.Node, e.Event.Time)
		}
		leaders[e.Value.Term] = e.Event.Node
	}
	return trace.Passed(name, "%d elections, one leader per term", len(leaders))
}

// entryKey names a log entry by index and term.
type entryKey struct{ index, term uint64 }

func checkLogMatching(t *trace.Trace) trace.Check {
	const name = "log matching"
	seen := map[entryKey]uint64{}
	var bad string
	note := func(index, term, chain uint64, who node.ID, at time.Duration) {
		k := entryKey{index, term}
		if c, ok := seen[k]; ok && c != chain && bad == "" {
			bad = fmt.Sprintf("two logs hold entry %d of term %d with different prefixes (%v at %v)", index, term, who, at)
		}
		seen[k] = chain
	}
	for _, e := range trace.Emitted[Applied](t) {
		note(e.Value.Index, e.Value.Term, e.Value.Chain, e.Event.Node, e.Event.Time)
	}
	if bad != "" {
		return trace.Failed(name, "%s", bad)
	}
	return trace.Passed(name, "%d distinct entries agree on their prefixes", len(seen))
}

func checkLeaderCompleteness(t *trace.Trace) trace.Check {
	const name = "leader completeness"
	type committed struct {
		index, term, chain uint64
	}
	var (
		highest committed // the highest entry applied anywhere so far
		checked int
	)
	for i := range t.Events {
		e := &t.Events[i]
		if e.Kind != trace.Emit {
			continue
		}
		switch v := e.Value.(type) {
		case Applied:
			if v.Index > highest.index {
				highest = committed{v.Index, v.Term, v.Chain}
			}
		case Elected:
			if highest.index == 0 || highest.term >= v.Term {
				continue
			}
			checked++
			if v.LastIndex < highest.index {
				return trace.Failed(name, "%v elected in term %d at %v with a log ending at %d, but entry %d (term %d) was already committed",
					e.Node, v.Term, e.Time, v.LastIndex, highest.index, highest.term)
			}
			if highest.index >= v.FirstIndex {
				if c := v.Chains[highest.index-v.FirstIndex]; c != highest.chain {
					return trace.Failed(name, "%v elected in term %d at %v holds a different entry %d than the committed one (term %d)",
						e.Node, v.Term, e.Time, highest.index, highest.term)
				}
			}
		}
	}
	return trace.Passed(name, "%d leaders held every entry committed before their election", checked)
}

func checkStateMachineSafety(t *trace.Trace) trace.Check {
	const name = "state machine safety"
	applied := map[uint64]Applied{}
	who := map[uint64]node.ID{}
	for _, e := range trace.Emitted[Applied](t) {
		v := e.Value
		if prev, ok := applied[v.Index]; ok && prev.Chain != v.Chain {
			return trace.Failed(name, "index %d: %v applied term %d's entry, %v applied term %d's (at %v)",
				v.Index, who[v.Index], prev.Term, e.Event.Node, v.Term, e.Event.Time)
		}
		applied[v.Index], who[v.Index] = v, e.Event.Node
	}
	return trace.Passed(name, "%d indexes applied, each with one entry", len(applied))
}
