package mutex

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// The properties the checkers report.
const (
	// PropMutualExclusion: never two processes between EnterCS and ExitCS at
	// once, judged on the runtime's global timeline (the trace order). A
	// process that crashes inside is outside from the crash on.
	PropMutualExclusion = "mutual exclusion"
	// PropLiveness: every Acquire request is granted by the end of the run,
	// unless the process that received it crashed first (its request died
	// with it). It is judged at the run's end, so a blocked algorithm is
	// reported rather than waited for.
	PropLiveness = "liveness"
	// PropTimestampOrder: the critical section is granted in the order of
	// the requests' (timestamp, process) names, Lamport's total order "⇒"
	// (Ricart–Agrawala and Lamport).
	PropTimestampOrder = "timestamp order"
	// PropFIFOOrder: the critical section is granted in the order the
	// requests arrived at the coordinator (central), judged on the
	// runtime's deliveries, not on the coordinator's say-so.
	PropFIFOOrder = "FIFO order"
	// PropBoundedWaiting: while a process waits for the critical section, no
	// other process enters it more than once (the token ring's one
	// rotation).
	PropBoundedWaiting = "bounded waiting"
)

// CheckCentral judges a run of the centralized algorithm: mutual exclusion,
// liveness, and grants in FIFO order of arrival at the coordinator.
func CheckCentral(t *trace.Trace) []trace.Check {
	r := readRun(t)
	return []trace.Check{r.mutualExclusion(), r.liveness(), r.fifoOrder()}
}

// CheckRicartAgrawala judges a run of Ricart–Agrawala: mutual exclusion,
// liveness, and grants in timestamp order.
func CheckRicartAgrawala(t *trace.Trace) []trace.Check {
	r := readRun(t)
	return []trace.Check{r.mutualExclusion(), r.liveness(), r.timestampOrder()}
}

// CheckTokenRing judges a run of the token ring: mutual exclusion, liveness,
// and bounded waiting.
func CheckTokenRing(t *trace.Trace) []trace.Check {
	r := readRun(t)
	return []trace.Check{r.mutualExclusion(), r.liveness(), r.boundedWaiting()}
}

// CheckLamport judges a run of Lamport's algorithm: mutual exclusion,
// liveness, and grants in timestamp order.
func CheckLamport(t *trace.Trace) []trace.Check {
	r := readRun(t)
	return []trace.Check{r.mutualExclusion(), r.liveness(), r.timestampOrder()}
}

// CheckVoting judges a run of decentralized voting: mutual exclusion and
// liveness. Voting promises no order: a process can be overtaken any number
// of times.
func CheckVoting(t *trace.Trace) []trace.Check {
	r := readRun(t)
	return []trace.Check{r.mutualExclusion(), r.liveness()}
}

// request is one Acquire request as the trace shows it.
type request struct {
	node node.ID
	id   node.RequestID
	// at is the index of the Request event; head the index of the event at
	// which the request became the one its process serves (its arrival, or
	// the exit that ended the previous stay).
	at, head int
	// enter and exit are the indexes of its EnterCS and ExitCS (-1: none).
	enter, exit int
	// ts is the name EnterCS gave the request.
	ts uint64
	// crash is the index of the crash that ended the request before it was
	// answered, waiting or inside (-1: none).
	crash int
}

// run is what the checkers read from a trace.
type run struct {
	t     *trace.Trace
	nodes int
	// requests lists the Acquire requests in arrival order.
	requests []*request
	// entries lists the EnterCS events, in trace order, with their requests
	// (nil when the request is not in the trace).
	entries []entryRef
	// refused counts the requests that reached a crashed process, which the
	// runtime notes and drops.
	refused int
}

type entryRef struct {
	idx int
	req *request
	ts  uint64
}

func readRun(t *trace.Trace) *run {
	r := &run{t: t, nodes: t.Nodes}
	// pending[n] lists n's unanswered requests, oldest (the one served) first.
	pending := map[node.ID][]*request{}
	for i := range t.Events {
		e := &t.Events[i]
		if e.Node < 0 {
			continue
		}
		r.nodes = max(r.nodes, int(e.Node)+1)
		switch e.Kind {
		case trace.Note:
			if e.Request != 0 {
				r.refused++
			}
		case trace.Request:
			if _, ok := e.Value.(Acquire); !ok {
				continue
			}
			q := &request{node: e.Node, id: e.Request, at: i, head: i, enter: -1, exit: -1, crash: -1}
			r.requests = append(r.requests, q)
			pending[e.Node] = append(pending[e.Node], q)
		case trace.Crash:
			for _, q := range pending[e.Node] {
				q.crash = i
			}
			delete(pending, e.Node)
		case trace.Emit:
			switch v := e.Value.(type) {
			case EnterCS:
				ref := entryRef{idx: i, ts: v.TS}
				if q := find(pending[e.Node], v.Request); q != nil && q.enter < 0 {
					q.enter, q.ts, ref.req = i, v.TS, q
				}
				r.entries = append(r.entries, ref)
			case ExitCS:
				ps := pending[e.Node]
				if q := find(ps, v.Request); q != nil {
					q.exit = i
					ps = slices.DeleteFunc(ps, func(x *request) bool { return x == q })
					if len(ps) > 0 && ps[0].head < i {
						ps[0].head = i
					}
					pending[e.Node] = ps
				}
			}
		}
	}
	return r
}

func find(rs []*request, id node.RequestID) *request {
	for _, q := range rs {
		if q.id == id {
			return q
		}
	}
	return nil
}

// ev returns the event at index i.
func (r *run) ev(i int) *trace.Event { return &r.t.Events[i] }

// Overlap is an entry into the critical section while another process (or
// the same one, entering twice) was already inside: a violation of mutual
// exclusion.
type Overlap struct {
	// Node entered at At, while Inside had been inside since Since.
	Node   node.ID
	At     time.Duration
	Inside node.ID
	Since  time.Duration
}

// String describes the overlap as the checker reports it.
func (o Overlap) String() string {
	if o.Node == o.Inside {
		return fmt.Sprintf("%v entered again at %v while already inside (since %v)", o.Node, o.At, o.Since)
	}
	return fmt.Sprintf("%v entered at %v while %v was inside (since %v)", o.Node, o.At, o.Inside, o.Since)
}

// Overlaps lists every entry into the critical section that broke mutual
// exclusion, in trace order: entries while another process was between its
// EnterCS and its ExitCS (or its crash). With several processes inside, the
// one inside longest is named.
func Overlaps(t *trace.Trace) []Overlap {
	var out []Overlap
	inside := map[node.ID]time.Duration{} // who is inside, since when
	for i := range t.Events {
		e := &t.Events[i]
		switch e.Kind {
		case trace.Crash:
			delete(inside, e.Node)
		case trace.Emit:
			switch e.Value.(type) {
			case EnterCS:
				if len(inside) > 0 {
					who := slices.MinFunc(sortedKeys(inside), func(a, b node.ID) int {
						return cmp.Or(cmp.Compare(inside[a], inside[b]), cmp.Compare(a, b))
					})
					out = append(out, Overlap{Node: e.Node, At: e.Time, Inside: who, Since: inside[who]})
				}
				if _, again := inside[e.Node]; !again {
					inside[e.Node] = e.Time
				}
			case ExitCS:
				delete(inside, e.Node)
			}
		}
	}
	return out
}

func sortedKeys[V any](m map[node.ID]V) []node.ID {
	keys := make([]node.ID, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// mutualExclusion reports the first overlap.
func (r *run) mutualExclusion() trace.Check {
	if o := Overlaps(r.t); len(o) > 0 {
		more := ""
		if len(o) > 1 {
			more = fmt.Sprintf(" (%d overlapping entries in all)", len(o))
		}
		return trace.Failed(PropMutualExclusion, "%v%s", o[0], more)
	}
	procs := map[node.ID]bool{}
	for _, e := range r.entries {
		procs[r.ev(e.idx).Node] = true
	}
	return trace.Passed(PropMutualExclusion, "%d entries by %d processes, never two inside at once", len(r.entries), len(procs))
}

// liveness reports the first request never granted, with the faults that
// may explain it.
func (r *run) liveness() trace.Check {
	var stuck []*request
	abandoned := 0
	for _, q := range r.requests {
		switch {
		case q.enter >= 0:
		case q.crash >= 0:
			abandoned++
		default:
			stuck = append(stuck, q)
		}
	}
	granted := len(r.requests) - len(stuck) - abandoned
	lost := ""
	if abandoned > 0 {
		lost = fmt.Sprintf("; %d died with their process's crash", abandoned)
	}
	if r.refused > 0 {
		lost += fmt.Sprintf("; %d more reached a crashed process", r.refused)
	}
	if len(stuck) == 0 {
		return trace.Passed(PropLiveness, "%d of %d requests granted%s", granted, len(r.requests), lost)
	}
	q := stuck[0]
	return trace.Failed(PropLiveness, "%v's request at %v never granted (%s); %d of %d requests never granted%s",
		q.node, r.ev(q.at).Time, r.faults(q.node), len(stuck), len(r.requests), lost)
}

// faults describes the faults of the run that may explain why a request of
// process n was never granted: crashes, partitions, pauses and lost
// messages, at most three, the most telling first.
func (r *run) faults(n node.ID) string {
	var crashes, cuts, pauses []string
	lost := 0
	crashedAt := map[node.ID]int{}
	cutAt := -1
	for i := range r.t.Events {
		e := r.ev(i)
		switch e.Kind {
		case trace.Crash:
			crashedAt[e.Node] = len(crashes)
			crashes = append(crashes, fmt.Sprintf("%v crashed at %v", e.Node, e.Time))
		case trace.Restart:
			if k, ok := crashedAt[e.Node]; ok {
				crashes[k] += fmt.Sprintf(" and restarted at %v", e.Time)
				delete(crashedAt, e.Node)
			}
		case trace.Partition:
			cutAt = len(cuts)
			cuts = append(cuts, fmt.Sprintf("%s at %v", e.Detail, e.Time))
		case trace.Heal:
			if cutAt >= 0 {
				cuts[cutAt] += fmt.Sprintf(", healed at %v", e.Time)
				cutAt = -1
			}
		case trace.Pause:
			pauses = append(pauses, fmt.Sprintf("%v paused at %v", e.Node, e.Time))
		case trace.Drop:
			if e.Reason == trace.DropLoss {
				lost++
			}
		}
	}
	var all []string
	all = append(all, crashes...)
	all = append(all, cuts...)
	if lost > 0 {
		all = append(all, fmt.Sprintf("%d messages lost", lost))
	}
	all = append(all, pauses...)
	if len(all) == 0 {
		return "in a run without faults"
	}
	return abbreviate(all, 3)
}

// abbreviate joins the first k items and counts the rest.
func abbreviate(items []string, k int) string {
	if len(items) <= k {
		return strings.Join(items, "; ")
	}
	return fmt.Sprintf("%s; and %d more faults", strings.Join(items[:k], "; "), len(items)-k)
}

// timestampOrder checks that the entries' (TS, process) names increase.
func (r *run) timestampOrder() trace.Check {
	for k := 1; k < len(r.entries); k++ {
		prev, cur := r.entries[k-1], r.entries[k]
		pe, ce := r.ev(prev.idx), r.ev(cur.idx)
		a, b := stamp{prev.ts, pe.Node}, stamp{cur.ts, ce.Node}
		if a.compare(b) >= 0 {
			return trace.Failed(PropTimestampOrder, "%v entered at %v for request %v, after %v entered at %v for request %v",
				ce.Node, ce.Time, b, pe.Node, pe.Time, a)
		}
	}
	return trace.Passed(PropTimestampOrder, "%d entries in increasing (timestamp, process) order", len(r.entries))
}

// fifoOrder checks that the entries follow the order in which the requests
// were delivered to the coordinator. A request that is pending at the
// coordinator when the coordinator or the requester crashes leaves the
// order: it died with the crashed process's memory.
func (r *run) fifoOrder() trace.Check {
	type arrival struct {
		from node.ID
		at   time.Duration
		seq  uint64
		to   node.ID
	}
	var pending []arrival
	arrived := map[requester]bool{}
	sent := map[uint64]int{}       // index of the send of each REQUEST, by message ID
	lastCrash := map[node.ID]int{} // index of each process's latest crash
	inOrder := 0
	for i := range r.t.Events {
		e := r.ev(i)
		switch e.Kind {
		case trace.Send:
			if _, ok := e.Value.(centralRequest); ok {
				sent[e.MsgID] = i
			}
		case trace.Deliver:
			m, ok := e.Value.(centralRequest)
			if !ok {
				continue
			}
			k := requester{Proc: e.Peer, Seq: m.Seq}
			if arrived[k] {
				continue // a duplicate
			}
			if c, crashed := lastCrash[e.Peer]; crashed && c > sent[e.MsgID] {
				continue // the requester crashed since it asked
			}
			arrived[k] = true
			pending = append(pending, arrival{from: e.Peer, at: e.Time, seq: m.Seq, to: e.Node})
		case trace.Crash:
			lastCrash[e.Node] = i
			pending = slices.DeleteFunc(pending, func(a arrival) bool { return a.from == e.Node || a.to == e.Node })
			for k := range arrived {
				if k.Proc == e.Node {
					delete(arrived, k) // a restarted process numbers its requests from 1 again
				}
			}
		case trace.Emit:
			v, ok := e.Value.(EnterCS)
			if !ok {
				continue
			}
			k := slices.IndexFunc(pending, func(a arrival) bool { return a.from == e.Node && a.seq == v.TS })
			if k < 0 {
				continue
			}
			if k > 0 {
				first := pending[0]
				return trace.Failed(PropFIFOOrder, "%v entered at %v for its request #%d, which reached the coordinator at %v, after %v's request #%d (at %v) that is still waiting",
					e.Node, e.Time, v.TS, pending[k].at, first.from, first.seq, first.at)
			}
			pending = pending[1:]
			inOrder++
		}
	}
	return trace.Passed(PropFIFOOrder, "%d entries in the order their requests reached the coordinator", inOrder)
}

// boundedWaiting checks that no process enters twice while another waits.
// A request waits from the moment its process starts serving it (its
// arrival, or the end of the process's previous stay) to its entry.
func (r *run) boundedWaiting() trace.Check {
	worst := 0
	for _, q := range r.requests {
		if q.enter < 0 {
			continue
		}
		count := map[node.ID][]int{}
		for _, e := range r.entries {
			if e.idx <= q.head || e.idx >= q.enter {
				continue
			}
			n := r.ev(e.idx).Node
			count[n] = append(count[n], e.idx)
			if len(count[n]) == 2 {
				return trace.Failed(PropBoundedWaiting, "%v entered twice (at %v and %v) while %v's request from %v waited (granted at %v)",
					n, r.ev(count[n][0]).Time, r.ev(count[n][1]).Time, q.node, r.ev(q.head).Time, r.ev(q.enter).Time)
			}
			worst = max(worst, len(count))
		}
	}
	return trace.Passed(PropBoundedWaiting, "no process entered twice while another waited (at most %d entries while one waited)", worst)
}
