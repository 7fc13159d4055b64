package kv

import (
	"github.com/synod-dev/synod/consensus"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/raft"
)

// Log is a replicated log that a Server runs on: it orders the writes and
// confirms the reads. Raft (package raft) is the default; Multi-Paxos
// (consensus.MultiPaxos) implements Log as it is. The interface is the
// server's need, defined here where it is used: a Log embedded in a
// node.Process gets the process's events it recognizes (IsMessage, IsTimer)
// and is called on the process's event loop.
type Log interface {
	// Start, Receive and Timeout are the node.Process events, forwarded.
	Start(env node.Env)
	Receive(env node.Env, from node.ID, msg node.Message)
	Timeout(env node.Env, timer any)
	// IsMessage and IsTimer say which messages and timers are the log's.
	IsMessage(msg node.Message) bool
	IsTimer(timer any) bool
	// Propose appends command to the log on the leader and returns its
	// index and term (Raft) or ballot (Multi-Paxos): the command is
	// committed if the Replica is given that index with that term. A
	// server that does not lead returns an error naming the leader
	// (*raft.NotLeaderError, *consensus.MultiPaxosNotLeaderError).
	Propose(env node.Env, command []byte) (index, term uint64, err error)
	// Read calls done(nil) once the Replica reflects every write committed
	// before the call (a linearizable read: Raft's ReadIndex, Multi-Paxos'
	// read through the log), or done(err) if this server cannot tell.
	Read(env node.Env, done func(error))
	// Leader is the leader this server knows of (node.None if none).
	Leader() node.ID
}

// Replica is what a Server gives its Log to replicate: the key-value state
// machine, the answers to the writes waiting for each index, and the news
// of leadership changes. It satisfies raft.StateMachine and
// raft.LeaderObserver, and consensus.MultiPaxosStateMachine and
// consensus.MultiPaxosLeaderObserver.
type Replica interface {
	// Apply applies the command committed at index in term, in index order.
	Apply(index, term uint64, command []byte)
	// Snapshot and Restore save and replace the whole state.
	Snapshot() []byte
	Restore(snapshot []byte) error
	// LeaderChanged is called when the server's idea of the leader or its
	// term changes.
	LeaderChanged(leader node.ID, term uint64)
}

// Optional capabilities of a Log, found by type assertion: membership
// changes and leadership transfer (Raft has them; Multi-Paxos, with its
// fixed membership, does not), and the status for StatusOp.
type (
	membershipLog interface {
		AddServer(env node.Env, id node.ID, done func(error)) error
		RemoveServer(env node.Env, id node.ID, done func(error)) error
	}
	transferLog interface {
		TransferLeadership(env node.Env, to node.ID) error
	}
	raftStatusLog interface {
		Status() raft.Status
	}
	multiPaxosStatusLog interface {
		Status() consensus.MultiPaxosStatus
	}
)

// raftLog is Raft as a Log.
type raftLog struct{ *raft.Raft }

func (raftLog) IsMessage(msg node.Message) bool { return raft.IsMessage(msg) }
func (raftLog) IsTimer(timer any) bool          { return raft.IsTimer(timer) }
func (l raftLog) Read(env node.Env, done func(error)) {
	l.ReadIndex(env, done)
}
func (l raftLog) Leader() node.ID { return l.Status().Leader }

// Compile-time checks: the logs kv knows implement Log, and the server's
// Replica is what each of them replicates.
var (
	_ Log                                = raftLog{}
	_ Log                                = (*consensus.MultiPaxos)(nil)
	_ raft.StateMachine                  = replicated{}
	_ raft.LeaderObserver                = replicated{}
	_ consensus.MultiPaxosStateMachine   = replicated{}
	_ consensus.MultiPaxosLeaderObserver = replicated{}
)

// MultiPaxosLog returns a ServerConfig.Log that runs the server on
// Multi-Paxos with configuration cfg; its Members and StateMachine are set
// by the server.
func MultiPaxosLog(cfg consensus.MultiPaxosConfig) func(members []node.ID, r Replica) Log {
	return func(members []node.ID, r Replica) Log {
		cfg.Members, cfg.StateMachine = members, r
		return consensus.NewMultiPaxos(cfg)
	}
}
