package kv

import (
	"cmp"
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"github.com/anishathalye/porcupine"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// PropLinearizable is the property CheckLinearizable reports: the history of
// operations the clients saw is linearizable (Herlihy and Wing, 1990) with
// respect to a sequential key-value map — every operation appears to take
// effect at one instant between its request and its reply.
const PropLinearizable = "linearizability"

// DefaultCheckTimeout bounds CheckLinearizable's search (porcupine's problem
// is NP-complete in general; histories of a few clients check in
// milliseconds).
const DefaultCheckTimeout = 10 * time.Second

// CheckLinearizable judges the key-value history of a run, as the given client
// processes saw it, with porcupine and the default time bound. See
// Linearizability for what goes into the history.
func CheckLinearizable(t *trace.Trace, clients []node.ID) trace.Check {
	return Linearizability{}.Check(t, clients)
}

// Linearizability is the linearizability checker with its settings.
//
// The history is built from the trace's Request and Reply events at the
// client processes: an operation is called at its Request event's time and
// returns at its Reply event's time. A Client queues requests and serves
// them one at a time; when it emits Invoked for a request, the call is moved
// to that moment, when the operation was first sent: it cannot have taken
// effect earlier, so the check stays sound, and is both stricter and much
// faster when requests wait in a queue (each waiting request would otherwise
// overlap every operation of the wait). What a reply means for the history:
//
//   - CodeOK: the operation happened, with that result;
//   - CodeInvalid: it was never applied, and is left out;
//   - any other code (a timeout, a not-leader answer, a retry), or no reply by
//     the end of the trace: the outcome is unknown. A write with an unknown
//     outcome may have taken effect at any time after its call, or never, so
//     it stays in the history with its return at the end of the trace (after
//     every other call) and a model step that accepts any result: porcupine
//     may then order it anywhere from its call on, including last, which is
//     the same as never. This is the standard treatment of incomplete
//     operations (Knossos, Jepsen). A read with an unknown outcome constrains
//     nothing and is left out.
//
// The model is a sorted map. porcupine checks partitions independently, which
// is sound when no operation spans two of them (linearizability is local:
// Herlihy and Wing's Theorem 1). Point operations touch one key; a Range
// touches every key of the history that has its prefix. So the partition is
// by connected components of keys: keys touched by one Range are joined. A
// Range is thereby checked atomically against the whole sub-map it reads —
// exactly, not as independent per-key reads, which would miss a range that
// mixes two moments — while histories whose ranges stay within small prefix
// groups (as Workload's do) still split into small partitions that check
// fast. A Range over a prefix every key shares merges everything into one
// partition: still exact, only slower.
type Linearizability struct {
	// Timeout bounds the search (0: DefaultCheckTimeout). A search that
	// runs out of time fails the check as unverified, never passes it.
	Timeout time.Duration
	// VisualizePath, if set, is where porcupine's HTML visualization of the
	// history is written when the check fails (not linearizable, or not
	// verified in time).
	VisualizePath string
}

// Check judges the history of t as the clients saw it.
func (l Linearizability) Check(t *trace.Trace, clients []node.ID) trace.Check {
	timeout := cmp.Or(l.Timeout, DefaultCheckTimeout)
	h := History(t, clients)
	unknown := 0
	for _, op := range h {
		if op.Output.(opOutput).Unknown {
			unknown++
		}
	}
	model := Model()
	res, info := porcupine.CheckOperationsVerbose(model, h, timeout)
	visualize := func() string {
		if l.VisualizePath == "" {
			return ""
		}
		if err := porcupine.VisualizePath(model, info, l.VisualizePath); err != nil {
			return fmt.Sprintf(" (writing the visualization failed: %v)", err)
		}
		return " (visualization: " + l.VisualizePath + ")"
	}
	parts := partition(h)
	switch res {
	case porcupine.Ok:
		return trace.Passed(PropLinearizable, "%d operations (%d with unknown outcome) in %s are linearizable",
			len(h), unknown, plural(len(parts), "independent key group"))
	case porcupine.Illegal:
		return trace.Failed(PropLinearizable, "%s%s", explainIllegal(parts, timeout), visualize())
	}
	return trace.Failed(PropLinearizable, "unknown: the search timed out after %v on %d operations, so linearizability was not verified%s",
		timeout, len(h), visualize())
}

// explainIllegal finds the first key group whose history is not
// linearizable and describes it: its keys, and the operations that the
// longest legal order porcupine found could not place.
func explainIllegal(parts [][]porcupine.Operation, timeout time.Duration) string {
	model := Model()
	model.Partition = nil
	for _, part := range parts {
		res, info := porcupine.CheckOperationsVerbose(model, part, timeout)
		if res != porcupine.Illegal {
			continue
		}
		var longest []int
		for _, p := range info.PartialLinearizations() {
			for _, l := range p {
				if len(l) > len(longest) || (len(l) == len(longest) && slices.Compare(l, longest) < 0) {
					longest = l
				}
			}
		}
		placed := map[int]bool{}
		for _, id := range longest {
			placed[id] = true
		}
		var left []porcupine.Operation
		for id, op := range part {
			if !placed[id] {
				left = append(left, op)
			}
		}
		slices.SortStableFunc(left, func(a, b porcupine.Operation) int { return cmp.Compare(a.Call, b.Call) })
		var first []string
		for _, op := range left[:min(3, len(left))] {
			first = append(first, describeOp(op))
		}
		return fmt.Sprintf("not linearizable: the %d operations on keys %v admit no legal order; the longest legal prefix places %d; first left out: %s",
			len(part), partKeys(part), len(longest), strings.Join(first, "; "))
	}
	return "not linearizable"
}

// opOutput is an operation's output as the model sees it.
type opOutput struct {
	Result  Result
	Unknown bool
}

// opMeta is where an operation came from, for descriptions and the
// visualization.
type opMeta struct {
	Node node.ID
	Req  node.RequestID
	Call time.Duration
	Ret  time.Duration // 0 when the outcome is unknown
}

// History returns the key-value operations of t at the given client
// processes as a porcupine history, with inputs the operations (Put, Get, CAS,
// Delete, Range) and outputs the model's view of their results (see
// Linearizability for the treatment of failures and missing replies). Times
// are nanoseconds of the trace's clock. ClientId is the client's position in
// clients; each operation with an unknown outcome gets a row of its own after
// those, since its interval runs to the end of the history while its client
// has moved on.
func History(t *trace.Trace, clients []node.ID) []porcupine.Operation {
	type key struct {
		node node.ID
		req  node.RequestID
	}
	type pending struct {
		op   any
		call time.Duration
		ret  time.Duration
		res  any
		done bool
	}
	row := map[node.ID]int{}
	for i, c := range clients {
		row[c] = i
	}
	calls := map[key]*pending{}
	var order []key
	var end time.Duration
	for i := range t.Events {
		e := &t.Events[i]
		end = max(end, e.Time)
		if _, ok := row[e.Node]; !ok {
			continue
		}
		k := key{e.Node, e.Request}
		switch e.Kind {
		case trace.Request:
			if isWrite(e.Value) || isRead(e.Value) {
				calls[k] = &pending{op: e.Value, call: e.Time}
				order = append(order, k)
			}
		case trace.Emit:
			if inv, ok := e.Value.(Invoked); ok {
				if p := calls[key{e.Node, inv.Request}]; p != nil && !p.done {
					p.call = max(p.call, e.Time)
				}
			}
		case trace.Reply:
			if p := calls[k]; p != nil && !p.done {
				p.done, p.res, p.ret = true, e.Value, e.Time
			}
		}
	}
	var h []porcupine.Operation
	extra := len(clients)
	for _, k := range order {
		p := calls[k]
		res, isResult := p.res.(Result)
		meta := opMeta{Node: k.node, Req: k.req, Call: p.call, Ret: p.ret}
		switch {
		case p.done && isResult && res.Code == CodeOK:
			h = append(h, porcupine.Operation{ClientId: row[k.node], Input: p.op, Call: int64(p.call),
				Output: opOutput{Result: res}, Return: int64(p.ret), Metadata: meta})
		case p.done && isResult && res.Code == CodeInvalid:
			// Never applied.
		case isRead(p.op):
			// An unanswered read constrains nothing.
		default:
			meta.Ret = 0
			h = append(h, porcupine.Operation{ClientId: extra, Input: p.op, Call: int64(p.call),
				Output: opOutput{Unknown: true}, Return: int64(end) + 1, Metadata: meta})
			extra++
		}
	}
	return h
}

// Model returns the porcupine model of the key-value map: the state is the
// sorted list of pairs, each operation steps it as StateMachine would, and
// the history is partitioned by connected key groups (see Linearizability).
func Model() porcupine.Model {
	return porcupine.Model{
		Partition: partition,
		Init:      func() any { return mapState(nil) },
		Step:      step,
		Equal:     func(a, b any) bool { return slices.Equal(a.(mapState), b.(mapState)) },
		Hash: func(s any) uint64 {
			h := fnv.New64a()
			for _, kv := range s.(mapState) {
				fmt.Fprintf(h, "%q=%q;", kv.Key, kv.Value)
			}
			return h.Sum64()
		},
		DescribeOperation: func(in, out any) string { return describe(in, out.(opOutput)) },
		DescribeState:     func(s any) string { return s.(mapState).String() },
		DescribeOperationMetadata: func(m any) string {
			if m, ok := m.(opMeta); ok {
				if m.Ret == 0 {
					return fmt.Sprintf("%v request %d, called at %v, outcome unknown", m.Node, m.Req, m.Call)
				}
				return fmt.Sprintf("%v request %d, %v to %v", m.Node, m.Req, m.Call, m.Ret)
			}
			return ""
		},
	}
}

// mapState is the model's state: pairs sorted by key. Steps never modify a
// state; they return a new one.
type mapState []KV

func (s mapState) search(key string) (int, bool) {
	return slices.BinarySearchFunc(s, key, func(kv KV, k string) int { return strings.Compare(kv.Key, k) })
}

func (s mapState) get(key string) (string, bool) {
	if i, ok := s.search(key); ok {
		return s[i].Value, true
	}
	return "", false
}

func (s mapState) with(key, value string) mapState {
	i, ok := s.search(key)
	if ok {
		n := slices.Clone(s)
		n[i].Value = value
		return n
	}
	return slices.Insert(slices.Clip(s), i, KV{Key: key, Value: value})
}

func (s mapState) without(key string) mapState {
	if i, ok := s.search(key); ok {
		return slices.Delete(slices.Clone(s), i, i+1)
	}
	return s
}

func (s mapState) rangeOf(prefix string, limit int) []KV {
	i, _ := s.search(prefix)
	var out []KV
	for ; i < len(s) && strings.HasPrefix(s[i].Key, prefix) && (limit <= 0 || len(out) < limit); i++ {
		out = append(out, s[i])
	}
	return out
}

func (s mapState) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, kv := range s {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s:%s", kv.Key, kv.Value)
	}
	b.WriteByte('}')
	return b.String()
}

// step is the sequential specification: whether op, applied to state, could
// have given output, and the state after it. An unknown output is accepted
// whatever it would have been.
func step(state, input, output any) (bool, any) {
	s, out := state.(mapState), output.(opOutput)
	res := out.Result
	before := func(key string) bool {
		v, found := s.get(key)
		return out.Unknown || (res.Found == found && res.Value == v)
	}
	switch op := input.(type) {
	case Put:
		return before(op.Key), s.with(op.Key, op.Value)
	case Delete:
		return before(op.Key), s.without(op.Key)
	case CAS:
		v, found := s.get(op.Key)
		swap := (op.Absent && !found) || (!op.Absent && found && v == op.Old)
		next := s
		if swap {
			next = s.with(op.Key, op.New)
		}
		return before(op.Key) && (out.Unknown || res.OK == swap), next
	case Get:
		return before(op.Key), s
	case Range:
		return out.Unknown || slices.Equal(res.KVs, s.rangeOf(op.Prefix, op.Limit)), s
	}
	return false, s
}

// partition splits a history into the connected groups of keys that its
// operations touch (see Linearizability), in order of each group's smallest
// key, each keeping the history's order.
func partition(h []porcupine.Operation) [][]porcupine.Operation {
	// The keys of the history: those named by point operations and those
	// listed by ranges.
	var keys []string
	for _, op := range h {
		switch in := op.Input.(type) {
		case Range:
			for _, kv := range op.Output.(opOutput).Result.KVs {
				keys = append(keys, kv.Key)
			}
		default:
			keys = append(keys, opKey(in))
		}
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	index := func(k string) int { i, _ := slices.BinarySearch(keys, k); return i }

	// Union-find over keys, joining the keys of each range.
	parent := make([]int, len(keys))
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		if parent[i] != i {
			parent[i] = find(parent[i])
		}
		return parent[i]
	}
	union := func(a, b int) {
		if a, b = find(a), find(b); a != b {
			parent[max(a, b)] = min(a, b) // the root is the group's smallest key
		}
	}
	footprint := func(prefix string) (lo, hi int) {
		lo = index(prefix)
		for hi = lo; hi < len(keys) && strings.HasPrefix(keys[hi], prefix); hi++ {
		}
		return lo, hi
	}
	for _, op := range h {
		if r, ok := op.Input.(Range); ok {
			lo, hi := footprint(r.Prefix)
			for i := lo + 1; i < hi; i++ {
				union(lo, i)
			}
		}
	}

	// A range that matches no key of the history is a group of its own: it
	// must have listed nothing.
	groups := map[int][]porcupine.Operation{}
	var lone [][]porcupine.Operation
	for _, op := range h {
		g := -1
		if r, ok := op.Input.(Range); ok {
			if lo, hi := footprint(r.Prefix); lo < hi {
				g = find(lo)
			}
		} else {
			g = find(index(opKey(op.Input)))
		}
		if g < 0 {
			lone = append(lone, []porcupine.Operation{op})
		} else {
			groups[g] = append(groups[g], op)
		}
	}
	var out [][]porcupine.Operation
	for i := range keys {
		if g, ok := groups[i]; ok {
			out = append(out, g)
		}
	}
	return append(out, lone...)
}

// opKey is the key of a point operation.
func opKey(op any) string {
	switch op := op.(type) {
	case Put:
		return op.Key
	case Get:
		return op.Key
	case Delete:
		return op.Key
	case CAS:
		return op.Key
	}
	return ""
}

// partKeys lists the keys a group of operations touches.
func partKeys(part []porcupine.Operation) []string {
	var keys []string
	for _, op := range part {
		if r, ok := op.Input.(Range); ok {
			keys = append(keys, r.Prefix+"*")
		} else {
			keys = append(keys, opKey(op.Input))
		}
	}
	slices.Sort(keys)
	return slices.Compact(keys)
}

// describeOp describes one operation of a history with where it came from.
func describeOp(op porcupine.Operation) string {
	s := describe(op.Input, op.Output.(opOutput))
	if m, ok := op.Metadata.(opMeta); ok {
		if m.Ret == 0 {
			return fmt.Sprintf("%s by %v [%v, unknown]", s, m.Node, m.Call)
		}
		return fmt.Sprintf("%s by %v [%v, %v]", s, m.Node, m.Call, m.Ret)
	}
	return s
}

// describe formats an operation and its output: "put(a/1, v3) → was v1",
// "get(a/1) → v3", "cas(a/1, v3→v5) → ok", "range(a/, 1) → [a/1:v3]".
func describe(in any, out opOutput) string {
	r := out.Result
	was := func() string {
		switch {
		case out.Unknown:
			return "?"
		case r.Found:
			return "was " + r.Value
		}
		return "was absent"
	}
	switch op := in.(type) {
	case Put:
		return fmt.Sprintf("put(%s, %s) → %s", op.Key, op.Value, was())
	case Delete:
		return fmt.Sprintf("delete(%s) → %s", op.Key, was())
	case Get:
		if !r.Found {
			return fmt.Sprintf("get(%s) → absent", op.Key)
		}
		return fmt.Sprintf("get(%s) → %s", op.Key, r.Value)
	case CAS:
		old := op.Old
		if op.Absent {
			old = "absent"
		}
		verdict := "failed"
		switch {
		case out.Unknown:
			verdict = "?"
		case r.OK:
			verdict = "ok"
		}
		return fmt.Sprintf("cas(%s, %s→%s) → %s, %s", op.Key, old, op.New, verdict, was())
	case Range:
		return fmt.Sprintf("range(%s, %d) → %s", op.Prefix, op.Limit, mapState(r.KVs))
	}
	return fmt.Sprintf("%+v", in)
}

// plural formats a count and a noun ("1 key group", "3 key groups").
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
