package kv

import (
	"errors"
	"fmt"
	"slices"

	"github.com/synod-dev/synod/consensus"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/raft"
)

// ServerConfig configures NewServer.
type ServerConfig struct {
	// Members are the Raft voters of the initial configuration (or the
	// members of another Log). A simulated group also holds client
	// processes, so the group is no guide: name the servers here.
	Members []node.ID
	// Raft holds Raft's settings (timeouts, snapshots, PreVote...). Its
	// Members and StateMachine are ignored: NewServer sets them.
	Raft raft.Config
	// Log, if set, builds the replicated log the server runs on instead of
	// Raft (Raft is then ignored), given the members and the state machine
	// to replicate: MultiPaxosLog runs it on Multi-Paxos.
	Log func(members []node.ID, r Replica) Log
}

// Server is one replica of the key-value service: a node.Process that embeds
// a replicated log — a Raft server by default, or any Log such as
// Multi-Paxos — and the StateMachine it replicates, and serves clients
// following the dissertation's chapter 6 ("Client interaction"):
//
//   - a write (Put, Delete, CAS) is proposed to the log and answered when the
//     state machine applies it; if the entry at that index turns out to have
//     another term, the proposal was lost with the leader's term and the
//     client is told to retry (§6.2); if this server stops leading first,
//     every pending write is answered "retry", its outcome unknown;
//   - a read (Get, Range) waits for the log's confirmation (Raft's
//     ReadIndex, §6.4; Multi-Paxos reads through the log) and is answered
//     from the state machine;
//   - a server that is not the leader answers CodeNotLeader with the leader
//     it knows of (§6.2);
//   - sessions (§6.3) make retried writes safe: a write carries its client's
//     ID and sequence number, and one already applied is answered from the
//     saved result.
//
// Operations arrive either as a node.Request (answered with env.Reply) or as
// a ClientRequest message (answered with a ClientReply to its sender).
type Server struct {
	// Raft is the Raft server the service runs on (nil when it runs on
	// another Log: then Raft's methods, promoted here, must not be
	// called).
	*raft.Raft
	log Log
	sm  *StateMachine
	env node.Env
	// waiting are the writes proposed by this server as leader, by log
	// index. Invariant: ascending indexes, all of the term this server
	// leads in (LeaderChanged empties it when that ends).
	waiting []waiter
}

// waiter is a write waiting for its log entry to be applied.
type waiter struct {
	index, term uint64
	to          replyTo
}

// replyTo says where an answer goes: a node.Request, or a ClientRequest
// message from a client process.
type replyTo struct {
	req    node.RequestID
	viaMsg bool
	client node.ID // the ClientRequest's sender
	reqID  uint64  // its ReqID
}

// NewServer returns a key-value server with an empty state machine.
func NewServer(cfg ServerConfig) *Server {
	s := &Server{sm: NewStateMachine()}
	if cfg.Log != nil {
		s.log = cfg.Log(slices.Clone(cfg.Members), replicated{s})
		return s
	}
	rc := cfg.Raft
	rc.Members = cfg.Members
	rc.StateMachine = replicated{s}
	s.Raft = raft.New(rc)
	s.log = raftLog{s.Raft}
	return s
}

// StateMachine returns the server's state machine, to inspect in tests and
// examples. It must not be modified.
func (s *Server) StateMachine() *StateMachine { return s.sm }

// Start implements node.Process: the log restores its state (the state
// machine from the last snapshot, then the log is applied again as it
// commits).
func (s *Server) Start(env node.Env) {
	s.env = env
	s.log.Start(env)
}

// Receive implements node.Process: the log's messages go to the log, client
// requests are served.
func (s *Server) Receive(env node.Env, from node.ID, msg node.Message) {
	s.env = env
	switch m := msg.(type) {
	case ClientRequest:
		s.serve(replyTo{viaMsg: true, client: from, reqID: m.ReqID}, m.Client, m.Seq, m.Op.V)
	default:
		if s.log.IsMessage(msg) {
			s.log.Receive(env, from, msg)
			return
		}
		env.Log().Warn("kv: unknown message", "from", from, "type", node.TypeName(msg))
	}
}

// Timeout implements node.Process: the timers are the log's.
func (s *Server) Timeout(env node.Env, timer any) {
	s.env = env
	if s.log.IsTimer(timer) {
		s.log.Timeout(env, timer)
	}
}

// Request implements node.Process. The op is an operation (Put, Get, ...,
// StatusOp), served without a session, or a ClientRequest, served with its
// session so that a client outside the simulator can retry a write safely.
// Anything else is answered CodeInvalid.
func (s *Server) Request(env node.Env, req node.Request) {
	s.env = env
	to := replyTo{req: req.ID}
	if m, ok := req.Op.(ClientRequest); ok {
		s.serve(to, m.Client, m.Seq, m.Op.V)
		return
	}
	s.serve(to, 0, 0, req.Op)
}

// serve starts serving one operation of session (client, seq).
func (s *Server) serve(to replyTo, client, seq uint64, op any) {
	if err := validate(op); err != nil {
		s.reply(to, Result{Code: CodeInvalid, Err: err.Error()})
		return
	}
	switch op := op.(type) {
	case Put, Delete, CAS:
		s.write(to, client, seq, op)
	case Get, Range:
		s.read(to, op)
	case AddServer:
		if ml := s.membership(to, op); ml != nil {
			s.change(to, fmt.Sprintf("add server %v", op.ID), func(done func(error)) error {
				return ml.AddServer(s.env, op.ID, done)
			})
		}
	case RemoveServer:
		if ml := s.membership(to, op); ml != nil {
			s.change(to, fmt.Sprintf("remove server %v", op.ID), func(done func(error)) error {
				return ml.RemoveServer(s.env, op.ID, done)
			})
		}
	case TransferLeader:
		tl, ok := s.log.(transferLog)
		if !ok {
			s.reply(to, s.unsupported(op, "it cannot hand leadership over"))
			return
		}
		err := tl.TransferLeadership(s.env, op.To)
		s.reply(to, adminResult(fmt.Sprintf("transfer leadership to %v", op.To), err))
	case StatusOp:
		s.reply(to, s.status())
	}
}

// membership returns the log's membership changes, or answers op that the
// log has none (and returns nil).
func (s *Server) membership(to replyTo, op any) membershipLog {
	ml, ok := s.log.(membershipLog)
	if !ok {
		s.reply(to, s.unsupported(op, "its membership is fixed"))
		return nil
	}
	return ml
}

// status answers StatusOp with the log's status.
func (s *Server) status() Result {
	switch l := s.log.(type) {
	case raftStatusLog:
		st := l.Status()
		return Result{OK: true, Status: &st}
	case multiPaxosStatusLog:
		st := l.Status()
		return Result{OK: true, MultiPaxos: &st}
	}
	return Result{OK: true, Leader: s.log.Leader()}
}

// unsupported answers an administrative operation the log does not offer.
func (s *Server) unsupported(op any, why string) Result {
	name := fmt.Sprintf("%T", s.log)
	switch s.log.(type) {
	case raftLog:
		name = "Raft"
	case *consensus.MultiPaxos:
		name = "Multi-Paxos"
	}
	return Result{Code: CodeInvalid, Err: fmt.Sprintf("kv: %s is not supported on %s: %s", node.ShortName(node.TypeName(op)), name, why)}
}

// write proposes a write (diss. §6.2) unless its session shows it was
// already applied (§6.3), in which case the saved result answers it at once.
func (s *Server) write(to replyTo, client, seq uint64, op any) {
	if res, done := s.sm.session(client, seq); done {
		s.reply(to, res)
		return
	}
	cmd, err := Command{Client: client, Seq: seq, Op: AnyOp{op}}.Encode()
	if err != nil {
		s.reply(to, Result{Code: CodeInvalid, Err: err.Error()})
		return
	}
	index, term, err := s.log.Propose(s.env, cmd)
	if err != nil {
		s.reply(to, errorResult(err))
		return
	}
	s.waiting = append(s.waiting, waiter{index: index, term: term, to: to})
}

// read serves a Get or Range once the log says the state machine reflects
// every write committed before the read arrived (diss. §6.4).
func (s *Server) read(to replyTo, op any) {
	s.log.Read(s.env, func(err error) {
		if err != nil {
			s.reply(to, errorResult(err))
			return
		}
		s.reply(to, s.sm.read(op))
	})
}

// change starts a membership change; the reply comes when Raft commits it
// (or refuses it).
func (s *Server) change(to replyTo, what string, start func(done func(error)) error) {
	err := start(func(err error) { s.reply(to, adminResult(what, err)) })
	if err != nil {
		s.reply(to, adminResult(what, err))
	}
}

// applied answers the writes waiting for log entries up to index, which has
// just been applied in term with result res. A waiter for an earlier index
// lost its entry (the index now holds a no-op or a configuration entry of a
// later leader, which the state machine never sees); a waiter for this index
// with another term lost it too (diss. §6.2).
func (s *Server) applied(index, term uint64, res Result) {
	for len(s.waiting) > 0 && s.waiting[0].index <= index {
		w := s.waiting[0]
		s.waiting = s.waiting[1:]
		if w.index == index && w.term == term {
			s.reply(w.to, res)
		} else {
			s.reply(w.to, lostResult(w.index, s.log.Leader()))
		}
	}
}

// leaderChanged fails the pending writes once this server no longer leads in
// their term: they may still commit under the next leader, so their outcome
// is unknown, and the client retries with the same session number.
func (s *Server) leaderChanged(leader node.ID, term uint64) {
	if len(s.waiting) == 0 || (leader == s.env.Self() && term == s.waiting[0].term) {
		return
	}
	waiting := s.waiting
	s.waiting = nil
	for _, w := range waiting {
		s.reply(w.to, Result{Code: CodeRetry, Leader: leader,
			Err: "leadership changed before the write was committed: the outcome is unknown; retry" + tryHint(leader)})
	}
}

// reply sends res where it is due.
func (s *Server) reply(to replyTo, res Result) {
	if to.viaMsg {
		s.env.Send(to.client, ClientReply{ReqID: to.reqID, Result: res})
		return
	}
	s.env.Reply(to.req, res)
}

func tryHint(leader node.ID) string {
	if leader == node.None {
		return ""
	}
	return fmt.Sprintf(" at %v", leader)
}

// lostResult answers a write whose log entry was overwritten by a new leader.
func lostResult(index uint64, leader node.ID) Result {
	return Result{Code: CodeRetry, Leader: leader,
		Err: fmt.Sprintf("the write proposed at log index %d was lost to a new leader; retry%s", index, tryHint(leader))}
}

// errorResult turns an error of the log into a Result.
func errorResult(err error) Result {
	var (
		nl  *raft.NotLeaderError
		mnl *consensus.MultiPaxosNotLeaderError
	)
	notLeader := func(leader node.ID) Result {
		if leader == node.None {
			return Result{Code: CodeNotLeader, Leader: node.None, Err: "not the leader, and no leader is known; retry later"}
		}
		return Result{Code: CodeNotLeader, Leader: leader, Err: fmt.Sprintf("not the leader; try %v", leader)}
	}
	switch {
	case errors.As(err, &nl):
		return notLeader(nl.Leader)
	case errors.As(err, &mnl):
		return notLeader(mnl.Leader)
	case errors.Is(err, consensus.ErrMultiPaxosReadLost):
		return Result{Code: CodeRetry, Leader: node.None, Err: "the read's confirmation was lost to a leadership change; retry"}
	case errors.Is(err, raft.ErrTransferring):
		return Result{Code: CodeRetry, Leader: node.None, Err: "leadership is being transferred; retry shortly"}
	case errors.Is(err, raft.ErrLeadershipLost):
		return Result{Code: CodeRetry, Leader: node.None, Err: "leadership was lost before the request completed; retry"}
	}
	return Result{Code: CodeFailed, Err: err.Error()}
}

// adminResult answers an administrative operation.
func adminResult(what string, err error) Result {
	if err == nil {
		return Result{OK: true}
	}
	res := errorResult(err)
	if res.Code == CodeFailed {
		res.Err = fmt.Sprintf("%s: %v", what, err)
	}
	return res
}

// replicated is the server's Replica, what it gives its Log as the state
// machine: the StateMachine, plus the answers to the writes waiting for each
// entry and the news of leadership changes. The log calls it from within
// the server's own handlers, so s.env is current.
type replicated struct{ s *Server }

// Apply implements Replica (and raft.StateMachine).
func (r replicated) Apply(index, term uint64, command []byte) {
	res := r.s.sm.apply(index, command)
	r.s.applied(index, term, res)
}

// Snapshot implements Replica.
func (r replicated) Snapshot() []byte { return r.s.sm.Snapshot() }

// Restore implements Replica.
func (r replicated) Restore(b []byte) error { return r.s.sm.Restore(b) }

// LeaderChanged implements Replica (and raft.LeaderObserver).
func (r replicated) LeaderChanged(leader node.ID, term uint64) { r.s.leaderChanged(leader, term) }
