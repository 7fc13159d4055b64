// Package consensus has processes agree on one value despite failures:
// flooding consensus in synchronous rounds, single-decree Paxos, and
// Multi-Paxos, which decides a sequence of values.
//
// Each algorithm is a node.Process, so it runs in the simulator (package
// sim) and, where it needs no synchronous rounds, live. Each has a checker
// that judges a run from its trace alone, by the properties of consensus as
// Cachin, Guerraoui and Rodrigues name them (Introduction to Reliable and
// Secure Distributed Programming, 2011, §5.1–5.2): validity (a decided value was
// proposed), integrity (no process decides twice), (uniform) agreement (no
// two processes decide differently, counting those that crash afterwards)
// and termination (every correct process decides).
//
// # Flooding consensus
//
// Flooding is Lynch's FloodSet (Distributed Algorithms, 1996, §6.2.1): in
// synchronous rounds every process sends the set of proposals it has heard
// of to its neighbours, and decides the smallest after f+1 rounds on the
// complete graph, which tolerates f crash-stop failures; that many rounds
// are necessary (§6.7). With neighbour-only flooding on a sparser graph
// (Ring, Grid) the bound is f + D_f, where D_f is the diameter the graph
// keeps whatever f processes crash (Graph.FaultDiameter): on a ring of N a
// crash leaves a line of diameter N−2, not the ring's ⌊N/2⌋, and deciding
// after f plus the plain diameter is not enough (a test stages the run that
// shows it). The crashes must not disconnect the graph: f is below its
// vertex connectivity. FloodingWorkload plans the crashes, including the
// adversary of the lower bound, which crashes one process per round in the
// middle of its sends.
//
// # Paxos
//
// Paxos is single-decree Paxos as in Lamport's "Paxos Made Simple" (2001):
// every process is a proposer, an acceptor and a learner. A proposer runs
// phase 1 (prepare, promise) with a ballot that is unique to it, adopts the
// value of the highest-ballot proposal any promise reports, and runs phase 2
// (accept, accepted); acceptors write their promises and votes to durable
// storage and sync before they answer; each acceptor tells every learner
// what it accepted, and a learner decides once a majority accepted the same
// ballot. Duelling proposers back off at random. CheckPaxos judges validity,
// uniform agreement, integrity and termination, and that only one value was
// ever chosen by a majority of acceptors.
//
// # Multi-Paxos
//
// Multi-Paxos (the multipaxos*.go files) runs a sequence of Paxos instances
// under a stable leader, which skips phase 1 for every instance after its
// first: two message delays per value instead of four.
package consensus

// The properties the consensus checkers report, as Cachin, Guerraoui and
// Rodrigues name them (§5.1, Modules 5.1 and 5.2), and Paxos's own safety
// property at the acceptors.
const (
	// PropValidity: every decided value was proposed.
	PropValidity = "validity"
	// PropIntegrity: no process decides twice.
	PropIntegrity = "integrity"
	// PropAgreement: no two processes decide differently, counting the
	// processes that crash after deciding (uniform agreement).
	PropAgreement = "uniform agreement"
	// PropTermination: every correct process decides (within the bound the
	// algorithm promises).
	PropTermination = "termination"
)
