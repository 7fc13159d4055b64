// Package election holds the classic leader-election algorithms, each a
// node.Process: the bully algorithm (bully.go; Garcia-Molina 1982) and the
// ring algorithm (ring.go; Chang and Roberts 1979, in the form van Steen and
// Tanenbaum give it in Distributed Systems §5.4.1).
//
// Both elect the process with the highest ID among those that are up, and
// both notice that the coordinator has crashed with heartbeats and a
// timeout (heartbeat.go): the coordinator sends a heartbeat to every other
// process every interval, and a process that hears nothing from it for a
// while holds an election. A process that comes up (at boot or after a
// crash) holds an election too, so a restarted higher process takes the
// coordinator's job back.
//
// What they promise is judged on the events they emit (check.go): a process
// emits ElectionStarted when it starts an election and Leader when it adopts
// a coordinator, itself included. Check verifies that every election that
// ran without faults elected the highest process that was up throughout it
// and gave its initiator a coordinator in good time, and that once faults
// stop every live process follows the same leader, the highest live process. The algorithms assume a synchronous system (known
// bounds on message delay) without partitions: while a partition lasts each
// side elects its own leader, and only after it heals do they agree again.
//
// The costs (cost.go) are read from the trace too: the messages of each
// election beside the textbook's figures (the bully's N−1 at best and N²−N−1
// at worst, the ring's 2N), the time to replace a crashed coordinator, and
// the time during which two processes both believed they were coordinator.
//
// Each algorithm has deliberately broken variants that Check catches: a bully
// that ignores OK answers (BullyConfig.IgnoreAnswers), a ring that does not
// skip dead successors (RingConfig.NoSkip) and one that names the initiator
// instead of the highest ID (RingConfig.PickInitiator). CoordinatorCrashes
// (workload.go) is the fault plan the catalog runs: the coordinator crashes
// mid-run and later comes back.
package election

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/synod-dev/synod/node"
)

// Epoch names one election: the process that started it and how many
// elections that process had started by then, itself included. The count is
// kept in durable storage, so an epoch is never used twice, even across
// crashes. A coordinator is known by the epoch of the election that made it.
type Epoch struct {
	Initiator node.ID
	Seq       uint64
}

// String formats the epoch as "n3#2": n3's second election.
func (e Epoch) String() string { return fmt.Sprintf("%v#%d", e.Initiator, e.Seq) }

// ElectionStarted is emitted by a process when it starts an election: from
// then until it emits Leader it has no coordinator.
type ElectionStarted struct {
	Epoch Epoch
}

// Leader is emitted by a process when it adopts a coordinator: ID is the
// coordinator (the process itself when it has won) and Epoch the election
// that made it coordinator. A process emits it again only when either
// changes or after an election of its own.
type Leader struct {
	ID    node.ID
	Epoch Epoch
}

// Elect is the request op that asks a process to start an election now, as
// when a client tells it that the coordinator no longer answers (van Steen
// and Tanenbaum §5.4.1: "when any process notices that the coordinator is no
// longer responding to requests, it initiates an election"). The reply is
// the ElectionStarted of the election the process is now holding, which is
// an earlier one if it was already holding one.
type Elect struct{}

// seqKey is where a process keeps its count of the elections it has started.
const seqKey = "election/seq"

// nextEpoch counts a new election started by this process and makes the
// count durable before the election is announced, so that its epoch is never
// reused after a crash.
func nextEpoch(env node.Env) Epoch {
	var seq uint64
	if b, ok := env.Store().Get(seqKey); ok {
		if v, n := binary.Uvarint(b); n > 0 {
			seq = v
		}
	}
	seq++
	env.Store().Set(seqKey, binary.AppendUvarint(nil, seq))
	if err := env.Store().Sync(); err != nil {
		env.Log().Error("election: sync the election count", "err", err)
	}
	return Epoch{Initiator: env.Self(), Seq: seq}
}

// higher returns the members of the group with a higher ID than self, in
// ascending order.
func higher(env node.Env) []node.ID {
	var ids []node.ID
	for _, q := range env.Group() {
		if q > env.Self() {
			ids = append(ids, q)
		}
	}
	return ids
}

// lower returns the members of the group with a lower ID than self, in
// ascending order.
func lower(env node.Env) []node.ID {
	var ids []node.ID
	for _, q := range env.Group() {
		if q < env.Self() {
			ids = append(ids, q)
		}
	}
	return ids
}

// timer is a one-shot timer that can be re-armed: setting it cancels the
// pending one, so at most one of its timeouts is ever pending.
type timer struct {
	id    node.TimerID
	armed bool
}

// set arms the timer to deliver value after d, cancelling any pending one.
func (t *timer) set(env node.Env, d time.Duration, value any) {
	t.stop(env)
	t.id = env.After(d, value)
	t.armed = true
}

// stop cancels the pending timeout, if any.
func (t *timer) stop(env node.Env) {
	if t.armed {
		env.Cancel(t.id)
		t.armed = false
	}
}

// fired records that the pending timeout was delivered.
func (t *timer) fired() { t.armed = false }
