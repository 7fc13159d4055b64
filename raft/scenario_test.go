package raft

import (
	"testing"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/node/nodetest"
)

// cluster is a hand-driven network of test servers for the paper's
// walk-throughs (nodetest.Network): no timer fires unless the test says so
// (except the zero-delay flush), and every message can be dropped by a
// filter, so a test can build the exact situations of the paper's figures.
type cluster struct {
	*nodetest.Network[*testServer]
	t   *testing.T
	cfg Config
}

// envelope is a message on the cluster's network, for the drop filters.
type envelope = nodetest.Envelope

func newCluster(t *testing.T, n int, cfg Config) *cluster {
	c := &cluster{t: t, cfg: cfg}
	for i := range n {
		c.cfg.Members = append(c.cfg.Members, node.ID(i))
	}
	c.Network = nodetest.NewNetwork(n, func(node.ID) *testServer { return newTestServer(c.cfg) },
		func(timer any) bool { _, ok := timer.(flushTimer); return ok })
	return c
}

// settle syncs and delivers until nothing is left to do.
func (c *cluster) settle() {
	if err := c.Settle(); err != nil {
		// A broken variant can livelock (a follower that never
		// converges): stop here and let the checkers judge.
		c.t.Log(err)
	}
}

// campaign makes id's election timer fire, then settles.
func (c *cluster) campaign(id node.ID) {
	c.Timeout(id, electionTimer{Epoch: c.Procs[id].electionEpoch})
	c.settle()
}

// heartbeat makes leader id's heartbeat timer fire, then settles.
func (c *cluster) heartbeat(id node.ID) {
	c.Timeout(id, heartbeatTimer{})
	c.settle()
}

func (c *cluster) propose(id node.ID, cmd string) {
	if _, _, err := c.Procs[id].Propose(c.Envs[id], []byte(cmd)); err != nil {
		c.t.Fatalf("propose on %v: %v", id, err)
	}
	c.settle()
}

// stepDown makes leader id a follower in its term, so that its next
// campaign opens a new term (in the paper's figures terms pass by
// elections the figure does not show).
func (c *cluster) stepDown(id node.ID) {
	s := c.Procs[id]
	s.env = c.Envs[id]
	s.becomeFollower(s.currentTerm, node.None)
	c.Collect()
}

func (c *cluster) mustLead(id node.ID, term uint64) {
	c.t.Helper()
	st := c.Procs[id].Status()
	if st.Role != Leader || st.Term != term {
		c.t.Fatalf("%v is %v in term %d; want leader in term %d", id, st.Role, st.Term, term)
	}
}

// failed returns the properties Check finds violated.
func (c *cluster) failed() []string {
	var out []string
	for _, ch := range Check(&c.Trace) {
		if !ch.OK {
			out = append(out, ch.Property+": "+ch.Detail)
		}
	}
	return out
}

// paperConfig is the core algorithm of the paper: no PreVote or CheckQuorum
// (they are dissertation extensions), one entry per AppendEntries so the
// figures' partial replication can be staged.
func paperConfig(b Broken) Config {
	return Config{NoPreVote: true, NoCheckQuorum: true, MaxEntries: 1, MaxInflight: 1, SnapshotThreshold: -1, Broken: b}
}

// figure8 stages Figure 8 of the paper on five servers S1..S5 (n0..n4)
// and reports the safety properties violated. Indexes are one more than the
// figure's because every leader starts its term with a no-op entry (§8).
func figure8(t *testing.T, b Broken) []string {
	c := newCluster(t, 5, paperConfig(b))
	c.campaign(0) // term 1: everyone holds the no-op at index 1
	c.mustLead(0, 1)

	// (a) S1 leads term 2 and replicates index 2 (its no-op) and 3 only
	// to S2.
	c.Drop = func(e envelope) bool {
		_, ae := e.Msg.(AppendEntries)
		return ae && e.From == 0 && e.To != 1
	}
	c.stepDown(0)
	c.campaign(0)
	c.mustLead(0, 2)
	c.propose(0, "x")
	// (b) S1 crashes; S5 is elected in term 3 by S3, S4 and itself, and
	// accepts a different entry at index 2 (its own no-op) before crashing.
	c.Crash(0)
	c.Drop = func(e envelope) bool {
		_, ae := e.Msg.(AppendEntries)
		return ae && e.From == 4
	}
	c.campaign(4)
	c.mustLead(4, 3)
	c.Crash(4)
	// (c) S1 restarts, is elected in term 4 by S2, S3 and itself, and
	// replicates index 2 (term 2) to S3, but nothing of its term 4 to
	// anyone: index 2 is now on a majority (S1, S2, S3).
	c.Restart(0)
	c.Drop = func(e envelope) bool {
		m, ae := e.Msg.(AppendEntries)
		if !ae || e.From != 0 || e.To == 1 {
			return false
		}
		// Probes that will fail get through (so S1 backs off to index 2);
		// anything that would place entries past index 2 does not.
		return m.PrevLogIndex <= 2 && len(m.Entries) > 0 && m.Entries[len(m.Entries)-1].Index > 2
	}
	c.campaign(0) // term 3: refused, its voters already voted for S5
	c.campaign(0)
	c.mustLead(0, 4)
	c.heartbeat(0)
	// (d) S1 crashes; S5 restarts and is elected in term 5 by S3, S4 and
	// itself (its last term, 3, beats their 2), then overwrites index 2
	// everywhere with its term-3 entry.
	c.Crash(0)
	c.Restart(4)
	c.Drop = nil
	c.campaign(4) // term 4: refused, as above
	c.campaign(4)
	c.mustLead(4, 5)
	c.propose(4, "y")
	return c.failed()
}

// TestFigure8CommitRule: §5.4.2, "Raft never commits log entries from
// previous terms by counting replicas". Correct Raft stays safe in the
// Figure 8 situation; the broken variant that counts replicas for an old
// entry commits index 2 in (c), which S5 then overwrites in (d).
func TestFigure8CommitRule(t *testing.T) {
	if bad := figure8(t, Broken{}); len(bad) > 0 {
		t.Fatalf("correct Raft violated safety in Figure 8: %v", bad)
	}
	bad := figure8(t, Broken{CommitOldTerm: true})
	if len(bad) == 0 {
		t.Fatal("committing an old-term entry by counting replicas went unnoticed")
	}
	t.Logf("caught: %v", bad)
}

// TestVoteMustBeDurable: Figure 2, "persistent state on all servers
// (updated on stable storage before responding to RPCs)": votedFor. A server
// that votes, crashes and restarts must not vote again in the same term.
func TestVoteMustBeDurable(t *testing.T) {
	run := func(b Broken) []string {
		c := newCluster(t, 3, paperConfig(b))
		// S1 and S3 cannot hear each other; S2 votes for S1 in term 1, and
		// S1's entries reach nobody.
		c.Drop = func(e envelope) bool {
			_, ae := e.Msg.(AppendEntries)
			return ae || (e.From == 0 && e.To == 2) || (e.From == 2 && e.To == 0)
		}
		c.campaign(0)
		c.mustLead(0, 1)
		// S2 crashes and restarts; S3 then asks it for a vote in term 1.
		c.Crash(1)
		c.Restart(1)
		c.Drop = func(e envelope) bool {
			_, ae := e.Msg.(AppendEntries)
			return ae || (e.From == 0 && e.To == 2) || (e.From == 2 && e.To == 0)
		}
		c.campaign(2)
		return c.failed()
	}
	if bad := run(Broken{}); len(bad) > 0 {
		t.Fatalf("correct Raft: %v", bad)
	}
	bad := run(Broken{UnsyncedVote: true})
	if len(bad) == 0 {
		t.Fatal("a vote forgotten in a crash went unnoticed")
	}
	t.Logf("caught: %v", bad)
}

// TestConflictingEntriesAreDeleted: §5.3, "if an existing entry conflicts
// with a new one (same index but different terms), delete the existing entry
// and all that follow it". S1 appends an entry that reaches nobody; S2 then
// leads and writes a different entry at that index, which S1 must take.
func TestConflictingEntriesAreDeleted(t *testing.T) {
	run := func(b Broken) []string {
		c := newCluster(t, 3, paperConfig(b))
		c.campaign(0) // term 1: the no-op at index 1 everywhere
		c.Drop = func(e envelope) bool {
			_, ae := e.Msg.(AppendEntries)
			return ae && e.From == 0
		}
		c.propose(0, "lost") // index 2, term 1: only on S1
		c.Drop = func(e envelope) bool {
			_, ae := e.Msg.(AppendEntries)
			return ae && (e.From == 0 || e.To == 0)
		}
		c.campaign(1) // S2 wins term 2 with S3's vote; S1 refuses (its log is longer)
		c.mustLead(1, 2)
		c.propose(1, "kept") // committed on S2 and S3: indexes 2 (no-op) and 3
		c.Drop = nil
		c.heartbeat(1) // S1 hears of index 2, term 2, and that 3 is committed
		return c.failed()
	}
	if bad := run(Broken{}); len(bad) > 0 {
		t.Fatalf("correct Raft: %v", bad)
	}
	bad := run(Broken{KeepConflicts: true})
	if len(bad) == 0 {
		t.Fatal("a follower keeping conflicting entries went unnoticed")
	}
	t.Logf("caught: %v", bad)
}
