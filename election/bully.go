package election

import (
	"time"

	"github.com/synod-dev/synod/node"
)

// election is the bully algorithm's ELECTION message: its sender, holding
// the election Epoch, asks every process with a higher ID whether it is
// alive.
type election struct {
	Epoch Epoch
}

// answer is the OK message: the receiver of an ELECTION tells the lower
// sender that it is alive and takes over.
type answer struct{}

// coordinator is the COORDINATOR message: its sender has won the election
// Epoch and tells the processes with lower IDs.
type coordinator struct {
	Epoch Epoch
}

// The bully algorithm's timers.
type (
	// answerTimeout fires when no OK has come back from a higher process.
	answerTimeout struct{}
	// coordinatorTimeout fires when an OK came, but no COORDINATOR followed.
	coordinatorTimeout struct{}
)

// BullyMessages returns one zero value of every message, emitted event,
// request op and timer of the bully algorithm, for node.NewRegistry.
func BullyMessages() []any {
	return []any{election{}, answer{}, coordinator{}, heartbeat{},
		ElectionStarted{}, Leader{}, Elect{},
		beat{}, suspect{}, answerTimeout{}, coordinatorTimeout{}}
}

// BullyConfig configures NewBully. Use DefaultBullyConfig and change what you
// need.
type BullyConfig struct {
	// Heartbeats is the failure detector that notices a dead coordinator.
	Heartbeats Heartbeats
	// AnswerTimeout is how long an election waits for an OK from a higher
	// process before the process declares itself coordinator. The algorithm
	// is only correct if it exceeds the longest round trip: a slower OK
	// makes a lower process usurp a live higher one.
	AnswerTimeout time.Duration
	// CoordinatorTimeout is how long a process that got an OK waits for the
	// COORDINATOR message before it starts over. It must exceed
	// AnswerTimeout, which the higher process may itself have to wait out.
	CoordinatorTimeout time.Duration
	// IgnoreAnswers selects a deliberately broken variant that pays no
	// attention to OK answers: every election ends with its holder declaring
	// itself coordinator, whoever is alive above it. Check's "elected the
	// highest" catches it.
	IgnoreAnswers bool
}

// DefaultBullyConfig returns the bully algorithm's defaults: the default
// heartbeats, 30 ms for an OK (far above the simulator's default round trip
// of 2–10 ms) and 90 ms for the COORDINATOR message after it.
func DefaultBullyConfig() BullyConfig {
	return BullyConfig{
		Heartbeats:         DefaultHeartbeats(),
		AnswerTimeout:      30 * time.Millisecond,
		CoordinatorTimeout: 90 * time.Millisecond,
	}
}

// bullyState is where a process is in the algorithm.
type bullyState int

const (
	// following: it has a coordinator, another process, and watches it.
	following bullyState = iota
	// electing: it has sent ELECTION to the higher processes and waits
	// for an OK.
	electing
	// awaitingCoordinator: an OK came; it waits for the COORDINATOR message.
	awaitingCoordinator
	// leading: it is the coordinator and sends heartbeats.
	leading
)

// Bully is one process of the bully algorithm (H. Garcia-Molina, "Elections
// in a Distributed Computing System", IEEE Transactions on Computers C-31(1),
// 1982, the Bully Algorithm for synchronous systems; in the form of van Steen
// and Tanenbaum, Distributed Systems, §5.4.1, "The bully algorithm").
//
// When a process P notices that the coordinator no longer answers, it holds
// an election:
//
//  1. P sends an ELECTION message to all processes with higher numbers.
//  2. If no one responds, P wins the election and becomes coordinator.
//  3. If one of the higher-ups answers, it takes over. P's job is done.
//
// A process that gets an ELECTION from a lower-numbered colleague sends OK
// back and holds an election itself, unless it is already holding one. The
// winner announces itself with a COORDINATOR message to every lower process.
// "If a process that was previously down comes back up, it holds an
// election. If it happens to be the highest-numbered process currently
// running, it will win the election and take over the coordinator's job.
// Thus the biggest guy in town always wins, hence the name."
//
// Steps the textbook leaves open are settled as follows. A process that got
// an OK but no COORDINATOR within CoordinatorTimeout starts over. The
// coordinator notices nothing is wrong when it gets an ELECTION: it answers
// OK and sends its COORDINATOR message to that process alone, since an
// election of its own would end the same way. A COORDINATOR message or a
// heartbeat from a lower process means the lower one believes it leads (it
// came back, or was cut off): the coordinator bullies it with its own
// COORDINATOR message; a follower leaves that to its coordinator, whose
// heartbeats reach the lower process too; a process holding an election
// lets the election settle it. Heartbeats (heartbeat.go) double as repeated
// COORDINATOR messages, so a process that lost one still learns who won, and
// a process that hears from a higher coordinator than its own adopts it.
//
// The algorithm assumes a synchronous system: if an OK can take longer than
// AnswerTimeout, two processes may both declare themselves coordinator. A
// partition does the same on purpose; when it heals the heartbeats that
// cross it make the higher coordinator bully the lower one out.
type Bully struct {
	cfg BullyConfig

	state bullyState
	// leader is the coordinator this process follows (state following),
	// itself (leading), or node.None (electing, awaitingCoordinator).
	leader node.ID
	// epoch is the election that made leader coordinator; while this
	// process holds an election, that election.
	epoch Epoch

	watch   watch // following: suspects a silent coordinator
	pulse   pulse // leading: sends the heartbeats
	timeout timer // electing, awaitingCoordinator: answerTimeout or coordinatorTimeout
}

// NewBully returns a process of the bully algorithm, or with
// cfg.IgnoreAnswers its deliberately broken variant.
func NewBully(cfg BullyConfig) node.Process {
	return &Bully{cfg: cfg, leader: node.None, watch: watch{cfg: cfg.Heartbeats}, pulse: pulse{cfg: cfg.Heartbeats}}
}

// Start implements node.Process: a process that comes up holds an election.
func (p *Bully) Start(env node.Env) { p.holdElection(env) }

// Request implements node.Process: an Elect op starts an election, unless
// one is already under way.
func (p *Bully) Request(env node.Env, req node.Request) {
	switch req.Op.(type) {
	case Elect:
		if p.state != electing && p.state != awaitingCoordinator {
			p.holdElection(env)
		}
		env.Reply(req.ID, ElectionStarted{Epoch: p.epoch})
	default:
		env.Log().Warn("bully: unknown request op", "op", node.TypeName(req.Op))
	}
}

// Receive implements node.Process, dispatching to one handler per message.
func (p *Bully) Receive(env node.Env, from node.ID, msg node.Message) {
	switch m := msg.(type) {
	case election:
		p.onElection(env, from)
	case answer:
		p.onAnswer(env)
	case coordinator:
		p.onCoordinator(env, from, m)
	case heartbeat:
		p.onHeartbeat(env, from, m)
	default:
		env.Log().Warn("bully: unknown message", "from", from, "type", node.TypeName(msg))
	}
}

// Timeout implements node.Process.
func (p *Bully) Timeout(env node.Env, t any) {
	switch t.(type) {
	case answerTimeout:
		p.timeout.fired()
		if p.state == electing {
			p.becomeCoordinator(env) // step 2: no one responded
		}
	case coordinatorTimeout:
		p.timeout.fired()
		if p.state == awaitingCoordinator {
			p.holdElection(env) // the higher process that answered has gone quiet
		}
	case suspect:
		p.watch.fired()
		if p.state == following {
			p.holdElection(env) // the coordinator no longer responds
		}
	case beat:
		p.pulse.fired()
		if p.state == leading {
			p.pulse.beat(env, p.epoch)
		}
	}
}

// holdElection is step 1: send ELECTION to every higher process and wait for
// an OK. The highest process has no one to ask and wins at once.
func (p *Bully) holdElection(env node.Env) {
	p.state, p.leader, p.epoch = electing, node.None, nextEpoch(env)
	p.watch.stop(env)
	p.pulse.stop(env)
	env.Emit(ElectionStarted{Epoch: p.epoch})
	up := higher(env)
	if len(up) == 0 {
		p.becomeCoordinator(env)
		return
	}
	for _, q := range up {
		env.Send(q, election{Epoch: p.epoch})
	}
	p.timeout.set(env, p.cfg.AnswerTimeout, answerTimeout{})
}

// onElection answers a lower process's ELECTION with OK and takes over:
// it holds an election itself unless it is already holding one, or already
// leads, in which case it tells the caller so.
func (p *Bully) onElection(env node.Env, from node.ID) {
	if from > env.Self() {
		return // ELECTION goes only to higher processes
	}
	env.Send(from, answer{})
	switch p.state {
	case leading:
		env.Send(from, coordinator{Epoch: p.epoch})
	case following:
		p.holdElection(env)
	}
}

// onAnswer is step 3: a higher process is alive and takes over; wait for its
// COORDINATOR message. The broken variant pays no attention.
func (p *Bully) onAnswer(env node.Env) {
	if p.state != electing || p.cfg.IgnoreAnswers {
		return
	}
	p.state = awaitingCoordinator
	p.timeout.set(env, p.cfg.CoordinatorTimeout, coordinatorTimeout{})
}

// onCoordinator adopts a higher winner. A lower one is bullied.
func (p *Bully) onCoordinator(env node.Env, from node.ID, m coordinator) {
	switch {
	case from > env.Self():
		p.follow(env, from, m.Epoch)
	case from < env.Self():
		p.bully(env, from)
	}
}

// onHeartbeat hears from a coordinator: its own (the watch is reset), one
// above itself and above the one it follows (it is adopted), one in between
// (ignored: the coordinator it follows will bully it), or one below itself
// (bullied).
func (p *Bully) onHeartbeat(env node.Env, from node.ID, m heartbeat) {
	switch {
	case from > env.Self() && (p.state != following || from >= p.leader):
		p.follow(env, from, m.Epoch)
	case from < env.Self():
		p.bully(env, from)
	}
}

// bully answers a lower process that believes it leads. Only the
// coordinator does, with its COORDINATOR message: a follower's coordinator
// does the same, and an election under way will end with a COORDINATOR
// message to every lower process.
func (p *Bully) bully(env node.Env, lower node.ID) {
	if p.state == leading {
		env.Send(lower, coordinator{Epoch: p.epoch})
	}
}

// becomeCoordinator wins the election: announce it with COORDINATOR to every
// lower process and start the heartbeats.
func (p *Bully) becomeCoordinator(env node.Env) {
	p.state, p.leader = leading, env.Self()
	p.timeout.stop(env)
	p.watch.stop(env)
	env.Emit(Leader{ID: env.Self(), Epoch: p.epoch})
	for _, q := range lower(env) {
		env.Send(q, coordinator{Epoch: p.epoch})
	}
	p.pulse.start(env)
}

// follow adopts c, coordinator since epoch, and watches it. It ends any
// election this process was holding.
func (p *Bully) follow(env node.Env, c node.ID, epoch Epoch) {
	changed := p.state != following || p.leader != c || p.epoch != epoch
	p.state, p.leader, p.epoch = following, c, epoch
	p.timeout.stop(env)
	p.pulse.stop(env)
	p.watch.heard(env)
	if changed {
		env.Emit(Leader{ID: c, Epoch: epoch})
	}
}
