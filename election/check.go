package election

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// The properties Check reports, in the order it reports them.
const (
	// PropElectedHighest: every election that ran without a fault elected a
	// process at least as high as every process that was up and reachable
	// throughout it. An election runs from its ElectionStarted to the first
	// Leader event of its epoch; it ran without a fault if no process
	// crashed, restarted, paused or resumed and no link was cut or healed
	// in between, and a process was reachable if no message to or from it
	// was lost in between. This is the safety of both algorithms under
	// their own assumptions (a synchronous system without partitions): the
	// bully's "the biggest guy in town always wins", the ring's "the list
	// member with the highest identifier".
	PropElectedHighest = "elected the highest"
	// PropTermination: every election that ran without a fault finished:
	// within the settling time of starting it, the process that started it
	// adopted a coordinator (itself or another). A fault (as for
	// PropElectedHighest) in that time excuses it.
	PropTermination = "elections finish"
	// PropAgreement: once faults stop (the last crash, restart, pause,
	// resume, partition or heal of the run) and the settling time has
	// passed, every live process (up and not paused at the end) follows
	// the same coordinator, the highest live process, and none adopts
	// another to the end of the run. Before that, during faults, several
	// leaders are allowed: a partition makes one on each side. On a lossy
	// network a live coordinator can still be suspected (its heartbeats
	// lost) and skipped (the ELECTION to it lost), so a process that adopts
	// another after the settling time is excused if a message was lost in
	// the settling time before: the verdict counts those brief changes,
	// and the end of the run must still be agreed.
	PropAgreement = "agreement after faults"
)

// DefaultSettle is the settling time Check allows a group of n processes
// after the last fault: enough, with the default settings, for a crash to
// be suspected (at most 300 ms), for any election to finish, a ring's with
// every member skipped once, and for a lost message to be made up for.
func DefaultSettle(n int) time.Duration { return time.Second + time.Duration(n)*10*time.Millisecond }

// Check judges a run of either election algorithm from its trace, allowing
// DefaultSettle after the last fault; see Checker.
func Check(t *trace.Trace) []trace.Check {
	return Checker{Settle: DefaultSettle(t.Nodes)}.Check(t)
}

// Checker judges runs of the election algorithms from the ElectionStarted
// and Leader events the processes emit and the runtime's record of crashes,
// restarts, pauses, partitions and lost messages (never from what the
// processes believe about each other).
type Checker struct {
	// Settle is how long after the last fault the leader must have settled.
	Settle time.Duration
}

// Check returns three verdicts: PropElectedHighest and PropTermination,
// judged on every election that ran without faults, and PropAgreement,
// judged on the state at the end of the run and on the Leader events after
// the settling time. A run that ends before the settling time has passed
// fails PropAgreement, saying so: nothing could be judged. A failure names
// what went wrong, first counterexample first.
func (c Checker) Check(t *trace.Trace) []trace.Check {
	h := readHistory(t, c.Settle)
	return []trace.Check{h.electedHighest(), h.termination(c.Settle), h.agreement(c.Settle)}
}

// history is what the checker reads from a trace.
type history struct {
	t *trace.Trace
	n int
	// The state of each process at the end of the run.
	up, paused []bool
	downSince  []time.Duration
	// leader and leaderAt are each process's last Leader event since it
	// last started (leaderAt < 0: none); started and startedAt its last
	// ElectionStarted since then (startedAt < 0: none); bootAt its last
	// start.
	leader              []Leader
	leaderAt, startedAt []time.Duration
	started             []Epoch
	bootAt              []time.Duration
	// lastFault is the last crash, restart, pause, resume, partition or
	// heal (nil: none); end the time of the last event.
	lastFault *trace.Event
	end       time.Duration
	// losses are the times messages were lost (to anything but a crashed
	// receiver), in order.
	losses []time.Duration
	// Elections: judged ran without faults, excused overlapped one;
	// violation describes the first that did not elect the highest.
	judged, excused int
	violation       string
	// Termination: finished counts the elections judged, unfinished
	// describes the first that took too long.
	finished   int
	unfinished string
}

// isFault reports whether e is a fault the election algorithms must recover
// from. Clock offsets and drift are not: the algorithms only time intervals
// with timers.
func isFault(k trace.Kind) bool {
	switch k {
	case trace.Crash, trace.Restart, trace.Pause, trace.Resume, trace.Partition, trace.Heal:
		return true
	}
	return false
}

func readHistory(t *trace.Trace, settle time.Duration) *history {
	n := t.Nodes
	for i := range t.Events {
		n = max(n, int(t.Events[i].Node)+1, int(t.Events[i].Peer)+1)
	}
	h := &history{t: t, n: n,
		up: make([]bool, n), paused: make([]bool, n), downSince: make([]time.Duration, n),
		leader: make([]Leader, n), leaderAt: make([]time.Duration, n), startedAt: make([]time.Duration, n),
		started: make([]Epoch, n), bootAt: make([]time.Duration, n),
	}
	for p := range n {
		h.leaderAt[p], h.startedAt[p] = -1, -1
	}
	lastFault := -1            // the index of the last fault so far
	lastDrop := make([]int, n) // the index of the last lost message to or from each process
	for p := range lastDrop {
		lastDrop[p] = -1
	}
	var faults []int // the indices of the faults, in order
	for i := range t.Events {
		if isFault(t.Events[i].Kind) {
			faults = append(faults, i)
		}
	}
	// faultFree reports whether no fault happened after event i and no
	// later than time to.
	faultFree := func(i int, to time.Duration) bool {
		k, _ := slices.BinarySearch(faults, i+1)
		return k == len(faults) || t.Events[faults[k]].Time > to
	}
	// waiting[p] is the index of the ElectionStarted of the election p is
	// waiting on, the first since it last had a coordinator (-1: none).
	waiting := make([]int, n)
	for p := range waiting {
		waiting[p] = -1
	}
	// finish judges p's wait for a coordinator, which ended at end (or
	// not, with the run).
	finish := func(p node.ID, end time.Duration, ended bool) {
		i := waiting[p]
		waiting[p] = -1
		if i < 0 {
			return
		}
		s := t.Events[i].Time
		if !faultFree(i, s+settle) {
			return
		}
		if end-s <= settle {
			h.finished++
			return
		}
		if h.unfinished != "" {
			return
		}
		outcome := "never had one, to the end of the run"
		if ended {
			outcome = fmt.Sprintf("had none until %v", end)
		}
		h.unfinished = fmt.Sprintf("%v started election %v at %v and had no coordinator %v later, with no fault in between (it %s)",
			p, t.Events[i].Value.(ElectionStarted).Epoch, s, settle, outcome)
	}
	starts := map[Epoch]int{} // the index of each election's ElectionStarted
	won := map[Epoch]bool{}
	for i := range t.Events {
		e := &t.Events[i]
		h.end = e.Time
		if isFault(e.Kind) {
			h.lastFault, lastFault = e, i
		}
		p := e.Node
		if p < 0 && e.Kind.IsProcess() {
			continue
		}
		switch e.Kind {
		case trace.Start:
			h.up[p], h.bootAt[p], h.leaderAt[p], h.startedAt[p] = true, e.Time, -1, -1
		case trace.Crash:
			h.up[p], h.paused[p], h.downSince[p] = false, false, e.Time
			waiting[p] = -1
		case trace.Restart:
			h.up[p] = true
		case trace.Pause:
			h.paused[p] = true
		case trace.Resume:
			h.paused[p] = false
		case trace.Drop:
			if e.Reason != trace.DropCrashed {
				h.losses = append(h.losses, e.Time)
				if p >= 0 {
					lastDrop[p] = i
				}
				if e.Peer >= 0 {
					lastDrop[e.Peer] = i
				}
			}
		case trace.Emit:
			switch v := e.Value.(type) {
			case ElectionStarted:
				h.started[p], h.startedAt[p] = v.Epoch, e.Time
				if waiting[p] < 0 {
					waiting[p] = i
				}
				if _, dup := starts[v.Epoch]; !dup {
					starts[v.Epoch] = i
				}
			case Leader:
				h.leader[p], h.leaderAt[p] = v, e.Time
				finish(p, e.Time, true)
				if won[v.Epoch] {
					break
				}
				won[v.Epoch] = true
				s, ok := starts[v.Epoch]
				if !ok {
					break
				}
				if lastFault > s {
					h.excused++
					break
				}
				h.judged++
				for q := v.ID + 1; int(q) < n; q++ {
					if h.up[q] && !h.paused[q] && lastDrop[q] < s && h.violation == "" {
						h.violation = fmt.Sprintf("election %v (started at %v) made %v coordinator at %v, although %v was up and reachable throughout, with no fault and no message to or from it lost",
							v.Epoch, t.Events[s].Time, v.ID, e.Time, q)
					}
				}
			}
		}
	}
	for p := range n {
		finish(node.ID(p), h.end, false)
	}
	return h
}

// electedHighest reports on the elections that ran without faults.
func (h *history) electedHighest() trace.Check {
	if h.violation != "" {
		return trace.Failed(PropElectedHighest, "%s", h.violation)
	}
	excused := ""
	if h.excused > 0 {
		excused = fmt.Sprintf("; %d more were won during faults and not judged", h.excused)
	}
	if h.judged == 0 {
		return trace.Passed(PropElectedHighest, "no election was won without a fault, nothing to judge%s", excused)
	}
	return trace.Passed(PropElectedHighest, "%d elections were won without a fault, each by the highest process up and reachable throughout%s",
		h.judged, excused)
}

// termination reports on the elections that ran without faults.
func (h *history) termination(settle time.Duration) trace.Check {
	if h.unfinished != "" {
		return trace.Failed(PropTermination, "%s", h.unfinished)
	}
	return trace.Passed(PropTermination, "%d elections ran without a fault, and each gave the process that started it a coordinator within %v", h.finished, settle)
}

// faultsDescription says when faults stopped, for a verdict.
func (h *history) faultsDescription() string {
	if h.lastFault == nil {
		return "no faults"
	}
	e := h.lastFault
	what := e.Kind.String()
	switch {
	case e.Detail != "":
		what = e.Detail
	case e.Node >= 0:
		what += " " + e.Node.String()
	}
	return fmt.Sprintf("faults stopped at %v (%s)", e.Time, what)
}

// agreement judges the end of the run.
func (h *history) agreement(settle time.Duration) trace.Check {
	if len(h.t.Events) == 0 {
		return trace.Failed(PropAgreement, "the trace is empty")
	}
	var from time.Duration
	if h.lastFault != nil {
		from = h.lastFault.Time
	}
	from += settle
	if h.end < from {
		return trace.Failed(PropAgreement, "cannot judge: %s and the run ended at %v, before the settling time of %v had passed; run longer",
			h.faultsDescription(), h.end, settle)
	}
	var live []node.ID
	for p := range h.n {
		if h.up[p] && !h.paused[p] {
			live = append(live, node.ID(p))
		}
	}
	if len(live) == 0 {
		return trace.Passed(PropAgreement, "%s; no process is up at the end of the run, so none needs a leader", h.faultsDescription())
	}
	highest := live[len(live)-1]
	var problems []string
	since := time.Duration(0)
	for _, p := range live {
		switch l, at := h.leader[p], h.leaderAt[p]; {
		case h.startedAt[p] > at:
			problems = append(problems, fmt.Sprintf("%v has no leader: its election %v, started at %v, never finished", p, h.started[p], h.startedAt[p]))
		case at < 0:
			problems = append(problems, fmt.Sprintf("%v has had no leader since it started at %v", p, h.bootAt[p]))
		case l.ID != highest:
			s := fmt.Sprintf("%v follows %v (since %v)", p, l.ID, at)
			if int(l.ID) < h.n && l.ID >= 0 && !h.up[l.ID] {
				s += fmt.Sprintf(", which is down since %v", h.downSince[l.ID])
			}
			problems = append(problems, s)
		default:
			since = max(since, at)
		}
	}
	if len(problems) > 0 {
		return trace.Failed(PropAgreement, "%s; at the end (%v) the highest live process is %v, but %s",
			h.faultsDescription(), h.end, highest, abbreviate(problems, 3))
	}
	brief, first := 0, ""
	for _, l := range trace.Emitted[Leader](h.t) {
		if l.Time < from || l.Node < 0 || int(l.Node) >= h.n || !h.up[l.Node] || h.paused[l.Node] || l.Value.ID == highest {
			continue
		}
		if !h.lostWithin(l.Time-settle, l.Time) {
			return trace.Failed(PropAgreement, "%s, but %v adopted %v at %v, after the settling time of %v had passed, with no message lost in between; the highest live process is %v",
				h.faultsDescription(), l.Node, l.Value.ID, l.Time, settle, highest)
		}
		if brief++; brief == 1 {
			first = fmt.Sprintf("%v adopted %v at %v", l.Node, l.Value.ID, l.Time)
		}
	}
	s := fmt.Sprintf("%s; from %v to the end (%v) all %d live processes follow %v, the highest live process (agreed since %v)",
		h.faultsDescription(), from, h.end, len(live), highest, since)
	if brief > 0 {
		s += fmt.Sprintf("; %d brief changes of leader after lost messages were made up for (first: %s)", brief, first)
	}
	return trace.Passed(PropAgreement, "%s", s)
}

// lostWithin reports whether a message was lost between from and to.
func (h *history) lostWithin(from, to time.Duration) bool {
	i, _ := slices.BinarySearch(h.losses, from)
	return i < len(h.losses) && h.losses[i] <= to
}

// abbreviate joins the first k items and counts the rest.
func abbreviate(items []string, k int) string {
	if len(items) <= k {
		return strings.Join(items, "; ")
	}
	return fmt.Sprintf("%s; and %d more", strings.Join(items[:k], "; "), len(items)-k)
}
