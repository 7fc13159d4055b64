package commit

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// The properties the checker reports, in the order it reports them. BHG
// §7.2 lists them as AC1–AC5.
const (
	// PropAgreement (AC1): all processes that decide a transaction, in any
	// incarnation, decide the same.
	PropAgreement = "agreement"
	// PropCommitValidity (AC3, first half): a transaction is committed only
	// if every participant voted YES, before the first commit decision.
	PropCommitValidity = "commit validity"
	// PropAbortValidity (AC4): a transaction on which every participant
	// voted YES, and during which nothing failed, is committed. "Nothing
	// failed" means that from the coordinator's Began to the last vote or
	// the first decision, whichever is later, no process crashed,
	// restarted or paused, no link was cut or healed, no message was lost
	// and none took longer than Checker.Delta. A NO vote forbids a commit:
	// PropCommitValidity judges that.
	PropAbortValidity = "abort validity"
	// PropDurability (AC2 across crashes): a process's decision and its YES
	// vote survive a crash. At every restart the process's Recovered log
	// must hold each transaction it decided, with the same outcome, and
	// each it voted YES on and had not decided, undecided; it never decides
	// a transaction differently from before, and answers Status requests
	// with the decision it made.
	PropDurability = "durability"
	// PropTermination (2PC, AC5): once the coordinator is up, every
	// participant that voted YES learns the outcome. It is judged on the
	// state at the end of the run: every participant that is up and voted
	// YES has decided, and so has the coordinator, unless less than
	// Checker.Settle has passed since either last came up or since the last
	// failure of the network (a cut, heal, pause, lost or late message); a
	// crash of another process does not matter. A participant still
	// uncertain at the end with its coordinator down is blocked, which 2PC
	// allows: the detail reports it, with every blocking window of the run
	// (a span in which a participant held a transaction's locks while its
	// coordinator was down), and it is not a violation.
	PropTermination = "termination"
	// PropNonBlocking (3PC): every participant that votes YES and stays up
	// decides within Checker.Bound of its vote, even if the coordinator
	// (and other participants) crash, as long as the network keeps 3PC's
	// assumptions: a vote after which a link was cut or healed, a process
	// paused or resumed, or a message was lost or late (beyond Delta)
	// within the bound is not judged, and neither is one whose participant
	// crashed (a recovering process may wait for others).
	PropNonBlocking = "non-blocking"
)

// Check2PC judges a run of two-phase commit with the default settings:
// agreement, commit validity, abort validity, durability and termination,
// blocking reported.
func Check2PC(t *trace.Trace) []trace.Check {
	cfg := DefaultTwoPhaseConfig()
	return Checker{Delta: DefaultThreePhaseConfig().Delta, Settle: 3 * max(cfg.DecisionTimeout, cfg.ResendInterval)}.Check(t)
}

// Check3PC judges a run of three-phase commit with the default settings:
// agreement, commit validity, abort validity, durability and non-blocking
// within DefaultThreePhaseConfig().TerminationBound.
func Check3PC(t *trace.Trace) []trace.Check {
	cfg := DefaultThreePhaseConfig()
	return Checker{Delta: cfg.Delta, Bound: cfg.TerminationBound(t.Nodes)}.Check(t)
}

// Checker judges runs of the commit protocols from the events the processes
// emit (Began, Voted, Decided, Locked, Unlocked, Recovered, StatusReply
// replies) and the runtime's record of crashes, restarts, pauses,
// partitions and messages; never from what processes believe.
type Checker struct {
	// Delta is the message delay beyond which a message counts as a
	// failure (a timing failure) for abort validity and non-blocking.
	Delta time.Duration
	// Bound, if positive, selects the non-blocking check (3PC) with this
	// bound, instead of termination (2PC).
	Bound time.Duration
	// Settle is how long termination (2PC) waits after the last fault, and
	// after the coordinator last came up, before it judges the end.
	Settle time.Duration
}

// Check returns the verdicts on agreement, commit validity, abort validity,
// durability and termination (or non-blocking). A failure describes the
// first counterexample.
func (c Checker) Check(t *trace.Trace) []trace.Check {
	h := readHistory(t, c.Delta)
	checks := []trace.Check{h.agreement(), h.commitValidity(), h.abortValidity(), h.durabilityCheck()}
	if c.Bound > 0 {
		return append(checks, h.nonBlocking(c.Bound))
	}
	return append(checks, h.termination(c.Settle))
}

// vote is a participant's first vote on a transaction.
type vote struct {
	yes bool
	at  time.Duration
	seq int
}

// decision is one Decided event.
type decision struct {
	p       node.ID
	outcome Outcome
	at      time.Duration
	seq     int
}

// txHistory is what the checker reads about one transaction.
type txHistory struct {
	id TxID
	// began is the index of the coordinator's Began event (-1: none seen),
	// coord the coordinator and participants its participants.
	began        int
	beganAt      time.Duration
	coord        node.ID
	participants []node.ID
	votes        map[node.ID]vote
	decisions    []decision
	// first is each process's first decision.
	first map[node.ID]decision
	// locks are the intervals in which participants held its locks;
	// lockedAt the start of the current one (absent: not held).
	locks    []interval
	lockedAt map[node.ID]time.Duration
}

// interval is a span of time at one process, about one transaction.
type interval struct {
	p        node.ID
	tx       TxID
	from, to time.Duration
	// open: it lasted to the end of the run.
	open bool
}

func (iv interval) length() time.Duration { return iv.to - iv.from }

// history is what the checker reads from a trace.
type history struct {
	t   *trace.Trace
	n   int
	txs map[TxID]*txHistory
	ids []TxID // in order of first appearance
	// up is each process's state at the end; down its crashed spans
	// (to = end of run if still down); lastUp the time it last started.
	up     []bool
	down   [][]interval
	lastUp []time.Duration
	// faults are the failures that excuse abort validity and non-blocking,
	// in time order, each with a description.
	faults      []fault
	end         time.Duration
	durability  []string
	restarts    int // restarts judged
	durChecks   int
	statusCount int
}

// fault is a failure in the run.
type fault struct {
	at    time.Duration
	what  string
	crash bool // a crash or restart, which 3PC's model allows
}

func (h *history) tx(id TxID) *txHistory {
	x, ok := h.txs[id]
	if !ok {
		x = &txHistory{id: id, began: -1, coord: node.None, votes: map[node.ID]vote{}, first: map[node.ID]decision{}, lockedAt: map[node.ID]time.Duration{}}
		h.txs[id] = x
		h.ids = append(h.ids, id)
	}
	return x
}

func readHistory(t *trace.Trace, delta time.Duration) *history {
	n := t.Nodes
	for i := range t.Events {
		n = max(n, int(t.Events[i].Node)+1)
	}
	h := &history{t: t, n: n, txs: map[TxID]*txHistory{}, up: make([]bool, n), down: make([][]interval, n), lastUp: make([]time.Duration, n)}
	sentAt := map[uint64]time.Duration{}
	started := make([]bool, n)
	// expect[p]: p restarted and its Recovered report (if any) comes next.
	expect := make([]bool, n)
	recover := func(p node.ID, log []TxState, at time.Duration) {
		expect[p] = false
		h.restarts++
		h.checkRecovered(p, log, at)
	}
	addFault := func(f fault) { h.faults = append(h.faults, f) }
	for i := range t.Events {
		e := &t.Events[i]
		h.end = e.Time
		p := e.Node
		if p >= 0 && int(p) < n && expect[p] && e.Kind.IsProcess() && e.Kind != trace.Start {
			if v, ok := e.Value.(Recovered); ok && e.Kind == trace.Emit {
				recover(p, v.Log, e.Time)
				continue
			}
			recover(p, nil, e.Time)
		}
		switch e.Kind {
		case trace.Start:
			if started[p] {
				expect[p] = true
			}
			started[p], h.up[p], h.lastUp[p] = true, true, e.Time
		case trace.Crash:
			h.up[p] = false
			h.down[p] = append(h.down[p], interval{p: p, from: e.Time, to: -1})
			for _, id := range h.ids {
				x := h.txs[id]
				if from, ok := x.lockedAt[p]; ok {
					x.locks = append(x.locks, interval{p: p, tx: id, from: from, to: e.Time})
					delete(x.lockedAt, p)
				}
			}
			addFault(fault{at: e.Time, what: "crash " + p.String(), crash: true})
		case trace.Restart:
			if d := h.down[p]; len(d) > 0 && d[len(d)-1].to < 0 {
				d[len(d)-1].to = e.Time
			}
			addFault(fault{at: e.Time, what: "restart " + p.String(), crash: true})
		case trace.Pause, trace.Resume, trace.Partition, trace.Heal:
			what := e.Kind.String()
			if e.Detail != "" {
				what = e.Detail
			} else if p >= 0 {
				what += " " + p.String()
			}
			addFault(fault{at: e.Time, what: what})
		case trace.Send:
			sentAt[e.MsgID] = e.Time
		case trace.Drop:
			if e.Reason != trace.DropCrashed {
				addFault(fault{at: e.Time, what: fmt.Sprintf("%s %v→%v dropped (%s)", shortType(e.Type), e.Node, e.Peer, e.Reason)})
			}
		case trace.Deliver:
			// A late message is a failure from the moment it should have
			// arrived.
			if s, ok := sentAt[e.MsgID]; ok && delta > 0 && e.Time-s > delta {
				addFault(fault{at: s + delta, what: fmt.Sprintf("%s %v→%v took %v > Δ = %v", shortType(e.Type), e.Peer, e.Node, e.Time-s, delta)})
			}
		case trace.Reply:
			if r, ok := e.Value.(StatusReply); ok {
				h.checkStatus(p, r, e.Time)
			}
		case trace.Emit:
			h.readEmit(p, e, i)
		}
	}
	slices.SortStableFunc(h.faults, func(a, b fault) int { return cmp.Compare(a.at, b.at) })
	for p := range n {
		if expect[p] {
			recover(node.ID(p), nil, h.end)
		}
		if d := h.down[p]; len(d) > 0 && d[len(d)-1].to < 0 {
			d[len(d)-1].to = h.end
		}
	}
	for _, id := range h.ids {
		x := h.txs[id]
		for _, p := range sortedKeys(x.lockedAt) {
			x.locks = append(x.locks, interval{p: p, tx: id, from: x.lockedAt[p], to: h.end, open: true})
		}
	}
	return h
}

// readEmit takes in one emitted event.
func (h *history) readEmit(p node.ID, e *trace.Event, i int) {
	switch v := e.Value.(type) {
	case Began:
		x := h.tx(v.Tx)
		if x.began < 0 {
			x.began, x.beganAt, x.coord, x.participants = i, e.Time, p, v.Participants
		}
	case Voted:
		x := h.tx(v.Tx)
		if _, ok := x.votes[p]; !ok {
			x.votes[p] = vote{yes: v.Yes, at: e.Time, seq: i}
		}
	case Decided:
		x := h.tx(v.Tx)
		d := decision{p: p, outcome: v.Outcome, at: e.Time, seq: i}
		if prev, ok := x.first[p]; ok {
			if prev.outcome != v.Outcome {
				h.durability = append(h.durability, fmt.Sprintf("%v decided %v %s at %v and %s at %v", p, v.Tx, prev.outcome, prev.at, v.Outcome, e.Time))
			}
		} else {
			x.first[p] = d
		}
		x.decisions = append(x.decisions, d)
	case Locked:
		x := h.tx(v.Tx)
		if _, ok := x.lockedAt[p]; !ok {
			x.lockedAt[p] = e.Time
		}
	case Unlocked:
		x := h.tx(v.Tx)
		if from, ok := x.lockedAt[p]; ok {
			x.locks = append(x.locks, interval{p: p, tx: v.Tx, from: from, to: e.Time})
			delete(x.lockedAt, p)
		}
	}
}

// checkRecovered compares what p recovered at a restart with what it had
// decided and voted before.
func (h *history) checkRecovered(p node.ID, log []TxState, at time.Duration) {
	found := map[TxID]State{}
	for _, s := range log {
		found[s.Tx] = s.State
	}
	for _, id := range h.ids {
		x := h.txs[id]
		s, ok := found[id]
		if d, decided := x.first[p]; decided {
			h.durChecks++
			if !ok || s != outcomeState(d.outcome) {
				h.durability = append(h.durability, fmt.Sprintf("%v decided %v %s at %v, but restarted at %v with %s in its log", p, id, d.outcome, d.at, at, logState(s, ok)))
			}
			continue
		}
		if v, voted := x.votes[p]; voted && v.yes {
			h.durChecks++
			if !ok || s == Initial || s == Aborted {
				h.durability = append(h.durability, fmt.Sprintf("%v voted YES on %v at %v and had not learned the outcome, but restarted at %v with %s in its log: it can no longer keep its promise", p, id, v.at, at, logState(s, ok)))
			}
		}
	}
}

func logState(s State, ok bool) string {
	if !ok {
		return "no record of it"
	}
	return fmt.Sprintf("%q", s)
}

// checkStatus compares p's answer to a Status request with its decision.
func (h *history) checkStatus(p node.ID, r StatusReply, at time.Duration) {
	h.statusCount++
	x, ok := h.txs[r.Tx]
	if !ok {
		return
	}
	if d, decided := x.first[p]; decided && r.State != outcomeState(d.outcome) {
		h.durability = append(h.durability, fmt.Sprintf("%v decided %v %s at %v, but answered a Status request at %v with %q", p, r.Tx, d.outcome, d.at, at, r.State))
	}
}

// agreement judges AC1.
func (h *history) agreement() trace.Check {
	decided, committed, processes := 0, 0, 0
	for _, id := range h.ids {
		x := h.txs[id]
		if len(x.decisions) == 0 {
			continue
		}
		decided++
		first := x.decisions[0]
		for _, d := range x.decisions[1:] {
			if d.outcome != first.outcome {
				return trace.Failed(PropAgreement, "%v: %v decided %s at %v, but %v decided %s at %v%s",
					id, first.p, first.outcome, first.at, d.p, d.outcome, d.at, h.describeDecisions(x))
			}
		}
		if first.outcome == Commit {
			committed++
		}
		processes += len(x.first)
	}
	if decided == 0 {
		return trace.Passed(PropAgreement, "no transaction was decided, nothing to judge")
	}
	return trace.Passed(PropAgreement, "%d transactions decided (%d committed, %d aborted), each the same way by every process that decided it (%d decisions)",
		decided, committed, decided-committed, processes)
}

// describeDecisions lists every process's decision on x: "; n0 commit, n1 abort".
func (h *history) describeDecisions(x *txHistory) string {
	var parts []string
	for _, p := range sortedKeys(x.first) {
		parts = append(parts, fmt.Sprintf("%v %s", p, x.first[p].outcome))
	}
	return "; decisions: " + strings.Join(parts, ", ")
}

// commitValidity judges AC3's first half.
func (h *history) commitValidity() trace.Check {
	judged := 0
	for _, id := range h.ids {
		x := h.txs[id]
		i := slices.IndexFunc(x.decisions, func(d decision) bool { return d.outcome == Commit })
		if i < 0 {
			continue
		}
		c := x.decisions[i]
		if x.began < 0 {
			return trace.Failed(PropCommitValidity, "%v decided to commit %v at %v, which no coordinator began", c.p, id, c.at)
		}
		judged++
		for _, q := range x.participants {
			v, ok := x.votes[q]
			switch {
			case !ok || v.seq > c.seq:
				return trace.Failed(PropCommitValidity, "%v decided to commit %v at %v, but participant %v had not voted%s", c.p, id, c.at, q, h.voteDetail(x, q))
			case !v.yes:
				return trace.Failed(PropCommitValidity, "%v decided to commit %v at %v, but participant %v voted NO at %v", c.p, id, c.at, q, v.at)
			}
		}
	}
	if judged == 0 {
		return trace.Passed(PropCommitValidity, "no transaction was committed, nothing to judge")
	}
	return trace.Passed(PropCommitValidity, "each of the %d committed transactions had a YES from every participant before its first commit decision", judged)
}

func (h *history) voteDetail(x *txHistory, q node.ID) string {
	v, ok := x.votes[q]
	if !ok {
		return " (it never did)"
	}
	yn := "NO"
	if v.yes {
		yn = "YES"
	}
	return fmt.Sprintf(" (it voted %s later, at %v)", yn, v.at)
}

// abortValidity judges AC4.
func (h *history) abortValidity() trace.Check {
	judged, excused := 0, 0
	for _, id := range h.ids {
		x := h.txs[id]
		if x.began < 0 || len(x.decisions) == 0 || !x.allYes() {
			continue
		}
		to := x.decisions[0].at
		for _, v := range x.votes {
			to = max(to, v.at)
		}
		if f := h.faultWithin(x.beganAt, to, false); f != nil {
			excused++
			continue
		}
		judged++
		for _, d := range x.decisions {
			if d.at <= to && d.outcome == Abort {
				return trace.Failed(PropAbortValidity, "%v: every participant voted YES and nothing failed from its start at %v to %v, yet %v decided abort at %v",
					id, x.beganAt, to, d.p, d.at)
			}
		}
	}
	excuse := ""
	if excused > 0 {
		excuse = fmt.Sprintf("; %d more had a failure meanwhile and were not judged", excused)
	}
	if judged == 0 {
		return trace.Passed(PropAbortValidity, "no transaction had every vote YES and no failure, nothing to judge%s", excuse)
	}
	return trace.Passed(PropAbortValidity, "each of the %d transactions with every vote YES and no failure was committed%s", judged, excuse)
}

// allYes reports whether every participant voted YES.
func (x *txHistory) allYes() bool {
	for _, q := range x.participants {
		if v, ok := x.votes[q]; !ok || !v.yes {
			return false
		}
	}
	return true
}

// faultWithin returns the first failure in [from, to], or nil; with
// crashesAllowed, crashes and restarts do not count.
func (h *history) faultWithin(from, to time.Duration, crashesAllowed bool) *fault {
	i, _ := slices.BinarySearchFunc(h.faults, from, func(f fault, t time.Duration) int {
		switch {
		case f.at < t:
			return -1
		case f.at > t:
			return 1
		}
		return 0
	})
	for ; i < len(h.faults) && h.faults[i].at <= to; i++ {
		if !crashesAllowed || !h.faults[i].crash {
			return &h.faults[i]
		}
	}
	return nil
}

// durabilityCheck judges durability.
func (h *history) durabilityCheck() trace.Check {
	if len(h.durability) > 0 {
		return trace.Failed(PropDurability, "%s", abbreviate(h.durability, 2))
	}
	crashes := 0
	for p := range h.n {
		crashes += len(h.down[p])
	}
	status := ""
	if h.statusCount > 0 {
		status = fmt.Sprintf("; %d Status answers agreed with the decisions", h.statusCount)
	}
	switch {
	case crashes == 0:
		return trace.Passed(PropDurability, "no process crashed; no decision was reversed%s", status)
	case h.restarts == 0:
		return trace.Passed(PropDurability, "%d crashes and no restart; no decision was reversed%s", crashes, status)
	}
	return trace.Passed(PropDurability, "%d crashes, %d restarts; at every restart the log held each decision and each undecided YES vote made before it (%d checked), and no decision was reversed%s",
		crashes, h.restarts, h.durChecks, status)
}

// blocking returns the blocking windows: spans in which a participant held
// a transaction's locks while the transaction's coordinator was down.
func (h *history) blocking() []interval {
	var out []interval
	for _, id := range h.ids {
		x := h.txs[id]
		if x.coord < 0 || int(x.coord) >= h.n {
			continue
		}
		for _, l := range x.locks {
			for _, d := range h.down[x.coord] {
				from, to := max(l.from, d.from), min(l.to, d.to)
				if to > from {
					out = append(out, interval{p: l.p, tx: id, from: from, to: to, open: l.open && to == h.end})
				}
			}
		}
	}
	return out
}

// BlockingReport summarizes the blocking windows of a run: the spans in
// which a participant held a transaction's locks while that transaction's
// coordinator was down.
type BlockingReport struct {
	// Windows counts them; Total is their summed length, Longest the
	// longest, at participant LongestAt on transaction LongestTx.
	Windows        int
	Total, Longest time.Duration
	LongestAt      node.ID
	LongestTx      TxID
	// AtEnd counts the participants still blocked when the run ended.
	AtEnd int
}

// String summarizes the report in words.
func (b BlockingReport) String() string {
	if b.Windows == 0 {
		return "no blocking: no participant held locks while its coordinator was down"
	}
	s := fmt.Sprintf("%d blocking windows: prepared participants held their locks for %v in all while the coordinator was down (longest %v, %v on %v)",
		b.Windows, us(b.Total), us(b.Longest), b.LongestAt, b.LongestTx)
	if b.AtEnd > 0 {
		s += fmt.Sprintf("; %d still blocked when the run ended", b.AtEnd)
	}
	return s
}

// Blocking measures the blocking windows of a run of either protocol.
func Blocking(t *trace.Trace) BlockingReport {
	h := readHistory(t, 0)
	return h.blockingReport()
}

func (h *history) blockingReport() BlockingReport {
	var b BlockingReport
	for _, w := range h.blocking() {
		b.Windows++
		b.Total += w.length()
		if w.length() > b.Longest {
			b.Longest, b.LongestAt, b.LongestTx = w.length(), w.p, w.tx
		}
		if w.open && !h.up[h.txs[w.tx].coord] {
			b.AtEnd++
		}
	}
	return b
}

// termination judges 2PC's termination at the end of the run. A process
// still undecided at the end is judged if Settle has passed since its
// coordinator and it last came up and since the last failure of the network
// (a crash of another process does not matter).
func (h *history) termination(settle time.Duration) trace.Check {
	block := h.blockingReport()
	blocking := block.String()
	if block.Windows > 0 {
		blocking += " — 2PC blocks until its coordinator returns (BHG §7.4); reported, not a violation"
	}
	var network time.Duration // the last failure other than a crash or restart
	for i := len(h.faults) - 1; i >= 0; i-- {
		if !h.faults[i].crash {
			network = h.faults[i].at
			break
		}
	}
	uncertain, learned := 0, 0
	var periods []time.Duration
	for _, id := range h.ids {
		x := h.txs[id]
		if x.began < 0 || x.coord < 0 || int(x.coord) >= h.n {
			continue
		}
		c := x.coord
		coordUp := h.up[c]
		if _, ok := x.first[c]; !ok && coordUp && h.end >= max(network, h.lastUp[c])+settle {
			return trace.Failed(PropTermination, "coordinator %v began %v at %v and had not decided it when the run ended at %v, though it has been up since %v", c, id, x.beganAt, h.end, h.lastUp[c])
		}
		for _, q := range x.participants {
			v, voted := x.votes[q]
			if !voted || !v.yes {
				continue
			}
			if d, ok := x.first[q]; ok {
				learned++
				periods = append(periods, d.at-v.at)
				continue
			}
			if int(q) >= h.n || !h.up[q] {
				continue
			}
			if coordUp && h.end >= max(network, h.lastUp[c], h.lastUp[q])+settle {
				return trace.Failed(PropTermination, "%v voted YES on %v at %v and was still uncertain, holding its locks, when the run ended at %v, though it and the coordinator %v had been up since %v and %v",
					q, id, v.at, h.end, c, h.lastUp[q], h.lastUp[c])
			}
			uncertain++
		}
	}
	if learned == 0 && uncertain == 0 {
		return trace.Passed(PropTermination, "no participant voted YES, nothing to judge; %s", blocking)
	}
	mean, longest := meanMax(periods)
	s := fmt.Sprintf("%d YES votes were followed by the outcome (uncertainty period mean %v, longest %v)", learned, us(mean), us(longest))
	if uncertain > 0 {
		s += fmt.Sprintf("; %d participants were still uncertain at the end, with the coordinator down or too soon after a restart to judge", uncertain)
	}
	return trace.Passed(PropTermination, "%s; %s", s, blocking)
}

// nonBlocking judges 3PC's non-blocking property.
func (h *history) nonBlocking(bound time.Duration) trace.Check {
	judged, excused, crashed, viaBackup := 0, 0, 0, 0
	var longest time.Duration
	var example string
	for _, id := range h.ids {
		x := h.txs[id]
		for _, q := range sortedKeys(x.votes) {
			v := x.votes[q]
			if !v.yes || q < 0 || int(q) >= h.n {
				continue
			}
			d, decided := x.first[q]
			to := h.end
			if decided {
				to = d.at
			}
			if h.crashedWithin(q, v.at, to) {
				crashed++
				continue
			}
			if f := h.faultWithin(v.at, min(to, v.at+bound), true); f != nil {
				excused++
				if example == "" {
					example = fmt.Sprintf(" (first: %s at %v)", f.what, f.at)
				}
				continue
			}
			if !decided && to-v.at <= bound {
				continue // the run ended too soon to judge
			}
			judged++
			if to-v.at > bound {
				what := fmt.Sprintf("was still undecided when the run ended at %v", h.end)
				if decided {
					what = fmt.Sprintf("decided only at %v", d.at)
				}
				coord := ""
				if x.coord >= 0 && int(x.coord) < h.n && h.downAt(x.coord, v.at+bound) {
					coord = fmt.Sprintf(" with the coordinator %v down,", x.coord)
				}
				return trace.Failed(PropNonBlocking, "%v voted YES on %v at %v and %s, more than %v later,%s without crashing, and with no partition, pause, lost or late message in between: it blocked",
					q, id, v.at, what, bound, coord)
			}
			longest = max(longest, to-v.at)
			if x.coord >= 0 && int(x.coord) < h.n && h.downAt(x.coord, to) {
				viaBackup++
			}
		}
	}
	s := fmt.Sprintf("%d YES votes by participants that stayed up were each followed by the decision within %v (longest %v)", judged, bound, us(longest))
	if viaBackup > 0 {
		s += fmt.Sprintf(", %d of them with the coordinator down, by the termination protocol", viaBackup)
	}
	if crashed > 0 {
		s += fmt.Sprintf("; %d whose participant crashed were not judged", crashed)
	}
	if excused > 0 {
		s += fmt.Sprintf("; %d with a partition, pause, lost or late message within the bound were not judged%s", excused, example)
	}
	return trace.Passed(PropNonBlocking, "%s; %s", s, h.blockingReport())
}

// crashedWithin reports whether p crashed in (from, to].
func (h *history) crashedWithin(p node.ID, from, to time.Duration) bool {
	for _, d := range h.down[p] {
		if d.from > from && d.from <= to {
			return true
		}
	}
	return false
}

// downAt reports whether p was down at time at.
func (h *history) downAt(p node.ID, at time.Duration) bool {
	for _, d := range h.down[p] {
		if d.from <= at && at < d.to || d.from <= at && d.to == h.end && !h.up[p] {
			return true
		}
	}
	return false
}

// us rounds a duration to the microsecond, for reading.
func us(d time.Duration) time.Duration { return d.Round(time.Microsecond) }

func meanMax(ds []time.Duration) (mean, longest time.Duration) {
	if len(ds) == 0 {
		return 0, 0
	}
	var sum time.Duration
	for _, d := range ds {
		sum += d
		longest = max(longest, d)
	}
	return sum / time.Duration(len(ds)), longest
}

func sortedKeys[V any](m map[node.ID]V) []node.ID {
	keys := make([]node.ID, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// shortType drops the package from a registered type name.
func shortType(name string) string {
	if i := strings.LastIndexByte(name, '.'); i >= 0 {
		return name[i+1:]
	}
	return name
}

// abbreviate joins the first k items and counts the rest.
func abbreviate(items []string, k int) string {
	if len(items) <= k {
		return strings.Join(items, "; ")
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(items[:k], "; "), len(items)-k)
}
