package broadcast

import "github.com/synod-dev/synod/node"

// BestEffortDescription is the one-line summary of best-effort broadcast.
const BestEffortDescription = "Best-effort broadcast (Cachin et al. Alg. 3.1 \"Basic Broadcast\"): send the message to every process; N−1 messages"

// TextbookBestEffortMessages is the cost of one best-effort broadcast in a
// group of n: one message to each other process, n−1 (the broadcaster
// delivers its own copy without a message).
func TextbookBestEffortMessages(n int) float64 { return float64(n - 1) }

// bebMessage is Alg. 3.1's message m on its perfect link. The link names
// the sender; Seq is the sender's number for m, which with the sender makes
// its identity.
type bebMessage struct {
	Seq     uint64
	Payload string
}

// BestEffortMessages returns one zero value of every message, emitted
// event, request op and reply type of best-effort broadcast, for
// node.NewRegistry.
func BestEffortMessages() []any {
	return []any{bebMessage{}, Broadcast{}, Sent{}, Delivered{}}
}

// BestEffortConfig configures NewBestEffort.
type BestEffortConfig struct {
	// NoSelf selects a deliberately broken variant whose broadcaster skips
	// itself in the loop over the group and so never delivers its own
	// message: validity fails for every correct broadcaster.
	NoSelf bool
}

// BestEffort is one process of best-effort broadcast, Cachin, Guerraoui and
// Rodrigues, "Introduction to Reliable and Secure Distributed Programming"
// (2nd ed., 2011), §3.2, Algorithm 3.1 "Basic Broadcast": to broadcast m,
// send m over a perfect link to every process, the broadcaster included;
// deliver whatever a link delivers.
//
// It promises validity (if a correct process broadcasts m, every correct
// process eventually delivers m), no duplication and no creation, on perfect
// links. It promises no agreement: if the broadcaster crashes while sending,
// some correct processes deliver m and others never do.
//
// The perfect links of the book are the simulator's links plus the duplicate
// elimination of Alg. 2.2 (the delivered set below); they do not retransmit,
// so a lost message stays lost and validity needs links that lose nothing.
// The algorithm keeps no durable state: it assumes crash-stop processes (a
// restarted process would number its broadcasts from 1 again).
type BestEffort struct {
	cfg BestEffortConfig
	// lsn numbers this process's broadcasts.
	lsn uint64
	// delivered holds the messages delivered so far: a duplicate a link
	// delivers again is dropped (Alg. 2.2's delivered set).
	delivered map[msgID]bool
	requests  replies
}

// NewBestEffort returns a process of best-effort broadcast (Cachin et al.
// Alg. 3.1), or with cfg.NoSelf its deliberately broken variant.
func NewBestEffort(cfg BestEffortConfig) node.Process {
	return &BestEffort{cfg: cfg, delivered: map[msgID]bool{}, requests: replies{}}
}

// Start implements node.Process; the algorithm keeps no durable state.
func (p *BestEffort) Start(env node.Env) {}

// Timeout implements node.Process; the algorithm sets no timers.
func (p *BestEffort) Timeout(env node.Env, timer any) {}

// Request implements node.Process: a Broadcast op is ⟨beb, Broadcast | m⟩.
func (p *BestEffort) Request(env node.Env, req node.Request) {
	op, ok := req.Op.(Broadcast)
	if !ok {
		env.Log().Warn("best-effort: unknown request op", "op", node.TypeName(req.Op))
		return
	}
	p.lsn++
	id := msgID{TS: p.lsn, Sender: env.Self()}
	p.requests[id] = req.ID
	env.Emit(Sent{Sender: id.Sender, TS: id.TS, Payload: op.Payload})
	bebBroadcast(env, bebMessage{Seq: id.TS, Payload: op.Payload})
	if !p.cfg.NoSelf {
		p.deliver(env, id, op.Payload)
	}
}

// Receive implements node.Process: ⟨pl, Deliver | p, m⟩ triggers
// ⟨beb, Deliver | p, m⟩.
func (p *BestEffort) Receive(env node.Env, from node.ID, msg node.Message) {
	m, ok := msg.(bebMessage)
	if !ok {
		env.Log().Warn("best-effort: unknown message", "from", from, "type", node.TypeName(msg))
		return
	}
	p.deliver(env, msgID{TS: m.Seq, Sender: from}, m.Payload)
}

// deliver delivers m unless the link already delivered it.
func (p *BestEffort) deliver(env node.Env, id msgID, payload string) {
	if p.delivered[id] {
		return
	}
	p.delivered[id] = true
	p.requests.deliver(env, id, payload)
}
