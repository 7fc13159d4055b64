package snapshot_test

import (
	"regexp"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/snapshot"
	"github.com/synod-dev/synod/trace"
)

// builder makes traces by hand, with the vector clocks a runtime would keep,
// one millisecond per event.
type builder struct {
	tr     trace.Trace
	clocks []trace.VC
	sent   map[uint64]*trace.Event
	next   uint64
	now    time.Duration
	req    node.RequestID
}

func newBuilder(nodes int) *builder {
	b := &builder{tr: trace.Trace{Nodes: nodes}, sent: map[uint64]*trace.Event{}}
	for range nodes {
		b.clocks = append(b.clocks, make(trace.VC, nodes))
	}
	return b
}

// proc records a process event at n, after merging the clock of a received
// message (from), if any.
func (b *builder) proc(n node.ID, k trace.Kind, from trace.VC, e trace.Event) {
	b.now += time.Millisecond
	vc := b.clocks[n]
	vc.Merge(from)
	vc[n]++
	e.Time, e.Node, e.Kind, e.Clock = b.now, n, k, vc.Clone()
	b.tr.Record(&e)
}

// open starts branch n with its opening balance.
func (b *builder) open(n node.ID, balance int64) {
	b.proc(n, trace.Start, nil, trace.Event{})
	b.emit(n, snapshot.AccountOpened{Balance: balance})
}

func (b *builder) emit(n node.ID, v any) {
	b.proc(n, trace.Emit, nil, trace.Event{Type: node.TypeName(v), Value: v})
}

func (b *builder) send(from, to node.ID, msg any) uint64 {
	b.next++
	b.proc(from, trace.Send, nil, trace.Event{Peer: to, MsgID: b.next, Type: node.TypeName(msg), Value: msg})
	e := b.tr.Events[len(b.tr.Events)-1]
	b.sent[b.next] = &e
	return b.next
}

func (b *builder) transfer(from, to node.ID, amount int64) uint64 {
	return b.send(from, to, snapshot.Transfer{Amount: amount})
}

func (b *builder) marker(from, to node.ID, id snapshot.ID) uint64 {
	return b.send(from, to, snapshot.Marker{Snapshot: id})
}

func (b *builder) deliver(msg uint64) {
	s := b.sent[msg]
	b.proc(s.Peer, trace.Deliver, s.Clock, trace.Event{Peer: s.Node, MsgID: msg, Type: s.Type, Value: s.Value})
}

func (b *builder) drop(msg uint64) {
	s := b.sent[msg]
	b.now += time.Millisecond
	b.tr.Record(&trace.Event{Time: b.now, Node: s.Node, Kind: trace.Drop, Peer: s.Peer, MsgID: msg, Type: s.Type, Value: s.Value, Reason: trace.DropLoss})
}

func (b *builder) initiate(n node.ID) {
	b.req++
	b.proc(n, trace.Request, nil, trace.Event{Request: b.req, Type: node.TypeName(snapshot.Initiate{}), Value: snapshot.Initiate{}})
}

func (b *builder) state(n node.ID, id snapshot.ID, balance int64) {
	b.emit(n, snapshot.StateRecorded{Snapshot: id, Balance: balance})
}

func (b *builder) channel(n node.ID, id snapshot.ID, from node.ID, amounts ...int64) {
	var ms []snapshot.Transfer
	for _, a := range amounts {
		ms = append(ms, snapshot.Transfer{Amount: a})
	}
	b.emit(n, snapshot.ChannelRecorded{Snapshot: id, From: from, Messages: ms})
}

func (b *builder) crash(n node.ID) {
	b.proc(n, trace.Crash, nil, trace.Event{})
}

// p and q are the two processes of Chandy & Lamport's examples; c is the
// channel p→q and c' the channel q→p.
const (
	p node.ID = 0
	q node.ID = 1
)

// tokenInC is the single-token system of Chandy & Lamport §2, snapshotted
// as §3.1 describes the consistent way: p sends the token along c; q
// records its state (no token) and sends its marker; the token arrives at
// q, which is recording c; p gets q's marker, records its state (no token)
// and c' as empty, and sends its marker along c, behind the token; q gets
// it and records c as holding the token. The recorded global state is
// "in-c".
func tokenInC() *builder {
	b := newBuilder(2)
	b.open(p, 1)
	b.open(q, 0)
	id := snapshot.ID{Initiator: q, Seq: 1}
	token := b.transfer(p, q, 1)
	b.initiate(q)
	b.state(q, id, 0)
	mq := b.marker(q, p, id)
	b.deliver(token)
	b.deliver(mq)
	b.state(p, id, 0)
	mp := b.marker(p, q, id)
	b.channel(p, id, q)
	b.deliver(mp)
	b.channel(q, id, p, 1)
	return b
}

// verdict returns the check of one property.
func verdict(t *testing.T, checks []trace.Check, property string) trace.Check {
	t.Helper()
	for _, c := range checks {
		if c.Property == property {
			return c
		}
	}
	t.Fatalf("no verdict on %q in %+v", property, checks)
	return trace.Check{}
}

// expect requires each property to pass (true) or fail (false) with a
// detail matching its pattern.
type expect struct {
	ok      bool
	pattern string
}

func requireVerdicts(t *testing.T, checks []trace.Check, want map[string]expect) {
	t.Helper()
	for prop, w := range want {
		c := verdict(t, checks, prop)
		if c.OK != w.ok || !regexp.MustCompile(w.pattern).MatchString(c.Detail) {
			t.Errorf("%s: ok=%v %q; want ok=%v matching %q", prop, c.OK, c.Detail, w.ok, w.pattern)
		}
	}
}

func TestCheckPassesTheTokenSnapshot(t *testing.T) {
	tr := &tokenInC().tr
	requireVerdicts(t, snapshot.Check(tr), map[string]expect{
		snapshot.PropConsistentCut: {true, `^1 snapshots, 1 receipts judged`},
		snapshot.PropConservation:  {true, `^1 complete snapshots each count 1, the opening total \(1 transfers worth 1 in recorded channel states\)$`},
		snapshot.PropRecordedState: {true, `^4 recorded balances and channel states match`},
		snapshot.PropTermination:   {true, `^all 1 snapshots completed at all 2 processes \(2 channel states recorded\)$`},
	})
	gs := snapshot.GlobalStates(tr)
	if len(gs) != 1 || gs[0].String() != "n1#1: n0 0, n1 0; n0→n1 [1]; total 1" || !gs[0].Complete() {
		t.Errorf("global states: %v; want the token in c", gs)
	}
}

// A transfer that overtakes the marker sent before it (a non-FIFO channel,
// or a process that records late) is received inside the cut and sent
// outside it: p records 1 and then pays it to q, which takes it in before
// recording. The recordings are faithful to the run, but the cut is not
// consistent and the token is counted twice.
func TestCheckCatchesAnInconsistentCut(t *testing.T) {
	b := newBuilder(2)
	b.open(p, 1)
	b.open(q, 0)
	id := snapshot.ID{Initiator: p, Seq: 1}
	b.initiate(p)
	b.state(p, id, 1)
	mp := b.marker(p, q, id)
	token := b.transfer(p, q, 1)
	b.deliver(token) // overtakes the marker
	b.deliver(mp)
	b.state(q, id, 1)
	mq := b.marker(q, p, id)
	b.channel(q, id, p)
	b.deliver(mq)
	b.channel(p, id, q)
	requireVerdicts(t, snapshot.Check(&b.tr), map[string]expect{
		snapshot.PropConsistentCut: {false, `^1 receipts inside a cut of a send outside it; first: snapshot n0#1: the transfer of 1 along n0→n1 was received \(n1 #\d+ at 9ms\) before n1 recorded its state \(n1 #\d+ at 11ms\) but sent \(n0 #\d+ at 8ms\) after n0 recorded its own \(n0 #\d+ at 6ms\)$`},
		snapshot.PropConservation:  {false, `records 2 in balances \+ 0 in channel states = 2, but the branches opened with 1 \(\+1\)$`},
		snapshot.PropRecordedState: {true, ``},
		snapshot.PropTermination:   {true, ``},
	})
}

// A channel recorded as empty while the token was in it (recording without
// waiting for the marker): the token is in no recorded state.
func TestCheckCatchesMoneyMissingFromAChannel(t *testing.T) {
	b := newBuilder(2)
	b.open(p, 1)
	b.open(q, 0)
	id := snapshot.ID{Initiator: q, Seq: 1}
	token := b.transfer(p, q, 1)
	b.initiate(q)
	b.state(q, id, 0)
	b.channel(q, id, p) // at once: broken
	mq := b.marker(q, p, id)
	b.deliver(token)
	b.deliver(mq)
	b.state(p, id, 0)
	mp := b.marker(p, q, id)
	b.channel(p, id, q)
	b.deliver(mp)
	requireVerdicts(t, snapshot.Check(&b.tr), map[string]expect{
		snapshot.PropConsistentCut: {true, ``},
		snapshot.PropConservation:  {false, `^1 of 1 complete snapshots miscount the money; first: snapshot n1#1 records 0 in balances \+ 0 in channel states = 0, but the branches opened with 1 \(-1\)$`},
		snapshot.PropRecordedState: {false, `^1 of 4 recorded states differ from the run; first: snapshot n1#1: n1 recorded channel n0→n1 as \[\], but n0 sent \[1\] along it before recording its state that n1 received after recording its own$`},
		snapshot.PropTermination:   {true, ``},
	})
}

// A transfer lost in the network takes its money out of the bank: the
// snapshot records the run faithfully, and conservation fails with the
// reason.
func TestCheckNamesTheBanksOwnLosses(t *testing.T) {
	b := newBuilder(2)
	b.open(p, 5)
	b.open(q, 0)
	b.drop(b.transfer(p, q, 2))
	id := snapshot.ID{Initiator: p, Seq: 1}
	b.initiate(p)
	b.state(p, id, 3)
	mp := b.marker(p, q, id)
	b.deliver(mp)
	b.state(q, id, 0)
	b.channel(q, id, p)
	b.deliver(b.marker(q, p, id))
	b.channel(p, id, q)
	requireVerdicts(t, snapshot.Check(&b.tr), map[string]expect{
		snapshot.PropConsistentCut: {true, ``},
		snapshot.PropConservation:  {false, `= 3, but the branches opened with 5 \(-2\) \(the bank itself did not conserve money: 1 transfers lost\)$`},
		snapshot.PropRecordedState: {true, ``},
		snapshot.PropTermination:   {true, ``},
	})
}

// Balances recorded wrongly in a way that happens to add up: only the
// comparison with the run catches it.
func TestCheckCatchesAWrongBalance(t *testing.T) {
	b := newBuilder(2)
	b.open(p, 1)
	b.open(q, 0)
	id := snapshot.ID{Initiator: p, Seq: 1}
	b.initiate(p)
	b.state(p, id, 0) // p has the token
	b.deliver(b.marker(p, q, id))
	b.state(q, id, 1) // q has not
	b.channel(q, id, p)
	b.deliver(b.marker(q, p, id))
	b.channel(p, id, q)
	requireVerdicts(t, snapshot.Check(&b.tr), map[string]expect{
		snapshot.PropConsistentCut: {true, ``},
		snapshot.PropConservation:  {true, ``},
		snapshot.PropRecordedState: {false, `^2 of 4 recorded states differ from the run; first: snapshot n0#1: n0 recorded a balance of 0 \(n0 #\d+ at 6ms\), but its balance was 1 then$`},
		snapshot.PropTermination:   {true, ``},
	})
}

// A marker that never arrives leaves its channel unrecorded, and an
// Initiate request that starts nothing is a snapshot missing altogether;
// an incomplete snapshot is not counted for conservation.
func TestCheckCatchesUnfinishedSnapshots(t *testing.T) {
	b := newBuilder(2)
	b.open(p, 1)
	b.open(q, 0)
	id := snapshot.ID{Initiator: p, Seq: 1}
	b.initiate(p)
	b.state(p, id, 1)
	b.deliver(b.marker(p, q, id))
	b.state(q, id, 0)
	b.channel(q, id, p)
	b.drop(b.marker(q, p, id))
	requireVerdicts(t, snapshot.Check(&b.tr), map[string]expect{
		snapshot.PropConsistentCut: {true, ``},
		snapshot.PropConservation:  {true, `^0 complete snapshots .*; 1 incomplete, not counted$`},
		snapshot.PropRecordedState: {true, ``},
		snapshot.PropTermination:   {false, `^1 recordings missing; first: snapshot n0#1: n0 never recorded channel n1→n0 \(no marker came along it\) \(1 markers were lost: the algorithm assumes reliable channels\)$`},
	})

	b.initiate(q) // q never initiates it
	requireVerdicts(t, snapshot.Check(&b.tr), map[string]expect{
		snapshot.PropTermination: {false, `^2 recordings missing; first: n1 received 1 Initiate requests but initiated 0 snapshots`},
	})

	// After a crash termination is not judged.
	b.crash(q)
	requireVerdicts(t, snapshot.Check(&b.tr), map[string]expect{
		snapshot.PropTermination: {true, `^not judged: the run had 1 crashes`},
	})
}

// Without the runtime's vector clocks the cut cannot be judged, and the
// checker says so rather than pass; without the opening balances the money
// to find is unknown.
func TestCheckNeedsGroundTruth(t *testing.T) {
	tr := &tokenInC().tr
	for i := range tr.Events {
		tr.Events[i].Clock = nil
	}
	requireVerdicts(t, snapshot.Check(tr), map[string]expect{
		snapshot.PropConsistentCut: {false, `^the trace has no vector clocks`},
	})
	var kept []trace.Event
	for _, e := range tr.Events {
		if _, opened := e.Value.(snapshot.AccountOpened); !opened {
			kept = append(kept, e)
		}
	}
	tr.Events = kept
	requireVerdicts(t, snapshot.Check(tr), map[string]expect{
		snapshot.PropConservation: {false, `^no opening balance \(AccountOpened\) in the trace for \[n0 n1\]`},
	})
}

// An empty run has nothing to judge, and says so.
func TestCheckWithoutSnapshots(t *testing.T) {
	b := newBuilder(3)
	for n := range node.ID(3) {
		b.open(n, 10)
	}
	b.deliver(b.transfer(0, 2, 4))
	requireVerdicts(t, snapshot.Check(&b.tr), map[string]expect{
		snapshot.PropConsistentCut: {true, `^no snapshot was recorded$`},
		snapshot.PropConservation:  {true, `^0 complete snapshots`},
		snapshot.PropTermination:   {true, `^no snapshot was initiated$`},
	})
}
