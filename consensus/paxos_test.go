package consensus

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/node/nodetest"
	"github.com/synod-dev/synod/trace"
)

// paxosNet is a hand-driven network for Paxos walk-throughs: no timer fires
// unless the test says so, messages are delivered in the order sent, and a
// filter can lose any of them, so a test builds the exact interleavings of
// the paper's argument. What the processes emit, the requests and the
// crashes go into a trace for CheckPaxos.
type paxosNet struct {
	t     *testing.T
	cfg   PaxosConfig
	procs []*Paxos
	envs  []*nodetest.Env
	down  []bool
	queue []paxosEnvelope
	// drop, if set, decides which messages the network loses.
	drop func(e paxosEnvelope) bool
	tr   trace.Trace
	now  time.Duration
	reqs node.RequestID
}

type paxosEnvelope struct {
	from, to node.ID
	msg      node.Message
}

func newPaxosNet(t *testing.T, n int, b PaxosBroken) *paxosNet {
	cfg := DefaultPaxosConfig()
	cfg.Broken = b
	c := &paxosNet{t: t, cfg: cfg, down: make([]bool, n), procs: make([]*Paxos, n), tr: trace.Trace{Nodes: n}}
	for i := range n {
		id := node.ID(i)
		env := nodetest.New(id, n)
		env.Seed(uint64(i) + 1)
		env.OnSend = func(to node.ID, msg node.Message) { c.queue = append(c.queue, paxosEnvelope{id, to, msg}) }
		c.envs = append(c.envs, env)
		c.start(id)
	}
	return c
}

// record appends an event to the trace, one nanosecond after the last.
func (c *paxosNet) record(e trace.Event) {
	c.now++
	e.Time = c.now
	c.tr.Record(&e)
}

// collect moves what the processes emitted into the trace, in order.
func (c *paxosNet) collect() {
	for i, env := range c.envs {
		for _, v := range env.TakeEmitted() {
			c.record(trace.Event{Kind: trace.Emit, Node: node.ID(i), Value: v})
		}
	}
}

func (c *paxosNet) start(id node.ID) {
	c.procs[id] = NewPaxos(c.cfg)
	c.record(trace.Event{Kind: trace.Start, Node: id})
	c.procs[id].Start(c.envs[id])
	c.collect()
}

func (c *paxosNet) propose(id node.ID, v string) {
	c.reqs++
	op := PaxosPropose{Value: v}
	c.record(trace.Event{Kind: trace.Request, Node: id, Request: c.reqs, Value: op})
	c.procs[id].Request(c.envs[id], node.Request{ID: c.reqs, Op: op})
	c.collect()
}

// settle delivers until nothing is in flight.
func (c *paxosNet) settle() {
	for steps := 0; len(c.queue) > 0; steps++ {
		if steps > 10_000 {
			c.t.Fatalf("the network does not settle: %d messages queued", len(c.queue))
		}
		e := c.queue[0]
		c.queue = c.queue[1:]
		if c.down[e.to] || (c.drop != nil && c.drop(e)) {
			continue
		}
		c.procs[e.to].Receive(c.envs[e.to], e.from, e.msg)
		c.collect()
	}
}

func (c *paxosNet) crash(id node.ID) {
	c.envs[id].Crash()
	c.down[id] = true
	c.record(trace.Event{Kind: trace.Crash, Node: id})
}

func (c *paxosNet) restart(id node.ID) {
	c.down[id] = false
	c.record(trace.Event{Kind: trace.Restart, Node: id})
	c.start(id)
}

// failed lists the properties CheckPaxos finds violated, with details.
func (c *paxosNet) failed() []string {
	var out []string
	for _, ch := range CheckPaxos(&c.tr) {
		if !ch.OK {
			out = append(out, ch.Property+": "+ch.Detail)
		}
	}
	return out
}

// decided lists each process's decision ("-" for none).
func (c *paxosNet) decided() []string {
	out := make([]string, len(c.procs))
	for i := range out {
		out[i] = "-"
	}
	for _, d := range trace.Emitted[PaxosDecided](&c.tr) {
		out[d.Node] = d.Value.Value
	}
	return out
}

// accepts lists the values of the accept requests id sent, in order.
func (c *paxosNet) accepts(id node.ID) []string {
	var out []string
	for _, s := range c.envs[id].Sent {
		if a, ok := s.Msg.(PaxosAccept); ok && (len(out) == 0 || out[len(out)-1] != a.Value) {
			out = append(out, a.Value)
		}
	}
	return out
}

// isolate loses every message to or from the given processes.
func isolate(ids ...node.ID) func(e paxosEnvelope) bool {
	return func(e paxosEnvelope) bool { return slices.Contains(ids, e.from) || slices.Contains(ids, e.to) }
}

func TestPaxosBallotOrder(t *testing.T) {
	cases := []struct {
		a, b PaxosBallot
		less bool
	}{
		{PaxosBallot{}, PaxosBallot{Round: 1, Proposer: 0}, true},
		{PaxosBallot{Round: 1, Proposer: 0}, PaxosBallot{Round: 1, Proposer: 1}, true},
		{PaxosBallot{Round: 1, Proposer: 4}, PaxosBallot{Round: 2, Proposer: 0}, true},
		{PaxosBallot{Round: 2, Proposer: 0}, PaxosBallot{Round: 1, Proposer: 4}, false},
		{PaxosBallot{Round: 3, Proposer: 2}, PaxosBallot{Round: 3, Proposer: 2}, false},
	}
	for _, c := range cases {
		if got := c.a.Less(c.b); got != c.less {
			t.Errorf("%v < %v = %v, want %v", c.a, c.b, got, c.less)
		}
	}
	if s := (PaxosBallot{Round: 3, Proposer: 1}).String(); s != "3.n1" {
		t.Errorf("String() = %q, want 3.n1", s)
	}
}

// An acceptor syncs its promise and its vote before it answers, answers a
// lower ballot with a nack naming what it promised, reports what it
// accepted in later promises, and after a crash and restart still knows
// all of it.
func TestPaxosAcceptorSyncsBeforeAnswering(t *testing.T) {
	env := nodetest.New(1, 3)
	p := NewPaxos(DefaultPaxosConfig())
	p.Start(env)
	env.TakeOps() // the learn timer
	b := func(round uint64, proposer node.ID) PaxosBallot { return PaxosBallot{Round: round, Proposer: proposer} }
	steps := []struct {
		from node.ID
		msg  node.Message
		ops  string
	}{
		{0, PaxosPrepare{Ballot: b(2, 0)}, "sync | send n0 PaxosPromise{Ballot:2.n0 Accepted:0 Value:}"},
		{2, PaxosPrepare{Ballot: b(1, 2)}, "send n2 PaxosNack{Ballot:1.n2 Promised:2.n0}"},
		{0, PaxosAccept{Ballot: b(2, 0), Value: "x"}, "sync | emit PaxosVoted{Ballot:2.n0 Value:x} | send n0 PaxosAccepted{Ballot:2.n0 Value:x} | send n2 PaxosAccepted{Ballot:2.n0 Value:x}"},
		{0, PaxosAccept{Ballot: b(2, 0), Value: "x"}, ""}, // a duplicate
		{2, PaxosPrepare{Ballot: b(3, 2)}, "sync | send n2 PaxosPromise{Ballot:3.n2 Accepted:2.n0 Value:x}"},
		{0, PaxosAccept{Ballot: b(2, 0), Value: "x"}, "send n0 PaxosNack{Ballot:2.n0 Promised:3.n2}"},
	}
	for i, s := range steps {
		if i == 4 { // crash and restart between the vote and the next prepare
			env.Crash()
			p = NewPaxos(DefaultPaxosConfig())
			p.Start(env)
			env.TakeOps()
		}
		p.Receive(env, s.from, s.msg)
		if got := strings.Join(env.TakeOps(), " | "); got != s.ops {
			t.Errorf("step %d, %s from %v:\n got %s\nwant %s", i, nodetest.Show(s.msg), s.from, got, s.ops)
		}
	}
}

// A proposer never reuses a ballot: the round it tries is synced before
// its prepare leaves, so after a crash and restart it tries a higher one;
// and it outbids every ballot it has heard of.
func TestPaxosProposerNeverReusesABallot(t *testing.T) {
	c := newPaxosNet(t, 3, PaxosBroken{})
	c.drop = func(e paxosEnvelope) bool { return e.to == 0 } // n0 hears nothing back
	c.propose(0, "a")
	c.settle()
	first := c.procs[0].ballot
	c.crash(0)
	c.restart(0)
	c.envs[0].FireNext(c.procs[0]) // the back-off after the restart ends
	c.settle()
	second := c.procs[0].ballot
	if second.Round <= first.Round || second.Proposer != 0 {
		t.Fatalf("ballots %v, then %v after a restart: want a higher round", first, second)
	}
	// n1 and n2 have promised n0's second ballot: n2's own outbids it.
	c.drop = nil
	c.propose(2, "c")
	c.settle()
	if b := c.procs[2].ballot; b.Round <= second.Round {
		t.Fatalf("n2 tried %v after promising %v", b, second)
	}
	if got := c.decided(); !slices.Equal(got, []string{"c", "c", "c"}) {
		t.Fatalf("decisions %v, want n2's c everywhere", got)
	}
}

// Paxos's key case (Paxos Made Simple §2.2, P2c): a value that a minority
// of acceptors accepted must be proposed by the next proposer that hears of
// it in its promises. Five processes: n0's accept for "v0" reaches n1
// only, then n0 crashes; n4's promises come first from n1, which reports
// (1.n0, "v0"), so n4 must send accept for "v0", not its own "v4". An
// acceptor that forgets to report, or a proposer that ignores the report,
// proposes "v4"; that is safe here, as "v0" was not chosen, but it breaks
// the rule that the next test turns into two decisions.
func TestPaxosMinorityAcceptedValueIsAdopted(t *testing.T) {
	for _, c := range []struct {
		name   string
		broken PaxosBroken
		want   string
	}{
		{"correct", PaxosBroken{}, "v0"},
		{"forget-accepted", PaxosBroken{ForgetAccepted: true}, "v4"},
		{"ignore-accepted", PaxosBroken{IgnoreAccepted: true}, "v4"},
	} {
		net := newPaxosNet(t, 5, c.broken)
		net.drop = func(e paxosEnvelope) bool {
			_, accept := e.msg.(PaxosAccept)
			return accept && e.from == 0 && e.to != 1
		}
		net.propose(0, "v0")
		net.settle()
		if votes := len(trace.Emitted[PaxosVoted](&net.tr)); votes != 2 {
			t.Fatalf("%s: %d votes for v0, want 2 (n0 and n1, a minority)", c.name, votes)
		}
		net.crash(0)
		net.drop = nil
		net.propose(4, "v4")
		net.settle()
		if got := net.accepts(4); len(got) != 1 || got[0] != c.want {
			t.Errorf("%s: n4 sent accept for %v, want %q", c.name, got, c.want)
		}
		if f := net.failed(); len(f) > 0 {
			t.Errorf("%s: %v", c.name, f)
		}
		t.Logf("%s: n4 proposes %v; decisions %v", c.name, net.accepts(4), net.decided())
	}
}

// The same rule is what keeps a chosen value chosen. Three processes: n0's
// "v0" is accepted by n0 and n1, a majority, and both learn it while n2
// hears nothing. Then n2 proposes "v2" and reaches only n1, whose promise
// reports (1.n0, "v0"): n2 must propose "v0" again. The broken variants
// propose "v2", which n1 and n2 accept: a second value is chosen, and n2
// decides differently from n0 and n1.
func TestPaxosChosenValueSurvivesANewProposer(t *testing.T) {
	for _, c := range []struct {
		name    string
		broken  PaxosBroken
		decided []string
	}{
		{"correct", PaxosBroken{}, []string{"v0", "v0", "v0"}},
		{"forget-accepted", PaxosBroken{ForgetAccepted: true}, []string{"v0", "v0", "v2"}},
		{"ignore-accepted", PaxosBroken{IgnoreAccepted: true}, []string{"v0", "v0", "v2"}},
	} {
		net := newPaxosNet(t, 3, c.broken)
		net.drop = isolate(2)
		net.propose(0, "v0")
		net.settle()
		net.drop = isolate(0)
		net.propose(2, "v2")
		net.settle()
		if got := net.decided(); !slices.Equal(got, c.decided) {
			t.Errorf("%s: decisions %v, want %v", c.name, got, c.decided)
		}
		f := net.failed()
		if broken := c.broken != (PaxosBroken{}); broken != (len(f) > 0) {
			t.Errorf("%s: checker found %v", c.name, f)
		}
		t.Logf("%s: %s", c.name, strings.Join(f, "; "))
	}
}

// An acceptor must sync before it answers (and restore its state when it
// restarts). Three processes: n1 promises and accepts n0's "v0", which n0
// learns from n1's vote and its own: "v0" is chosen. n1 crashes and
// restarts. n2, which heard nothing, proposes "v2" and reaches only n1. A
// durable n1 reports "v0", and n1 and n2 decide "v0"; an n1 that never
// synced has forgotten its promise and its vote, and they decide "v2".
func TestPaxosAcceptorMustSync(t *testing.T) {
	for _, c := range []struct {
		name    string
		broken  PaxosBroken
		decided []string
	}{
		{"correct", PaxosBroken{}, []string{"v0", "v0", "v0"}},
		{"unsynced-acceptor", PaxosBroken{UnsyncedAcceptor: true}, []string{"v0", "v2", "v2"}},
	} {
		net := newPaxosNet(t, 3, c.broken)
		// n2 is cut off; n1 does not hear n0's vote, so it does not learn
		// (and sync) the decision.
		net.drop = func(e paxosEnvelope) bool {
			_, accepted := e.msg.(PaxosAccepted)
			return e.to == 2 || e.from == 2 || (accepted && e.to == 1)
		}
		net.propose(0, "v0")
		net.settle()
		net.crash(1)
		net.restart(1)
		net.drop = func(e paxosEnvelope) bool { return e.to == 0 || e.from == 0 }
		net.propose(2, "v2")
		net.settle()
		if got := net.decided(); !slices.Equal(got, c.decided) {
			t.Errorf("%s: decisions %v, want %v", c.name, got, c.decided)
		}
		f := net.failed()
		if broken := c.broken != (PaxosBroken{}); broken != (len(f) > 0) {
			t.Errorf("%s: checker found %v", c.name, f)
		}
		t.Logf("%s: %s", c.name, strings.Join(f, "; "))
	}
}

// A learner decides once: its decision is durable, and after a restart it
// does not decide again but tells a learner that asks.
func TestPaxosDecisionIsDurable(t *testing.T) {
	net := newPaxosNet(t, 3, PaxosBroken{})
	net.drop = isolate(2)
	net.propose(0, "v0")
	net.settle()
	net.crash(1)
	net.restart(1)
	net.drop = nil
	net.procs[2].Timeout(net.envs[2], paxosLearnTick{}) // n2 asks
	net.collect()
	net.settle()
	if got := net.decided(); !slices.Equal(got, []string{"v0", "v0", "v0"}) {
		t.Fatalf("decisions %v, want v0 everywhere", got)
	}
	if n := len(trace.Emitted[PaxosDecided](&net.tr)); n != 3 {
		t.Fatalf("%d decisions, want 3: a restart must not decide again", n)
	}
	if f := net.failed(); len(f) > 0 {
		t.Fatal(f)
	}
}
