package snapshot

import (
	"math/rand/v2"
	"slices"
	"time"

	"github.com/synod-dev/synod/node"
)

// The defaults of a bank branch.
const (
	// DefaultInitialBalance is a branch's opening balance.
	DefaultInitialBalance = 1000
	// DefaultMaxAmount bounds a random transfer.
	DefaultMaxAmount = 100
)

// DefaultTransfers is the time between a branch's random transfers: 2 to
// 10 ms, about as long as a message takes on the simulator's default
// network (1–5 ms), so that some transfers are always in flight — the money
// a snapshot must find in its channel states.
var DefaultTransfers = Interval{Min: 2 * time.Millisecond, Max: 10 * time.Millisecond}

// Interval bounds a random delay, drawn uniformly from [Min, Max].
type Interval struct {
	Min, Max time.Duration
}

func (iv Interval) draw(r *rand.Rand) time.Duration {
	if iv.Max <= iv.Min {
		return iv.Min
	}
	return iv.Min + time.Duration(r.Int64N(int64(iv.Max-iv.Min)+1))
}

// bank is the underlying computation of the snapshots: one branch, holding a
// balance, that sends random amounts to random branches at random times and
// takes in what the others send it. Money leaves the balance when a
// Transfer is sent and joins the receiver's when it arrives, so the total
// over the balances and the transfers in flight never changes — the
// invariant a snapshot's recorded state must show.
type bank struct {
	cfg     Config
	balance int64
}

// open starts the branch with its opening balance and sets the timer of its
// first random transfer.
func (b *bank) open(env node.Env) {
	b.balance = b.cfg.opening(env.Self())
	env.Emit(AccountOpened{Balance: b.balance})
	b.schedule(env)
}

// schedule sets the timer of the next random transfer, if the branch makes
// random transfers.
func (b *bank) schedule(env node.Env) {
	if !b.cfg.NoTransfers {
		env.After(b.cfg.transfers().draw(env.Rand()), payday{})
	}
}

// payRandom sends a random amount, never more than the balance, to a random
// other branch, then schedules the next transfer.
func (b *bank) payRandom(env node.Env) {
	peers := others(env)
	if b.balance > 0 && len(peers) > 0 {
		to := peers[env.Rand().IntN(len(peers))]
		amount := 1 + env.Rand().Int64N(min(b.balance, b.cfg.maxAmount()))
		b.transfer(env, to, amount)
	}
	b.schedule(env)
}

// pay serves a Pay request.
func (b *bank) pay(env node.Env, req node.RequestID, p Pay) {
	valid := p.To != env.Self() && slices.Contains(env.Group(), p.To)
	if !valid || p.Amount <= 0 || p.Amount > b.balance {
		env.Log().Warn("snapshot: payment refused", "to", p.To, "amount", p.Amount, "balance", b.balance)
		env.Reply(req, Paid{Balance: b.balance})
		return
	}
	b.transfer(env, p.To, p.Amount)
	env.Reply(req, Paid{Amount: p.Amount, Balance: b.balance})
}

// transfer debits amount and sends it to another branch.
func (b *bank) transfer(env node.Env, to node.ID, amount int64) {
	b.balance -= amount
	env.Send(to, Transfer{Amount: amount})
}

// deposit credits a transfer that arrived.
func (b *bank) deposit(t Transfer) { b.balance += t.Amount }

// others lists the group without the process itself, in group order: its
// outgoing channels, and its incoming ones (the graph is complete).
func others(env node.Env) []node.ID {
	var out []node.ID
	for _, id := range env.Group() {
		if id != env.Self() {
			out = append(out, id)
		}
	}
	return out
}
