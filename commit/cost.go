package commit

import (
	"fmt"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// TxCost is what one transaction cost, read from a trace.
type TxCost struct {
	Tx TxID
	// Outcome is the coordinator's decision (the first decision anyone
	// made, if the coordinator made none); empty if nobody decided.
	Outcome Outcome
	// Messages counts the protocol messages about the transaction, of
	// every kind, retransmissions and termination protocol included.
	Messages int
	// Delays is the length of the longest causal chain of its messages,
	// from the coordinator's receipt of the request: the message delays
	// (rounds) it took. ToDecisions is the same up to the last decision of
	// a participant: the delays until every participant knew.
	Delays, ToDecisions int
	// Latency is the time from the coordinator's Began to the last
	// decision.
	Latency time.Duration
}

// Costs is what the transactions of a run cost.
type Costs struct {
	Txs []TxCost
	// Uncertainty lists the uncertainty periods: each time from a
	// participant's YES vote to its decision.
	Uncertainty []time.Duration
	// Blocking is the run's blocking windows.
	Blocking BlockingReport
	// Terminations counts the termination rules applied by 3PC backup
	// coordinators.
	Terminations int
}

// Measure reads the costs of a run of either protocol from its trace.
func Measure(t *trace.Trace) Costs {
	h := readHistory(t, 0)
	type key struct {
		p  node.ID
		tx TxID
	}
	depth := map[key]int{}       // the longest chain of tx's messages that reached p
	msgDepth := map[uint64]int{} // the chain length of each message sent
	byTx := map[TxID]*TxCost{}
	cost := func(tx TxID) *TxCost {
		c, ok := byTx[tx]
		if !ok {
			c = &TxCost{Tx: tx}
			byTx[tx] = c
		}
		return c
	}
	var c Costs
	for i := range t.Events {
		e := &t.Events[i]
		switch e.Kind {
		case trace.Send:
			m, ok := e.Value.(txMessage)
			if !ok {
				continue
			}
			tc := cost(m.txID())
			tc.Messages++
			d := depth[key{e.Node, m.txID()}] + 1
			msgDepth[e.MsgID] = d
			tc.Delays = max(tc.Delays, d)
		case trace.Deliver:
			m, ok := e.Value.(txMessage)
			if !ok {
				continue
			}
			k := key{e.Node, m.txID()}
			depth[k] = max(depth[k], msgDepth[e.MsgID])
		case trace.Emit:
			switch v := e.Value.(type) {
			case Decided:
				if x := h.txs[v.Tx]; x != nil && x.coord != e.Node {
					tc := cost(v.Tx)
					tc.ToDecisions = max(tc.ToDecisions, depth[key{e.Node, v.Tx}])
				}
			case Terminated:
				c.Terminations++
			}
		}
	}
	for _, id := range h.ids {
		x := h.txs[id]
		tc := cost(id)
		if d, ok := x.first[x.coord]; ok {
			tc.Outcome = d.outcome
		} else if len(x.decisions) > 0 {
			tc.Outcome = x.decisions[0].outcome
		}
		if x.began >= 0 && len(x.decisions) > 0 {
			last := x.decisions[0].at
			for _, d := range x.decisions {
				last = max(last, d.at)
			}
			tc.Latency = last - x.beganAt
		}
		c.Txs = append(c.Txs, *tc)
		for _, q := range sortedKeys(x.votes) {
			if v := x.votes[q]; v.yes {
				if d, ok := x.first[q]; ok {
					c.Uncertainty = append(c.Uncertainty, d.at-v.at)
				}
			}
		}
	}
	c.Blocking = h.blockingReport()
	return c
}

// mean returns the mean of f over the transactions with the given outcome,
// and their number.
func (c Costs) mean(o Outcome, f func(TxCost) float64) (float64, int) {
	sum, k := 0.0, 0
	for _, tc := range c.Txs {
		if tc.Outcome == o {
			sum += f(tc)
			k++
		}
	}
	if k == 0 {
		return 0, 0
	}
	return sum / float64(k), k
}

// TextbookTwoPhaseMessages is the messages of a transaction of two-phase
// commit in a group of n (the coordinator and n−1 participants) with
// acknowledgements: VOTE-REQ, the vote, the decision and ACK to and from
// every participant, 4(N−1); 3(N−1) without the ACKs (BHG §7.4).
func TextbookTwoPhaseMessages(n int) int { return 4 * max(n-1, 0) }

// TextbookThreePhaseMessages is the messages of a committed transaction of
// three-phase commit in a group of n: VOTE-REQ, YES, PRE-COMMIT, ACK and
// COMMIT to and from every participant, 5(N−1) (BHG §7.5).
func TextbookThreePhaseMessages(n int) int { return 5 * max(n-1, 0) }

// TwoPhaseCosts are the measured costs of a 2PC run beside the textbook's,
// for a group of n.
func TwoPhaseCosts(t *trace.Trace, n int) []trace.Cost {
	m := TextbookTwoPhaseMessages(n)
	return Measure(t).costs(costTextbook{
		commit: fmt.Sprintf("4(N−1) = %d with ACKs; 3(N−1) = %d without", m, 3*max(n-1, 0)),
		abort:  fmt.Sprintf("4(N−1) = %d (ABORT to every participant, acknowledged)", m),
		delays: "4: VOTE-REQ, vote, COMMIT, ACK", decisions: "3",
		blocking: "until the coordinator recovers, if it crashes in the uncertainty period (§7.4)",
	})
}

// ThreePhaseCosts are the measured costs of a 3PC run beside the textbook's,
// for a group of n.
func ThreePhaseCosts(t *trace.Trace, n int) []trace.Cost {
	cfg := DefaultThreePhaseConfig()
	return Measure(t).costs(costTextbook{
		commit:    fmt.Sprintf("5(N−1) = %d", TextbookThreePhaseMessages(n)),
		abort:     fmt.Sprintf("3(N−1) = %d (VOTE-REQ, vote, ABORT)", 3*max(n-1, 0)),
		delays:    "5: VOTE-REQ, YES, PRE-COMMIT, ACK, COMMIT",
		decisions: "5",
		blocking:  fmt.Sprintf("bounded by the timeouts and termination (≤ %v), never until recovery (§7.5)", cfg.TerminationBound(n)),
		backups:   true,
	})
}

// costTextbook holds the published figures the costs are printed beside.
type costTextbook struct {
	commit, abort, delays, decisions, blocking string
	backups                                    bool
}

func (c Costs) costs(tb costTextbook) []trace.Cost {
	msgs := func(tc TxCost) float64 { return float64(tc.Messages) }
	commitMsgs, _ := c.mean(Commit, msgs)
	abortMsgs, _ := c.mean(Abort, msgs)
	delays, _ := c.mean(Commit, func(tc TxCost) float64 { return float64(tc.Delays) })
	toDecisions, _ := c.mean(Commit, func(tc TxCost) float64 { return float64(tc.ToDecisions) })
	uncertainty, _ := meanMax(c.Uncertainty)
	costs := []trace.Cost{
		{Name: "messages per committed transaction", Value: commitMsgs, Textbook: tb.commit},
		{Name: "messages per aborted transaction", Value: abortMsgs, Textbook: tb.abort},
		{Name: "message delays per committed transaction", Value: delays, Textbook: tb.delays},
		{Name: "message delays until every participant decided", Value: toDecisions, Textbook: tb.decisions},
		{Name: "uncertainty period (YES vote to decision, mean)", Value: ms(uncertainty), Unit: "ms"},
		{Name: "blocking windows (locks held, coordinator down)", Value: float64(c.Blocking.Windows)},
		{Name: "longest blocking window", Value: ms(c.Blocking.Longest), Unit: "ms", Textbook: tb.blocking},
	}
	if tb.backups {
		costs = append(costs, trace.Cost{Name: "termination rules applied by backup coordinators", Value: float64(c.Terminations)})
	}
	return costs
}

// ms converts a duration to milliseconds, to the microsecond.
func ms(d time.Duration) float64 {
	return float64(d.Round(time.Microsecond)) / float64(time.Millisecond)
}
