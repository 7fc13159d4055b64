package snapshot

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// GlobalState is one snapshot's recorded global state, assembled from what
// the processes emitted: the recorded state (balance) of every process and
// the recorded state of every channel. A process or channel whose recording
// is not in the trace is missing from the maps.
type GlobalState struct {
	ID ID
	// Nodes is the size of the group: a complete state has Nodes balances
	// and Nodes·(Nodes−1) channel states.
	Nodes int
	// Balances are the recorded balances, by process.
	Balances map[node.ID]int64
	// Channels are the recorded channel states: the transfers in flight.
	Channels map[Channel][]Transfer
}

// Complete reports whether every process and every channel was recorded.
func (g GlobalState) Complete() bool {
	return len(g.Balances) == g.Nodes && len(g.Channels) == g.Nodes*(g.Nodes-1)
}

// Total is the money in the recorded state: the recorded balances plus the
// transfers in the recorded channel states.
func (g GlobalState) Total() int64 {
	var total int64
	for _, b := range g.Balances {
		total += b
	}
	for _, c := range g.Channels {
		total += sum(c)
	}
	return total
}

// String formats the state on one line: the balances, the channels with
// transfers in them, the total, and what is missing if incomplete —
// "n1#1: n0 0, n1 0; n0→n1 [1]; total 1".
func (g GlobalState) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%v:", g.ID)
	for i, id := range sortedKeys(g.Balances) {
		sep := ","
		if i == 0 {
			sep = ""
		}
		fmt.Fprintf(&b, "%s %v %d", sep, id, g.Balances[id])
	}
	chans := make([]Channel, 0, len(g.Channels))
	for c := range g.Channels {
		chans = append(chans, c)
	}
	slices.SortFunc(chans, Channel.compare)
	for _, c := range chans {
		if len(g.Channels[c]) > 0 {
			fmt.Fprintf(&b, "; %v %s", c, amounts(g.Channels[c]))
		}
	}
	fmt.Fprintf(&b, "; total %d", g.Total())
	if !g.Complete() {
		fmt.Fprintf(&b, " (incomplete: %d of %d processes, %d of %d channels recorded)",
			len(g.Balances), g.Nodes, len(g.Channels), g.Nodes*(g.Nodes-1))
	}
	return b.String()
}

// GlobalStates assembles the recorded global state of every snapshot in a
// trace, in the order the snapshots were first recorded. Where a process
// recorded a state or channel more than once for a snapshot (after a
// restart), the first recording counts.
func GlobalStates(t *trace.Trace) []GlobalState {
	r := read(t)
	out := make([]GlobalState, len(r.snapshots))
	for i, s := range r.snapshots {
		out[i] = s.globalState(r.nodes)
	}
	return out
}

// run is what the checkers and measurements read from a trace.
type run struct {
	t     *trace.Trace
	nodes int
	// opening is each process's first opening balance.
	opening map[node.ID]int64
	// snapshots lists the snapshots in order of first appearance; byID
	// indexes them.
	snapshots []*snap
	byID      map[ID]*snap
	// transfers lists the Transfer messages in the order they were sent.
	transfers []*transferMsg
	// requested counts the Initiate requests each process received.
	requested map[node.ID]int
	// crashes counts Crash events; lost counts dropped messages by type
	// name ("Marker"); duplicated counts extra deliveries of transfers.
	crashes    int
	lost       map[string]int
	duplicated int
}

// snap is one snapshot as the trace shows it.
type snap struct {
	id ID
	// recorded is each process's StateRecorded event, and balances the
	// balance it recorded.
	recorded map[node.ID]*trace.Event
	balances map[node.ID]int64
	// channels is each channel's ChannelRecorded event, and states the
	// transfers recorded.
	channels map[Channel]*trace.Event
	states   map[Channel][]Transfer
	// markers counts the markers sent; markerDelay is the longest time a
	// marker took from its Send to its first Deliver.
	markers     int
	markerDelay time.Duration
	// last is the time of the last StateRecorded or ChannelRecorded event.
	last time.Duration
}

// transferMsg is one Transfer message: its Send, its first Deliver (nil if
// none) and whether a copy was dropped.
type transferMsg struct {
	send    *trace.Event
	deliver *trace.Event
	dropped bool
	amount  int64
}

func (m *transferMsg) channel() Channel { return Channel{From: m.send.Node, To: m.send.Peer} }

func read(t *trace.Trace) *run {
	r := &run{t: t, nodes: t.Nodes, opening: map[node.ID]int64{}, byID: map[ID]*snap{},
		requested: map[node.ID]int{}, lost: map[string]int{}}
	byMsg := map[uint64]*transferMsg{}
	markerSent := map[uint64]*trace.Event{}
	for i := range t.Events {
		e := &t.Events[i]
		switch e.Kind {
		case trace.Crash:
			r.crashes++
		case trace.Drop:
			r.lost[node.ShortName(e.Type)]++
			if m := byMsg[e.MsgID]; m != nil {
				m.dropped = true
			}
		case trace.Request:
			if _, ok := e.Value.(Initiate); ok {
				r.requested[e.Node]++
			}
		case trace.Send:
			switch v := e.Value.(type) {
			case Transfer:
				m := &transferMsg{send: e, amount: v.Amount}
				byMsg[e.MsgID] = m
				r.transfers = append(r.transfers, m)
			case Marker:
				r.get(v.Snapshot).markers++
				markerSent[e.MsgID] = e
			}
		case trace.Deliver:
			switch v := e.Value.(type) {
			case Transfer:
				switch m := byMsg[e.MsgID]; {
				case m == nil:
				case m.deliver == nil:
					m.deliver = e
				default:
					r.duplicated++
				}
			case Marker:
				if s := markerSent[e.MsgID]; s != nil {
					delete(markerSent, e.MsgID)
					sn := r.get(v.Snapshot)
					sn.markerDelay = max(sn.markerDelay, e.Time-s.Time)
				}
			}
		case trace.Emit:
			switch v := e.Value.(type) {
			case AccountOpened:
				if _, ok := r.opening[e.Node]; !ok {
					r.opening[e.Node] = v.Balance
				}
			case StateRecorded:
				s := r.get(v.Snapshot)
				if _, ok := s.recorded[e.Node]; !ok {
					s.recorded[e.Node], s.balances[e.Node] = e, v.Balance
					s.last = max(s.last, e.Time)
				}
			case ChannelRecorded:
				s := r.get(v.Snapshot)
				c := Channel{From: v.From, To: e.Node}
				if _, ok := s.channels[c]; !ok {
					s.channels[c], s.states[c] = e, v.Messages
					s.last = max(s.last, e.Time)
				}
			}
		}
	}
	return r
}

// get returns the snapshot with the given ID, adding it if new.
func (r *run) get(id ID) *snap {
	s := r.byID[id]
	if s == nil {
		s = &snap{id: id, recorded: map[node.ID]*trace.Event{}, balances: map[node.ID]int64{},
			channels: map[Channel]*trace.Event{}, states: map[Channel][]Transfer{}}
		r.byID[id] = s
		r.snapshots = append(r.snapshots, s)
	}
	return s
}

func (s *snap) globalState(nodes int) GlobalState {
	g := GlobalState{ID: s.id, Nodes: nodes, Balances: map[node.ID]int64{}, Channels: map[Channel][]Transfer{}}
	for id, b := range s.balances {
		g.Balances[id] = b
	}
	for c, ts := range s.states {
		g.Channels[c] = ts
	}
	return g
}

// complete reports whether every process and channel recorded s.
func (s *snap) complete(nodes int) bool {
	return len(s.recorded) == nodes && len(s.channels) == nodes*(nodes-1)
}

// group lists the processes 0..nodes-1.
func (r *run) group() []node.ID {
	g := make([]node.ID, r.nodes)
	for i := range g {
		g[i] = node.ID(i)
	}
	return g
}

// openingTotal is the money the branches opened with, and the processes
// whose opening is not in the trace.
func (r *run) openingTotal() (int64, []node.ID) {
	var total int64
	var missing []node.ID
	for _, id := range r.group() {
		b, ok := r.opening[id]
		if !ok {
			missing = append(missing, id)
		}
		total += b
	}
	return total, missing
}
