package kv_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/kv"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// hop is one operation of a hand-written history: client node, op, the
// times (in ms) of its request and reply, and the reply. noReply leaves it
// unanswered; invoked > 0 adds the Client's Invoked event at that time.
type hop struct {
	node      node.ID
	op        any
	call, ret int
	res       kv.Result
	noReply   bool
	invoked   int
}

// timedOut is the reply of a client that gave up.
var timedOut = kv.Result{Code: kv.CodeTimeout, Err: "timed out after 3s: the outcome is unknown"}

// history builds a trace of the given operations at clients n3, n4, n5.
func history(ops ...hop) *trace.Trace {
	var evs []trace.Event
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	for i, o := range ops {
		id := node.RequestID(i + 1)
		evs = append(evs, trace.Event{Time: ms(o.call), Node: o.node, Kind: trace.Request, Request: id, Value: o.op})
		if o.invoked > 0 {
			evs = append(evs, trace.Event{Time: ms(o.invoked), Node: o.node, Kind: trace.Emit, Value: kv.Invoked{Request: id}})
		}
		if !o.noReply {
			evs = append(evs, trace.Event{Time: ms(o.ret), Node: o.node, Kind: trace.Reply, Request: id, Value: o.res})
		}
	}
	slices.SortStableFunc(evs, func(a, b trace.Event) int { return int(a.Time - b.Time) })
	tr := &trace.Trace{Nodes: 6}
	for i := range evs {
		tr.Record(&evs[i])
	}
	return tr
}

var clients = []node.ID{3, 4, 5}

func found(v string) kv.Result { return kv.Result{Found: true, Value: v} }

func TestCheckLinearizable(t *testing.T) {
	tests := []struct {
		name string
		ops  []hop
		ok   bool
	}{
		{"sequential writes and reads", []hop{
			{node: 3, op: kv.Put{Key: "k", Value: "1"}, call: 0, ret: 10},
			{node: 4, op: kv.Get{Key: "k"}, call: 20, ret: 30, res: found("1")},
			{node: 3, op: kv.Delete{Key: "k"}, call: 40, ret: 50, res: found("1")},
			{node: 4, op: kv.Get{Key: "k"}, call: 60, ret: 70},
		}, true},
		{"stale read: a read after a write returns the value before it", []hop{
			{node: 3, op: kv.Put{Key: "k", Value: "1"}, call: 0, ret: 10},
			{node: 3, op: kv.Put{Key: "k", Value: "2"}, call: 20, ret: 30, res: found("1")},
			{node: 4, op: kv.Get{Key: "k"}, call: 40, ret: 50, res: found("1")},
		}, false},
		{"a read concurrent with a write may see either value", []hop{
			{node: 3, op: kv.Put{Key: "k", Value: "1"}, call: 0, ret: 10},
			{node: 3, op: kv.Put{Key: "k", Value: "2"}, call: 20, ret: 30, res: found("1")},
			{node: 4, op: kv.Get{Key: "k"}, call: 25, ret: 35, res: found("1")},
			{node: 5, op: kv.Get{Key: "k"}, call: 25, ret: 35, res: found("2")},
		}, true},
		{"two reads see a write in different orders", []hop{
			{node: 3, op: kv.Put{Key: "k", Value: "1"}, call: 0, ret: 100},
			{node: 4, op: kv.Get{Key: "k"}, call: 10, ret: 20, res: found("1")},
			{node: 5, op: kv.Get{Key: "k"}, call: 30, ret: 40},
		}, false},
		{"a read of a value never written", []hop{
			{node: 3, op: kv.Put{Key: "k", Value: "1"}, call: 0, ret: 10},
			{node: 4, op: kv.Get{Key: "k"}, call: 20, ret: 30, res: found("9")},
		}, false},
		{"a put reports a previous value it cannot have seen", []hop{
			{node: 3, op: kv.Put{Key: "k", Value: "1"}, call: 0, ret: 10},
			{node: 4, op: kv.Put{Key: "k", Value: "2"}, call: 20, ret: 30},
		}, false},
		{"a timed-out write may take effect after it timed out", []hop{
			{node: 3, op: kv.Put{Key: "k", Value: "1"}, call: 0, ret: 3000, res: timedOut},
			{node: 4, op: kv.Get{Key: "k"}, call: 3100, ret: 3110},
			{node: 4, op: kv.Get{Key: "k"}, call: 3200, ret: 3210, res: found("1")},
		}, true},
		{"a timed-out write may never take effect", []hop{
			{node: 3, op: kv.Put{Key: "k", Value: "1"}, call: 0, ret: 3000, res: timedOut},
			{node: 4, op: kv.Get{Key: "k"}, call: 5000, ret: 5010},
		}, true},
		{"an unanswered write is like a timed-out one", []hop{
			{node: 3, op: kv.CAS{Key: "k", New: "1", Absent: true}, call: 0, noReply: true},
			{node: 4, op: kv.Get{Key: "k"}, call: 5000, ret: 5010, res: found("1")},
		}, true},
		{"a timed-out write cannot take effect before it was called", []hop{
			{node: 4, op: kv.Get{Key: "k"}, call: 0, ret: 10, res: found("1")},
			{node: 3, op: kv.Put{Key: "k", Value: "1"}, call: 20, ret: 3020, res: timedOut},
		}, false},
		{"a timed-out write takes effect once or not at all", []hop{
			{node: 3, op: kv.Put{Key: "k", Value: "1"}, call: 0, ret: 3000, res: timedOut},
			{node: 4, op: kv.Get{Key: "k"}, call: 100, ret: 110, res: found("1")},
			{node: 4, op: kv.Put{Key: "k", Value: "2"}, call: 200, ret: 210, res: found("1")},
			{node: 4, op: kv.Get{Key: "k"}, call: 300, ret: 310, res: found("1")},
		}, false},
		{"an invalid operation was never applied", []hop{
			{node: 3, op: kv.Put{Key: "k", Value: "1"}, call: 0, ret: 10, res: kv.Result{Code: kv.CodeInvalid, Err: "kv: bad"}},
			{node: 4, op: kv.Get{Key: "k"}, call: 20, ret: 30, res: found("1")},
		}, false},
		{"a cas swaps on the latest value only", []hop{
			{node: 3, op: kv.Put{Key: "k", Value: "a"}, call: 0, ret: 10},
			{node: 4, op: kv.CAS{Key: "k", Old: "a", New: "b"}, call: 20, ret: 30, res: kv.Result{OK: true, Found: true, Value: "a"}},
			{node: 5, op: kv.CAS{Key: "k", Old: "a", New: "c"}, call: 40, ret: 50, res: kv.Result{OK: true, Found: true, Value: "a"}},
		}, false},
		{"a failed cas reports what it found", []hop{
			{node: 3, op: kv.Put{Key: "k", Value: "a"}, call: 0, ret: 10},
			{node: 4, op: kv.CAS{Key: "k", Old: "x", New: "y"}, call: 20, ret: 30, res: kv.Result{Found: true, Value: "a"}},
			{node: 5, op: kv.CAS{Key: "k", New: "y", Absent: true}, call: 40, ret: 50, res: kv.Result{Found: true, Value: "a"}},
		}, true},
		{"a range lists one moment's state", []hop{
			{node: 3, op: kv.Put{Key: "a/1", Value: "x1"}, call: 0, ret: 10},
			{node: 3, op: kv.Put{Key: "a/2", Value: "y1"}, call: 11, ret: 19},
			{node: 3, op: kv.Put{Key: "a/1", Value: "x2"}, call: 20, ret: 30, res: found("x1")},
			{node: 3, op: kv.Put{Key: "a/2", Value: "y2"}, call: 40, ret: 50, res: found("y1")},
			{node: 4, op: kv.Range{Prefix: "a/"}, call: 15, ret: 60, res: kv.Result{KVs: []kv.KV{{"a/1", "x2"}, {"a/2", "y1"}}}},
			{node: 5, op: kv.Range{Prefix: "a/", Limit: 1}, call: 55, ret: 60, res: kv.Result{KVs: []kv.KV{{"a/1", "x2"}}}},
			{node: 5, op: kv.Range{Prefix: "b/"}, call: 61, ret: 62},
		}, true},
		{"a range that mixes two moments, each key plausible alone", []hop{
			{node: 3, op: kv.Put{Key: "a/1", Value: "x1"}, call: 0, ret: 10},
			{node: 3, op: kv.Put{Key: "a/2", Value: "y1"}, call: 11, ret: 19},
			{node: 3, op: kv.Put{Key: "a/1", Value: "x2"}, call: 20, ret: 30, res: found("x1")},
			{node: 3, op: kv.Put{Key: "a/2", Value: "y2"}, call: 40, ret: 50, res: found("y1")},
			{node: 4, op: kv.Range{Prefix: "a/"}, call: 15, ret: 60, res: kv.Result{KVs: []kv.KV{{"a/1", "x1"}, {"a/2", "y2"}}}},
		}, false},
		{"a range omits a key that exists", []hop{
			{node: 3, op: kv.Put{Key: "a/1", Value: "x1"}, call: 0, ret: 10},
			{node: 4, op: kv.Range{Prefix: "a"}, call: 20, ret: 30},
		}, false},
		{"a range over keys nobody wrote must be empty", []hop{
			{node: 4, op: kv.Range{Prefix: "z"}, call: 20, ret: 30, res: kv.Result{KVs: []kv.KV{{"z", "?"}}}},
		}, false},
		{"a queued request takes effect only once invoked", []hop{
			{node: 3, op: kv.Put{Key: "k", Value: "1"}, call: 0, invoked: 50, ret: 60},
			{node: 4, op: kv.Get{Key: "k"}, call: 10, ret: 20, res: found("1")},
		}, false},
		{"requests and replies at other nodes are not the clients'", []hop{
			{node: 3, op: kv.Put{Key: "k", Value: "1"}, call: 0, ret: 10},
			{node: 0, op: kv.Get{Key: "k"}, call: 20, ret: 30, res: found("nonsense")},
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := kv.CheckLinearizable(history(tt.ops...), clients)
			if c.Property != kv.PropLinearizable {
				t.Errorf("property %q", c.Property)
			}
			if c.OK != tt.ok {
				t.Errorf("OK = %v, want %v: %s", c.OK, tt.ok, c.Detail)
			}
			t.Log(c.Detail)
		})
	}
}

func TestCheckLinearizableExplainsAndVisualizes(t *testing.T) {
	tr := history(
		hop{node: 3, op: kv.Put{Key: "k", Value: "1"}, call: 0, ret: 10},
		hop{node: 3, op: kv.Put{Key: "k", Value: "2"}, call: 20, ret: 30, res: found("1")},
		hop{node: 4, op: kv.Get{Key: "k"}, call: 40, ret: 50, res: found("1")},
		hop{node: 5, op: kv.Put{Key: "other", Value: "x"}, call: 0, ret: 50},
	)
	path := filepath.Join(t.TempDir(), "history.html")
	c := kv.Linearizability{VisualizePath: path}.Check(tr, clients)
	if c.OK {
		t.Fatal("a stale read passed")
	}
	for _, want := range []string{"not linearizable", "keys [k]", "get(k) → 1 by n4 [40ms, 50ms]", path} {
		if !strings.Contains(c.Detail, want) {
			t.Errorf("detail %q lacks %q", c.Detail, want)
		}
	}
	html, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(html), "<html") || !strings.Contains(string(html), "get(k)") {
		t.Errorf("the visualization (%d bytes) does not show the history", len(html))
	}
}

func TestCheckLinearizableTimesOutAsUnverified(t *testing.T) {
	// Forty writes whose outcome is unknown, all concurrent, and a read of a
	// value none of them wrote: only after trying every subset of the
	// writes can the search say no, which it cannot do in 50 ms.
	var ops []hop
	for i := range 40 {
		ops = append(ops, hop{node: 3, op: kv.Put{Key: "k", Value: fmt.Sprint(i)}, call: i, ret: 3000, res: timedOut})
	}
	ops = append(ops, hop{node: 4, op: kv.Get{Key: "k"}, call: 100, ret: 110, res: found("none")})
	c := kv.Linearizability{Timeout: 50 * time.Millisecond}.Check(history(ops...), clients)
	if c.OK {
		t.Fatalf("an unverified history passed: %s", c.Detail)
	}
	if !strings.HasPrefix(c.Detail, "unknown: the search timed out after 50ms") {
		t.Errorf("detail %q, want it to say the check timed out", c.Detail)
	}
}

func TestHistoryTreatsOutcomes(t *testing.T) {
	tr := history(
		hop{node: 3, op: kv.Put{Key: "k", Value: "1"}, call: 0, ret: 10},
		hop{node: 3, op: kv.Put{Key: "k", Value: "2"}, call: 20, ret: 30, res: timedOut},
		hop{node: 4, op: kv.Get{Key: "k"}, call: 20, ret: 30, res: timedOut},
		hop{node: 4, op: kv.Put{Key: "", Value: "3"}, call: 40, ret: 50, res: kv.Result{Code: kv.CodeInvalid, Err: "kv: empty key"}},
		hop{node: 5, op: kv.Delete{Key: "k"}, call: 60, noReply: true},
		hop{node: 5, op: kv.StatusOp{}, call: 70, ret: 80},
	)
	h := kv.History(tr, clients)
	type row struct {
		client    int
		op        any
		call, ret time.Duration
	}
	want := []row{
		{0, kv.Put{Key: "k", Value: "1"}, 0, 10 * time.Millisecond},
		{3, kv.Put{Key: "k", Value: "2"}, 20 * time.Millisecond, 80*time.Millisecond + 1}, // unknown: to the end, a row of its own
		{4, kv.Delete{Key: "k"}, 60 * time.Millisecond, 80*time.Millisecond + 1},
	}
	if len(h) != len(want) {
		t.Fatalf("history has %d operations, want %d: %+v", len(h), len(want), h)
	}
	for i, w := range want {
		if h[i].ClientId != w.client || h[i].Input != w.op || h[i].Call != int64(w.call) || h[i].Return != int64(w.ret) {
			t.Errorf("operation %d: client %d %+v [%d, %d], want %+v", i, h[i].ClientId, h[i].Input, h[i].Call, h[i].Return, w)
		}
	}
}
