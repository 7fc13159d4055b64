package snapshot

import (
	"slices"

	"github.com/synod-dev/synod/node"
)

// ChandyLamportDescription is the one-line summary of the algorithm, for
// catalogs and reports.
const ChandyLamportDescription = "Chandy–Lamport snapshots (1985): markers over FIFO channels, any process may initiate, concurrent snapshots told apart by ID; a bank keeps transferring money meanwhile"

// TextbookMarkers is the number of markers one snapshot sends in a group of
// n processes on a complete graph: one along every directed channel, E =
// n(n−1) (Chandy & Lamport §3.2: each process sends one marker along each
// of its outgoing channels, once).
func TextbookMarkers(n int) int { return n * (n - 1) }

// Config configures NewChandyLamport: the bank the snapshots are taken of,
// and the deliberately broken variants.
type Config struct {
	// InitialBalance is every branch's opening balance (zero:
	// DefaultInitialBalance).
	InitialBalance int64
	// Balances, if set, gives the opening balances by process, overriding
	// InitialBalance for the processes it covers: process i opens with
	// Balances[i]. Chandy & Lamport's single-token system is Balances
	// {1, 0} with NoTransfers.
	Balances []int64
	// Transfers is the time between a branch's random transfers (zero:
	// DefaultTransfers).
	Transfers Interval
	// NoTransfers turns the random transfers off: money moves only when a
	// Pay request says so.
	NoTransfers bool
	// MaxAmount bounds a random transfer (zero: DefaultMaxAmount).
	MaxAmount int64

	// NoMarkerWait selects a deliberately broken variant that records every
	// incoming channel as empty as soon as it records its own state,
	// without waiting for the channel's marker: the transfers in flight
	// across the cut are in no recorded state, and money goes missing.
	// Check catches it (conservation, recorded state).
	NoMarkerWait bool
	// RecordLate selects a deliberately broken variant that, on the first
	// marker of a snapshot, does not record its state at once but first
	// processes the next transfer to arrive along that marker's channel —
	// a transfer its sender made after recording its own state. The
	// transfer's receipt falls inside the cut and its sending outside.
	// Check catches it (consistent cut, conservation).
	RecordLate bool
}

func (c Config) opening(id node.ID) int64 {
	if int(id) >= 0 && int(id) < len(c.Balances) {
		return c.Balances[id]
	}
	if c.InitialBalance == 0 {
		return DefaultInitialBalance
	}
	return c.InitialBalance
}

func (c Config) transfers() Interval {
	if c.Transfers == (Interval{}) {
		return DefaultTransfers
	}
	return c.Transfers
}

func (c Config) maxAmount() int64 {
	if c.MaxAmount <= 0 {
		return DefaultMaxAmount
	}
	return c.MaxAmount
}

// ChandyLamport is one process of Chandy and Lamport's global-state
// detection algorithm (K. M. Chandy and L. Lamport, "Distributed Snapshots:
// Determining Global States of Distributed Systems", ACM TOCS 3(1), 1985),
// superimposed on a bank branch (the underlying computation, in bank.go).
//
// Channels are FIFO and error-free and every process has a channel to every
// other (§2). A snapshot starts at any process, which records its state and
// then follows the Marker-Sending Rule; the others follow the
// Marker-Receiving Rule (§3.2):
//
//   - Marker-Sending Rule for a process p. For each channel c directed away
//     from p, p sends one marker along c after p records its state and
//     before p sends further messages along c.
//   - Marker-Receiving Rule for a process q. On receiving a marker along a
//     channel c: if q has not recorded its state, q records its state and
//     records the state of c as the empty sequence; otherwise q records the
//     state of c as the sequence of messages received along c after q's
//     state was recorded and before q received the marker along c.
//
// A process's part of a snapshot is done when it has received a marker
// along every incoming channel (§3.3): in a strongly connected graph with
// reliable channels that happens at every process, after one marker per
// channel, E in all. The recorded global state need not be one the system
// passed through, but it is one it could have passed through: reachable
// from the initial state, and the final state reachable from it (§4).
// For the bank, that means the recorded balances and the transfers in the
// recorded channel states add up to the money the branches opened with.
//
// Chandy and Lamport let one or more processes start a snapshot by
// recording their states spontaneously. Here each Initiate request starts a
// snapshot of its own, named by an ID that every marker carries, so that
// snapshots from different initiators, or several from one, run at once
// without mixing, each recorded on its own (the usual extension). The
// processes emit what they record (StateRecorded, ChannelRecorded) rather
// than collect it at the initiator (§3.3's "collecting the recorded
// information" is left to the observer: GlobalStates). The algorithm
// assumes what §2 assumes: a lost marker leaves its snapshot unfinished, a
// marker overtaken by a later message breaks the cut, and a crash loses the
// process's recording (and, for the bank, its money).
type ChandyLamport struct {
	cfg  Config
	bank bank

	// recording lists, in the order this process recorded its state for
	// them, the snapshots some of whose incoming channels it is still
	// recording.
	recording []*localSnapshot
	// finished holds the snapshots whose every incoming channel this
	// process has recorded: a marker for one of them is a stale copy.
	finished map[ID]bool
	// initiated counts the snapshots this process has initiated: the Seq
	// of the last one.
	initiated int
	// postponed lists, for the record-late variant, the snapshots whose
	// state recording waits for one more transfer.
	postponed []*postponement
}

// localSnapshot is one process's part of a snapshot while it is recording
// its incoming channels.
type localSnapshot struct {
	id ID
	// request is the Initiate request, at the initiator (initiated set).
	request   node.RequestID
	initiated bool
	// channels holds the state recorded so far of each incoming channel
	// whose marker has not arrived yet, by sender: the transfers received
	// along it since this process recorded its state.
	channels map[node.ID][]Transfer
}

// postponement is the record-late variant's deferred state recording: the
// first marker of snapshot id arrived along the channel from `along`, and
// the process waits for one more transfer on it before recording. markers
// lists the channels whose markers have arrived meanwhile.
type postponement struct {
	id      ID
	along   node.ID
	markers []node.ID
}

// NewChandyLamport returns a process of the Chandy–Lamport algorithm over a
// bank branch, or one of its deliberately broken variants.
func NewChandyLamport(cfg Config) node.Process {
	return &ChandyLamport{cfg: cfg, bank: bank{cfg: cfg}, finished: map[ID]bool{}}
}

// Start implements node.Process: the branch opens. The algorithm keeps no
// durable state.
func (p *ChandyLamport) Start(env node.Env) { p.bank.open(env) }

// Request implements node.Process: Initiate starts a snapshot here, Pay
// makes a transfer.
func (p *ChandyLamport) Request(env node.Env, req node.Request) {
	switch op := req.Op.(type) {
	case Initiate:
		p.initiate(env, req.ID)
	case Pay:
		p.bank.pay(env, req.ID, op)
	default:
		env.Log().Warn("snapshot: unknown request op", "op", node.TypeName(req.Op))
	}
}

// Timeout implements node.Process: the branch's next random transfer.
func (p *ChandyLamport) Timeout(env node.Env, timer any) {
	if _, ok := timer.(payday); ok {
		p.bank.payRandom(env)
	}
}

// Receive implements node.Process, dispatching to one handler per message.
func (p *ChandyLamport) Receive(env node.Env, from node.ID, msg node.Message) {
	switch m := msg.(type) {
	case Transfer:
		p.onTransfer(env, from, m)
	case Marker:
		p.onMarker(env, from, m)
	default:
		env.Log().Warn("snapshot: unknown message", "from", from, "type", node.TypeName(msg))
	}
}

// initiate starts a new snapshot: the initiator records its state, which
// sets off the Marker-Sending Rule, and records all its incoming channels.
func (p *ChandyLamport) initiate(env node.Env, req node.RequestID) {
	p.initiated++
	s := p.recordState(env, ID{Initiator: env.Self(), Seq: p.initiated})
	s.request, s.initiated = req, true
	p.finishIfDone(env, s)
}

// onTransfer is the bank's receipt of a transfer, observed by the snapshot
// algorithm: a transfer that arrives along a channel being recorded joins
// that channel's recorded state.
func (p *ChandyLamport) onTransfer(env node.Env, from node.ID, m Transfer) {
	p.bank.deposit(m)
	for _, s := range p.recording {
		if c, recording := s.channels[from]; recording {
			s.channels[from] = append(c, m)
		}
	}
	if p.cfg.RecordLate {
		p.recordPostponed(env, from)
	}
}

// onMarker is the Marker-Receiving Rule.
func (p *ChandyLamport) onMarker(env node.Env, from node.ID, m Marker) {
	if p.finished[m.Snapshot] {
		return // a copy of a marker already received
	}
	s := p.find(m.Snapshot)
	if s == nil {
		if p.cfg.RecordLate {
			p.postpone(m.Snapshot, from)
			return
		}
		// q has not recorded its state: q records its state, and the
		// state of c is what it received along c since: nothing.
		s = p.recordState(env, m.Snapshot)
	}
	p.recordChannel(env, s, from)
	p.finishIfDone(env, s)
}

// recordState records this process's state for snapshot id and then
// follows the Marker-Sending Rule; from now on every incoming channel is
// recorded until its marker arrives.
func (p *ChandyLamport) recordState(env node.Env, id ID) *localSnapshot {
	env.Emit(StateRecorded{Snapshot: id, Balance: p.bank.balance})
	peers := others(env)
	// Marker-Sending Rule: one marker along each outgoing channel, after
	// recording and before any further message along it.
	for _, q := range peers {
		env.Send(q, Marker{Snapshot: id})
	}
	s := &localSnapshot{id: id, channels: map[node.ID][]Transfer{}}
	for _, q := range peers {
		s.channels[q] = nil
	}
	p.recording = append(p.recording, s)
	if p.cfg.NoMarkerWait {
		// Broken: every channel recorded at once, as empty.
		for _, q := range peers {
			p.recordChannel(env, s, q)
		}
	}
	return s
}

// recordChannel ends the recording of the channel from `from`: its state is
// what arrived along it since this process recorded its state. A marker on
// a channel already recorded (a copy) changes nothing.
func (p *ChandyLamport) recordChannel(env node.Env, s *localSnapshot, from node.ID) {
	c, recording := s.channels[from]
	if !recording {
		return
	}
	delete(s.channels, from)
	env.Emit(ChannelRecorded{Snapshot: s.id, From: from, Messages: c})
}

// finishIfDone ends this process's part of snapshot s once every incoming
// channel is recorded (§3.3); the initiator then answers its Initiate
// request with the snapshot's ID.
func (p *ChandyLamport) finishIfDone(env node.Env, s *localSnapshot) {
	if len(s.channels) > 0 {
		return
	}
	p.recording = slices.DeleteFunc(p.recording, func(x *localSnapshot) bool { return x == s })
	p.finished[s.id] = true
	if s.initiated {
		env.Reply(s.request, s.id)
	}
}

// find returns the snapshot being recorded with the given ID, or nil.
func (p *ChandyLamport) find(id ID) *localSnapshot {
	for _, s := range p.recording {
		if s.id == id {
			return s
		}
	}
	return nil
}

// postpone is the record-late variant's Marker-Receiving Rule: the first
// marker of a snapshot defers the recording; later ones are remembered.
func (p *ChandyLamport) postpone(id ID, from node.ID) {
	for _, d := range p.postponed {
		if d.id == id {
			if !slices.Contains(d.markers, from) {
				d.markers = append(d.markers, from)
			}
			return
		}
	}
	p.postponed = append(p.postponed, &postponement{id: id, along: from, markers: []node.ID{from}})
}

// recordPostponed records, for the record-late variant, the state of every
// snapshot that waited for a transfer along the channel from `from` — just
// after crediting it — with the channels whose markers came meanwhile
// recorded as empty.
func (p *ChandyLamport) recordPostponed(env node.Env, from node.ID) {
	var due []*postponement
	p.postponed = slices.DeleteFunc(p.postponed, func(d *postponement) bool {
		if d.along == from {
			due = append(due, d)
			return true
		}
		return false
	})
	for _, d := range due {
		s := p.recordState(env, d.id)
		for _, c := range d.markers {
			p.recordChannel(env, s, c)
		}
		p.finishIfDone(env, s)
	}
}
