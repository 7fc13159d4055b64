package raft

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
)

// dissConfig is the full algorithm of the dissertation: PreVote and
// CheckQuorum on.
func dissConfig() Config {
	return Config{SnapshotThreshold: -1}
}

// advance moves every clock forward by d without firing timers, so leases
// (CheckQuorum's "heard from a leader recently") can expire.
func (c *cluster) advance(d time.Duration) {
	for _, env := range c.Envs {
		env.Clock = env.Clock.Add(d)
	}
}

// TestPreVoteKeepsAPartitionedServerFromDisrupting: diss. §9.6. A server cut
// off from the others times out again and again; with PreVote its term does
// not grow, so when it comes back the leader is not deposed.
func TestPreVoteKeepsAPartitionedServerFromDisrupting(t *testing.T) {
	c := newCluster(t, 3, dissConfig())
	c.campaign(0)
	c.mustLead(0, 1)
	c.Drop = func(e envelope) bool { return e.From == 2 || e.To == 2 }
	for range 5 {
		c.advance(time.Second)
		c.campaign(2)
	}
	if st := c.Procs[2].Status(); st.Term != 1 || st.Role != PreCandidate {
		t.Fatalf("isolated n2 is %v in term %d; want a pre-candidate still in term 1", st.Role, st.Term)
	}
	c.Drop = nil
	c.heartbeat(0)
	c.mustLead(0, 1)
	if st := c.Procs[2].Status(); st.Leader != 0 || st.Term != 1 {
		t.Fatalf("n2 rejoined as %+v; want a follower of n0 in term 1", st)
	}
}

// TestCheckQuorumStepsDown: diss. §6.2. A leader that cannot reach a
// majority for an election timeout steps down, and a server that hears
// from a live leader refuses to vote for a challenger (diss. §4.2.3).
func TestCheckQuorumStepsDown(t *testing.T) {
	c := newCluster(t, 3, dissConfig())
	c.campaign(0)
	c.mustLead(0, 1)
	// n1 has just heard from n0: it refuses n2's pre-vote.
	c.campaign(2)
	if st := c.Procs[2].Status(); st.Role == Leader || st.Term != 1 {
		t.Fatalf("n2 deposed a live leader: %+v", st)
	}
	// Cut n0 off; after an election timeout its heartbeat tick steps it down.
	c.Drop = func(e envelope) bool { return e.From == 0 || e.To == 0 }
	for range 2 { // the first check still counts the replies from before the cut
		c.advance(200 * time.Millisecond)
		c.heartbeat(0)
	}
	if st := c.Procs[0].Status(); st.Role == Leader {
		t.Fatalf("n0 still leads without a majority: %+v", st)
	}
	c.campaign(1)
	c.mustLead(1, 2)
}

// TestSnapshotAndInstallSnapshot: §7. The leader compacts its log; a
// follower that was away gets the snapshot and ends with the same state.
func TestSnapshotAndInstallSnapshot(t *testing.T) {
	cfg := paperConfig(Broken{})
	cfg.SnapshotThreshold = 5
	cfg.MaxEntries, cfg.MaxInflight = 64, 4
	c := newCluster(t, 3, cfg)
	c.campaign(0)
	c.Crash(2)
	for _, cmd := range []string{"a", "b", "c", "d", "e", "f", "g", "h"} {
		c.propose(0, cmd)
	}
	if st := c.Procs[0].Status(); st.SnapshotIndex < 5 {
		t.Fatalf("leader did not compact: %+v", st)
	}
	c.Restart(2)
	c.heartbeat(0)
	c.propose(0, "i")
	c.heartbeat(0) // followers learn that "i" is committed
	want := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i"}
	for id, s := range c.Procs {
		if !slices.Equal(s.sm.applied, want) {
			t.Errorf("n%d state %v; want %v", id, s.sm.applied, want)
		}
	}
	// A restart rebuilds the state from snapshot plus log.
	c.Crash(1)
	c.Restart(1)
	c.heartbeat(0)
	if got := c.Procs[1].sm.applied; !slices.Equal(got, want) {
		t.Errorf("n1 after restart: %v; want %v", got, want)
	}
	if bad := c.failed(); len(bad) > 0 {
		t.Fatal(bad)
	}
}

// TestMembershipChange: diss. §4.1. A fourth server joins as a learner,
// catches up, becomes a voter; then a server is removed, and the leader
// removes itself and steps down.
func TestMembershipChange(t *testing.T) {
	cfg := paperConfig(Broken{})
	cfg.MaxEntries, cfg.MaxInflight = 64, 4
	c := newCluster(t, 3, cfg)
	// n3 exists but is not a member: it starts with no configuration.
	joiner := cfg
	joiner.Members = nil
	c.addServerNode(joiner)
	c.campaign(0)
	c.propose(0, "a")
	var done error = errors.New("not called")
	if err := c.Procs[0].AddServer(c.Envs[0], 3, func(err error) { done = err }); err != nil {
		t.Fatal(err)
	}
	c.settle()
	c.heartbeat(0)
	if done != nil {
		t.Fatalf("add n3: done = %v", done)
	}
	if st := c.Procs[0].Status(); !st.Config.IsVoter(3) {
		t.Fatalf("n3 is not a voter: %v", st.Config)
	}
	if got := c.Procs[3].sm.applied; !slices.Equal(got, []string{"a"}) {
		t.Fatalf("n3 state %v", got)
	}
	// Remove the leader itself.
	done = errors.New("not called")
	if err := c.Procs[0].AddServer(c.Envs[0], 3, nil); !errors.Is(err, ErrNoChange) {
		t.Fatalf("adding a voter again: %v; want ErrNoChange", err)
	}
	if err := c.Procs[0].RemoveServer(c.Envs[0], 0, func(err error) { done = err }); err != nil {
		t.Fatal(err)
	}
	c.settle()
	if done != nil {
		t.Fatalf("remove n0: done = %v", done)
	}
	if st := c.Procs[0].Status(); st.Role == Leader || st.Config.IsVoter(0) {
		t.Fatalf("removed leader: %+v", st)
	}
	c.advance(time.Second)
	c.campaign(3)
	c.mustLead(3, 2)
	c.propose(3, "b")
	c.heartbeat(3)
	for _, id := range []node.ID{1, 2, 3} {
		if got := c.Procs[id].sm.applied; !slices.Equal(got, []string{"a", "b"}) {
			t.Errorf("%v state %v", id, got)
		}
	}
	if bad := c.failed(); len(bad) > 0 {
		t.Fatal(bad)
	}
}

// addServerNode adds one more process to the harness (not a member).
func (c *cluster) addServerNode(cfg Config) { c.Add(newTestServer(cfg)) }

// TestLeadershipTransfer: diss. §3.10.
func TestLeadershipTransfer(t *testing.T) {
	c := newCluster(t, 3, dissConfig())
	c.campaign(0)
	c.propose(0, "a")
	if err := c.Procs[0].TransferLeadership(c.Envs[0], 2); err != nil {
		t.Fatal(err)
	}
	c.settle()
	c.mustLead(2, 2)
	if _, _, err := c.Procs[0].Propose(c.Envs[0], []byte("x")); err == nil {
		t.Fatal("the old leader still takes proposals")
	} else if nl := (*NotLeaderError)(nil); !errors.As(err, &nl) || nl.Leader != 2 {
		t.Fatalf("old leader's error %v; want NotLeaderError naming n2", err)
	}
}

// TestReadIndex: diss. §6.4. A read is served only after a round of
// heartbeats confirms leadership; a leader cut off from the majority never
// serves it.
func TestReadIndex(t *testing.T) {
	c := newCluster(t, 3, dissConfig())
	c.campaign(0)
	c.propose(0, "a")
	var got []error
	c.Procs[0].ReadIndex(c.Envs[0], func(err error) { got = append(got, err) })
	if len(got) != 0 {
		t.Fatal("read served before a heartbeat round")
	}
	c.settle()
	if len(got) != 1 || got[0] != nil {
		t.Fatalf("read after a round: %v", got)
	}
	c.Drop = func(e envelope) bool { return e.From == 0 || e.To == 0 }
	c.Procs[0].ReadIndex(c.Envs[0], func(err error) { got = append(got, err) })
	c.settle()
	c.heartbeat(0)
	if len(got) != 1 {
		t.Fatalf("isolated leader served a read: %v", got)
	}
	for range 2 { // CheckQuorum: steps down, failing the read
		c.advance(time.Second)
		c.heartbeat(0)
	}
	if len(got) != 2 || !errors.Is(got[1], ErrLeadershipLost) {
		t.Fatalf("pending read after stepping down: %v", got)
	}
}

// TestLeaseRead: diss. §6.4.1. With LeaseRead, a read right after a
// confirmed heartbeat round is served without another round; once the lease
// (ElectionTimeoutMin·(1−ClockDrift) from the round's start) runs out, reads
// need a round again.
func TestLeaseRead(t *testing.T) {
	cfg := dissConfig()
	cfg.LeaseRead, cfg.ClockDrift = true, 0.1
	c := newCluster(t, 3, cfg)
	c.campaign(0)
	c.heartbeat(0) // a confirmed round starts the lease
	served := 0
	c.Procs[0].ReadIndex(c.Envs[0], func(err error) {
		if err == nil {
			served++
		}
	})
	if served != 1 {
		t.Fatal("a read within the lease waited for a round")
	}
	c.Drop = func(e envelope) bool { return e.From == 0 || e.To == 0 }
	c.advance(136 * time.Millisecond) // past 150 ms × 0.9
	c.Procs[0].ReadIndex(c.Envs[0], func(err error) {
		if err == nil {
			served++
		}
	})
	c.settle()
	if served != 1 {
		t.Fatal("a read after the lease expired was served without a majority")
	}
}

// TestFollowerHearingNewLeaderRestartsTimer: Figure 2, a follower converts
// to candidate only if it hears no AppendEntries from the current leader.
// A follower that meets a new leader in a higher term restarts its timer.
func TestFollowerHearingNewLeaderRestartsTimer(t *testing.T) {
	c := newCluster(t, 3, paperConfig(Broken{}))
	c.campaign(0)
	// n2 misses n1's election; its timer from term 1 is still pending.
	c.Drop = func(e envelope) bool { return e.To == 2 }
	c.stepDown(0)
	c.campaign(1)
	c.mustLead(1, 2)
	before, _ := c.Envs[2].Timer(electionTimer{Epoch: c.Procs[2].electionEpoch})
	c.advance(100 * time.Millisecond)
	c.Drop = nil
	c.heartbeat(1)
	if st := c.Procs[2].Status(); st.Term != 2 || st.Leader != 1 {
		t.Fatalf("n2 did not follow n1: %+v", st)
	}
	after, ok := c.Envs[2].Timer(electionTimer{Epoch: c.Procs[2].electionEpoch})
	if !ok || !after.At.After(before.At) {
		t.Fatalf("n2's election timer was not restarted by the new leader (due %v before, %v after)", before.At, after.At)
	}
}

// The heartbeats are the read round: one tick of an idle leader sends each
// follower one AppendEntries, not a heartbeat and then a second round for
// reads, and a read waiting for confirmation is served by those very
// heartbeats.
func TestHeartbeatIsTheReadRound(t *testing.T) {
	c := newCluster(t, 3, Config{})
	c.campaign(0)
	c.mustLead(0, 1)
	c.settle()

	served := false
	c.Procs[0].ReadIndex(c.Envs[0], func(err error) {
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		served = true
	})
	c.Queue = nil // hold the read's own round back: the tick must serve it
	c.Envs[0].Sent = nil
	c.Timeout(0, heartbeatTimer{})
	per := map[node.ID]int{}
	for _, s := range c.Envs[0].Sent {
		if _, ok := s.Msg.(AppendEntries); ok {
			per[s.To]++
		}
	}
	if per[1] != 1 || per[2] != 1 {
		t.Fatalf("AppendEntries sent by one heartbeat tick: %v, want one to each follower", per)
	}
	c.settle()
	if !served {
		t.Fatal("the read waiting for a round was not served by the heartbeats")
	}
}
