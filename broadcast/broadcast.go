// Package broadcast holds the broadcast and multicast algorithms, each a
// node.Process, with the checkers of the properties they promise:
//
//   - best-effort broadcast (BestEffort), eager reliable broadcast
//     (Reliable), FIFO-order reliable broadcast (FIFO) and waiting causal
//     broadcast (Causal), as in Cachin, Guerraoui and Rodrigues,
//     "Introduction to Reliable and Secure Distributed Programming" (2nd ed.,
//     2011), chapter 3;
//   - total-order broadcast by a fixed sequencer (Sequencer) and by
//     Lamport's timestamps (TotalOrder);
//   - gossip in push, pull and push-pull forms (Gossip).
//
// Every algorithm but gossip takes the same request, Broadcast (TotalOrder
// its older name, Multicast), and emits the same two events, Sent when a
// process broadcasts and Delivered when it delivers, so that one checker
// (Check and its presets) judges them all.
package broadcast

import (
	"cmp"
	"fmt"

	"github.com/synod-dev/synod/node"
)

// Broadcast is the request op that asks a process to broadcast Payload to the
// whole group. The request is answered with the Delivered event of the
// message once the broadcaster itself delivers it.
type Broadcast struct {
	Payload string
}

// Sent is emitted by a process when it broadcasts a message, just before it
// sends anything, so that checkers can place the broadcast in the run's
// ground-truth order. (Sender, TS) is the message's identity: TS is Lamport's
// timestamp T_m in the totally ordered multicast (T_m:P_i), and the sender's
// own sequence number, from 1, in the other algorithms.
type Sent struct {
	Sender  node.ID
	TS      uint64
	Payload string
}

// Delivered is emitted when a process delivers a message to its application
// (Cachin's ⟨Deliver | s, m⟩; in Lamport's multicast, when the message leaves
// the head of the request queue). (Sender, TS) names the message as in Sent.
// It is also the reply to the broadcaster's request.
type Delivered struct {
	Sender  node.ID
	TS      uint64
	Payload string
}

// msgID is a message's identity: its sender and the sender's number for it
// (Lamport's T_m:P_i in the totally ordered multicast). Ordering by number
// and then by sender (Lamport's arbitrary total order ≺ on processes, here
// the rank) gives the total order "⇒" of the 1978 paper.
type msgID struct {
	TS     uint64
	Sender node.ID
}

// compare orders messages by number, then by sender.
func (a msgID) compare(b msgID) int {
	if c := cmp.Compare(a.TS, b.TS); c != 0 {
		return c
	}
	return cmp.Compare(a.Sender, b.Sender)
}

// String formats the identity as Lamport writes it, "T:P" ("7:n2").
func (a msgID) String() string { return fmt.Sprintf("%d:%v", a.TS, a.Sender) }

// bebBroadcast is best-effort broadcast's send loop (Alg. 3.1): m to every
// other process of the group. The caller delivers to itself, without a
// message.
func bebBroadcast(env node.Env, m node.Message) {
	for _, q := range env.Group() {
		if q != env.Self() {
			env.Send(q, m)
		}
	}
}

// replies remembers which request asked for each of a process's own
// broadcasts, to answer it when the process delivers the message.
type replies map[msgID]node.RequestID

// deliver emits Delivered for m and, if m is one of this process's own
// broadcasts, answers the request that asked for it.
func (r replies) deliver(env node.Env, id msgID, payload string) {
	d := Delivered{Sender: id.Sender, TS: id.TS, Payload: payload}
	env.Emit(d)
	if req, ok := r[id]; ok {
		delete(r, id)
		env.Reply(req, d)
	}
}
