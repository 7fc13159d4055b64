package consensus

import (
	"slices"
	"strings"
	"testing"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/node/nodetest"
	"github.com/synod-dev/synod/trace"
)

// mpCluster is a hand-driven network of test servers for walk-throughs
// (nodetest.Network): no timer fires unless the test says so (except the
// zero-delay flush), and a filter can drop any message, so a test builds
// the exact situation it is about.
type mpCluster struct {
	*nodetest.Network[*mpServer]
	t   *testing.T
	cfg MultiPaxosConfig
}

// mpEnvelope is a message on the cluster's network, for the drop filters.
type mpEnvelope = nodetest.Envelope

func newMPCluster(t *testing.T, n int, cfg MultiPaxosConfig) *mpCluster {
	c := &mpCluster{t: t, cfg: cfg}
	for i := range n {
		c.cfg.Members = append(c.cfg.Members, node.ID(i))
	}
	c.Network = nodetest.NewNetwork(n, func(node.ID) *mpServer { return newMPServer(c.cfg) },
		func(timer any) bool { _, ok := timer.(mpFlushTimer); return ok })
	return c
}

// settle syncs and delivers until nothing is left to do.
func (c *mpCluster) settle() {
	c.t.Helper()
	if err := c.Settle(); err != nil {
		c.t.Fatal(err)
	}
}

// campaign lets an election timeout pass on every clock (so that no one is
// still loyal to an earlier leader), makes id's election timer fire (it
// runs phase 1), then settles.
func (c *mpCluster) campaign(id node.ID) {
	for _, env := range c.Envs {
		env.Clock = env.Clock.Add(c.Procs[id].cfg.ElectionTimeoutMax)
	}
	c.Timeout(id, mpElectionTimer{Epoch: c.Procs[id].electionEpoch})
	c.settle()
}

// heartbeat lets a heartbeat interval pass on every clock, makes leader
// id's heartbeat timer fire, then settles.
func (c *mpCluster) heartbeat(id node.ID) {
	s := c.Procs[id]
	for _, env := range c.Envs {
		env.Clock = env.Clock.Add(s.cfg.HeartbeatInterval)
	}
	c.Timeout(id, mpHeartbeatTimer{Ballot: s.ballot})
	c.settle()
}

// propose has leader id propose each command in turn, settling after each
// (so that each goes in an accept of its own).
func (c *mpCluster) propose(id node.ID, cmds ...string) {
	c.t.Helper()
	for _, cmd := range cmds {
		if _, _, err := c.Procs[id].Propose(c.Envs[id], []byte(cmd)); err != nil {
			c.t.Fatalf("propose %q on %v: %v", cmd, id, err)
		}
		c.settle()
	}
}

func (c *mpCluster) mustLead(id node.ID) {
	c.t.Helper()
	if st := c.Procs[id].Status(); st.Role != MultiPaxosLeader {
		c.t.Fatalf("%v is %v; want leader", id, st.Role)
	}
}

// executed returns what server id's state machine executed, in order.
func (c *mpCluster) executed(id node.ID) string {
	return strings.Join(c.Procs[id].sm.executed, " ")
}

// failed returns the properties CheckMultiPaxos finds violated.
func (c *mpCluster) failed() []string { return failedChecks(&c.Trace) }

// isMsg reports whether e carries a message of type T.
func isMsg[T any](e mpEnvelope) bool { _, ok := e.Msg.(T); return ok }

// acceptOf reports whether e is an accept carrying slot s.
func acceptOf(e mpEnvelope, s uint64) bool {
	a, ok := e.Msg.(mpAccept)
	return ok && slices.ContainsFunc(a.Entries, func(x mpEntry) bool { return x.Slot == s })
}

// leaderChange stages §3's walk-through of a leader change on three
// servers and returns the cluster after it.
//
// n0 leads ballot 1 and proposes a, b, c, d in slots 1–4: a reaches
// everyone; b reaches n1 only, whose answer makes n0 learn that b is
// chosen (n0 executes a, b; n1 and n2 learn nothing beyond a); c reaches no
// one; d reaches n2 only. n0 crashes. n1 runs phase 1 with n2: the promises
// report b (slot 2, from n1) and d (slot 4, from n2), and nothing for slot
// 3. n1 must adopt b and d and fill slot 3 with a no-op.
func leaderChange(t *testing.T, b MultiPaxosBroken) *mpCluster {
	c := newMPCluster(t, 3, MultiPaxosConfig{SnapshotThreshold: -1, Broken: b})
	c.campaign(0)
	c.mustLead(0)
	c.propose(0, "a")
	c.Drop = func(e mpEnvelope) bool {
		switch {
		case e.From == 0 && isMsg[mpDecide](e):
			return true // the learners do not hear that b is chosen
		case acceptOf(e, 2):
			return e.To != 1
		case acceptOf(e, 3):
			return true
		case acceptOf(e, 4):
			return e.To != 2
		}
		return false
	}
	c.propose(0, "b", "c", "d")
	if got := c.executed(0); got != "a b" {
		t.Fatalf("n0 executed %q; want a b", got)
	}
	c.Crash(0)
	c.Drop = nil
	c.campaign(1)
	c.mustLead(1)
	return c
}

// TestLeaderChangeAdoptsAndFillsHoles: "Paxos Made Simple" §3 — a new leader
// adopts, for each slot, the value accepted in the highest ballot among the
// promises (b in slot 2, although n1 never learned it chosen; d in slot 4)
// and fills the gap (slot 3) with a no-op, so that execution can go on;
// c, which reached no acceptor but the crashed leader, is lost. The
// restarted n0 catches up and replaces its own c with the no-op.
func TestLeaderChangeAdoptsAndFillsHoles(t *testing.T) {
	c := leaderChange(t, MultiPaxosBroken{})
	el := trace.Emitted[MultiPaxosElected](&c.Trace)
	if last := el[len(el)-1].Value; last.From != 2 || last.Adopted != 2 || last.Holes != 1 {
		t.Errorf("n1's election: %+v; want from slot 2, 2 values adopted, 1 hole", last)
	}
	c.propose(1, "e")
	for _, id := range []node.ID{1, 2} {
		if got := c.executed(id); got != "a b d e" {
			t.Errorf("%v executed %q; want a b d e (slot 3 a no-op)", id, got)
		}
	}
	c.Restart(0)
	c.heartbeat(1)
	if got := c.executed(0); got != "a b d e" {
		t.Errorf("restarted n0 executed %q; want a b d e", got)
	}
	if bad := c.failed(); len(bad) > 0 {
		t.Fatalf("correct Multi-Paxos: %v", bad)
	}
	for _, e := range trace.Emitted[MultiPaxosExecuted](&c.Trace) {
		if e.Value.Slot == 3 && !e.Value.Noop {
			t.Errorf("%v executed a command in slot 3; want the no-op", e.Event.Node)
		}
	}
}

// TestNewLeaderMustAdopt: the broken leader that ignores the promises'
// values proposes its next command in slot 2, where b is already chosen and
// executed by n0: agreement per slot fails.
func TestNewLeaderMustAdopt(t *testing.T) {
	c := leaderChange(t, MultiPaxosBroken{NoAdopt: true})
	c.propose(1, "e")
	c.Restart(0)
	c.heartbeat(1)
	bad := c.failed()
	if !slices.ContainsFunc(bad, func(s string) bool { return strings.HasPrefix(s, PropSlotAgreement) }) {
		t.Fatalf("a leader that does not adopt went unnoticed: %v", bad)
	}
	t.Logf("caught: %v", bad)
}

// TestCatchUpAfterRestart: n2 is down while n0 and n1 choose ten commands;
// restarted, it hears the chosen prefix in n0's next heartbeat, pulls the
// values it missed, and executes them in order.
func TestCatchUpAfterRestart(t *testing.T) {
	c := newMPCluster(t, 3, MultiPaxosConfig{SnapshotThreshold: -1})
	c.campaign(0)
	c.propose(0, "a", "b")
	c.Crash(2)
	c.propose(0, "c", "d", "e", "f", "g", "h", "i", "j")
	c.Restart(2)
	// What n2 learned chosen need not be synced (it can be learned again):
	// it restarts with a and b accepted, and at most those executed.
	if got := c.executed(2); strings.Contains(got, "c") {
		t.Fatalf("restarted n2 executed %q from its own log, which it never held", got)
	}
	c.heartbeat(0)
	if got, want := c.executed(2), "a b c d e f g h i j"; got != want {
		t.Errorf("n2 after catching up executed %q; want %q", got, want)
	}
	if bad := c.failed(); len(bad) > 0 {
		t.Fatal(bad)
	}
}

// TestSnapshotInstall: with a snapshot every 4 slots, the leader's log no
// longer holds what n2 missed while it was down: n2 gets the leader's
// snapshot, then the chosen values after it, and ends in the same state.
func TestSnapshotInstall(t *testing.T) {
	c := newMPCluster(t, 3, MultiPaxosConfig{SnapshotThreshold: 4})
	c.campaign(0)
	c.Crash(2)
	c.propose(0, "a", "b", "c", "d", "e", "f", "g", "h", "i", "j")
	if st := c.Procs[0].Status(); st.SnapshotSlot != 8 {
		t.Fatalf("leader's snapshot covers slot %d; want 8", st.SnapshotSlot)
	}
	c.Restart(2)
	c.heartbeat(0)
	if got, want := c.executed(2), "a b c d e f g h i j"; got != want {
		t.Errorf("n2 after the snapshot executed %q; want %q", got, want)
	}
	restored := trace.Emitted[MultiPaxosRestored](&c.Trace)
	if last := restored[len(restored)-1]; last.Event.Node != 2 || last.Value.Slot != 8 {
		t.Errorf("last restore: %v from slot %d; want n2 from the snapshot at 8", last.Event.Node, last.Value.Slot)
	}
	if bad := c.failed(); len(bad) > 0 {
		t.Fatal(bad)
	}
}

// gapScenario: n2 misses the accept of slot 2 but gets slot 3's, and hears
// that slots up to 3 are chosen before its pull for slot 2 gets through.
func gapScenario(t *testing.T, b MultiPaxosBroken) *mpCluster {
	c := newMPCluster(t, 3, MultiPaxosConfig{SnapshotThreshold: -1, Broken: b})
	c.campaign(0)
	c.propose(0, "a")
	c.Drop = func(e mpEnvelope) bool { return (acceptOf(e, 2) && e.To == 2) || isMsg[mpCatchUp](e) }
	c.propose(0, "b", "c")
	c.Drop = nil
	c.heartbeat(0)
	return c
}

// TestPrefixExecution: §3, a replica executes slot 3 only after slot 2,
// which it must learn first — here by pulling it from the leader.
func TestPrefixExecution(t *testing.T) {
	c := gapScenario(t, MultiPaxosBroken{})
	if got := c.executed(2); got != "a b c" {
		t.Errorf("n2 executed %q; want a b c", got)
	}
	if bad := c.failed(); len(bad) > 0 {
		t.Fatal(bad)
	}
	bad := gapScenario(t, MultiPaxosBroken{ExecuteGaps: true}).failed()
	if !slices.ContainsFunc(bad, func(s string) bool { return strings.HasPrefix(s, PropPrefix) }) {
		t.Fatalf("executing past a gap went unnoticed: %v", bad)
	}
	t.Logf("caught: %v", bad)
}

// TestAcceptedMustBeDurable: n1 accepts b in slot 2, which makes it chosen
// (with n0) and executed by n0; then n1 and n0 crash and restart. With
// synced acceptors n1 still reports b in its promise, and the next leader
// adopts it; the broken acceptor that answered before syncing has lost it,
// and the next leader fills slot 2 with a no-op.
func TestAcceptedMustBeDurable(t *testing.T) {
	run := func(b MultiPaxosBroken) []string {
		c := newMPCluster(t, 3, MultiPaxosConfig{SnapshotThreshold: -1, Broken: b})
		c.campaign(0)
		c.propose(0, "a")
		c.Drop = func(e mpEnvelope) bool {
			return (acceptOf(e, 2) && e.To == 2) || (e.From == 0 && isMsg[mpDecide](e))
		}
		c.propose(0, "b")
		c.Drop = nil
		c.Crash(1)
		c.Restart(1)
		c.Crash(0)
		c.campaign(1) // with n2
		c.propose(1, "c")
		c.Restart(0)
		c.heartbeat(1)
		return c.failed()
	}
	if bad := run(MultiPaxosBroken{}); len(bad) > 0 {
		t.Fatalf("correct Multi-Paxos: %v", bad)
	}
	bad := run(MultiPaxosBroken{UnsyncedAcceptor: true})
	if len(bad) == 0 {
		t.Fatal("an accepted value lost in a crash went unnoticed")
	}
	t.Logf("caught: %v", bad)
}

// TestDeposedLeaderCannotRead: reads go through the log, so a leader cut
// off from the majority cannot answer one, even while it still believes it
// leads; the new leader's writes are what a read there sees.
func TestDeposedLeaderCannotRead(t *testing.T) {
	c := newMPCluster(t, 3, MultiPaxosConfig{SnapshotThreshold: -1})
	c.campaign(0)
	c.propose(0, "a")
	cut := func(e mpEnvelope) bool { return (e.From == 0) != (e.To == 0) }
	c.Drop = cut
	c.campaign(1)
	c.mustLead(1)
	c.propose(1, "b")
	var old, fresh []string
	c.Procs[0].Read(c.Envs[0], func(err error) { old = append(old, errString(err)) })
	c.Procs[1].Read(c.Envs[1], func(err error) {
		fresh = append(fresh, errString(err)+" "+c.executed(1))
	})
	c.settle()
	if len(old) != 0 {
		t.Errorf("the deposed leader answered a read: %v", old)
	}
	if want := []string{"ok a b"}; !slices.Equal(fresh, want) {
		t.Errorf("the new leader's read: %v; want %v", fresh, want)
	}
	// Healed, n0 hears of ballot 1.n1 and fails the read it held.
	c.Drop = nil
	c.heartbeat(1)
	if len(old) != 1 || !strings.Contains(old[0], "not the leader") {
		t.Errorf("the deposed leader's read after the heal: %v; want a not-leader error", old)
	}
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}
