package raft

import (
	"slices"

	"github.com/synod-dev/synod/node"
)

// pendingChange is a membership change under way on the leader.
type pendingChange struct {
	add    node.ID // the server being added (node.None for a removal)
	index  uint64  // its latest configuration entry
	done   func(error)
	sinceC uint64 // commitIndex when the learner entry was committed (catch-up target)
}

// AddServer adds server id to the cluster (diss. §4.1, §4.2.1): it joins as
// a learner, receives the log until it has caught up with the leader's
// commit index, and is then made a voter. done (if not nil) is called once
// the final configuration is committed, or with an error if leadership is
// lost first. One change at a time: ErrChangeInProgress otherwise.
func (r *Raft) AddServer(env node.Env, id node.ID, done func(error)) error {
	r.env = env
	if err := r.canChange(); err != nil {
		return err
	}
	if r.config.IsVoter(id) {
		return ErrNoChange
	}
	c := r.config.clone()
	if !c.IsLearner(id) {
		c.Learners = insertSorted(c.Learners, id)
	}
	e := r.appendEntry(Entry{Type: EntryConfig, Config: &c})
	r.change = &pendingChange{add: id, index: e.Index, done: done}
	return nil
}

// RemoveServer removes server id (diss. §4.1). A leader that removes itself
// keeps leading until the change commits, then steps down (diss. §4.2.2).
func (r *Raft) RemoveServer(env node.Env, id node.ID, done func(error)) error {
	r.env = env
	if err := r.canChange(); err != nil {
		return err
	}
	if !r.config.IsVoter(id) && !r.config.IsLearner(id) {
		return ErrNoChange
	}
	c := r.config.clone()
	c.Voters = slices.DeleteFunc(c.Voters, func(x node.ID) bool { return x == id })
	c.Learners = slices.DeleteFunc(c.Learners, func(x node.ID) bool { return x == id })
	if len(c.Voters) == 0 {
		return ErrNoChange
	}
	e := r.appendEntry(Entry{Type: EntryConfig, Config: &c})
	r.change = &pendingChange{add: node.None, index: e.Index, done: done}
	return nil
}

// canChange: only a leader, one change at a time, and only once the leader
// has committed an entry of its own term (the fix to single-server changes
// in Ongaro's raft-dev post of 2015, also in the dissertation errata).
func (r *Raft) canChange() error {
	switch {
	case r.role != Leader:
		return r.notLeader()
	case r.transferee != node.None:
		return ErrTransferring
	case r.change != nil || r.configIndex > r.commitIndex || r.commitIndex < r.termStart:
		return ErrChangeInProgress
	}
	return nil
}

// afterCommit runs leader duties that wait for the commit index: finishing
// membership changes and stepping down once removed.
func (r *Raft) afterCommit() {
	if r.role != Leader {
		return
	}
	if c := r.change; c != nil && r.commitIndex >= c.index {
		if c.add != node.None && r.config.IsLearner(c.add) {
			// The learner entry is committed; promote once caught up.
			if c.sinceC == 0 {
				c.sinceC = r.commitIndex
			}
			if p := r.progress[c.add]; p != nil && p.match >= c.sinceC {
				cfg := r.config.clone()
				cfg.Learners = slices.DeleteFunc(cfg.Learners, func(x node.ID) bool { return x == c.add })
				cfg.Voters = insertSorted(cfg.Voters, c.add)
				e := r.appendEntry(Entry{Type: EntryConfig, Config: &cfg})
				c.index = e.Index
			}
		} else {
			r.change = nil
			if c.done != nil {
				c.done(nil)
			}
		}
	}
	if !r.config.IsVoter(r.env.Self()) && r.commitIndex >= r.configIndex {
		r.env.Log().Info("raft: removed from the configuration; stepping down")
		r.becomeFollower(r.currentTerm, node.None)
	}
}

func insertSorted(ids []node.ID, id node.ID) []node.ID {
	i, found := slices.BinarySearch(ids, id)
	if found {
		return ids
	}
	return slices.Insert(ids, i, id)
}
