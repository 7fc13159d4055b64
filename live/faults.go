package live

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/synod-dev/synod/node"
)

// Faults is a node's switchboard of injected faults, set through the admin
// endpoint and consulted by the node on every message in and out. It is safe
// for concurrent use.
type Faults struct {
	mu     sync.Mutex
	out    map[node.ID]bool          // links self->peer cut
	in     map[node.ID]bool          // links peer->self cut
	delay  map[node.ID]time.Duration // extra delay on self->peer
	loss   map[node.ID]float64       // loss probability on self->peer
	paused bool
	rng    *rand.Rand
}

// NewFaults returns a switchboard with every link healthy. The seed drives
// random loss.
func NewFaults(seed uint64) *Faults {
	return &Faults{out: map[node.ID]bool{}, in: map[node.ID]bool{}, delay: map[node.ID]time.Duration{},
		loss: map[node.ID]float64{}, rng: rand.New(rand.NewPCG(seed, 0x5eed))}
}

// Direction selects which way of a link a fault applies to.
type Direction string

// Directions of a link fault.
const (
	Out  Direction = "out"  // messages this node sends to the peer
	In   Direction = "in"   // messages this node receives from the peer
	Both Direction = "both" // both ways
)

// ParseDirection accepts "out", "in" or "both" ("" means both).
func ParseDirection(s string) (Direction, error) {
	switch Direction(s) {
	case Out, In, Both:
		return Direction(s), nil
	case "":
		return Both, nil
	}
	return "", fmt.Errorf("bad direction %q: want out, in or both", s)
}

// Cut cuts the links to the given peers in direction d.
func (f *Faults) Cut(peers []node.ID, d Direction) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range peers {
		if d == Out || d == Both {
			f.out[p] = true
		}
		if d == In || d == Both {
			f.in[p] = true
		}
	}
}

// Heal restores the links to the given peers (all peers if none given) and
// removes their delay and loss.
func (f *Faults) Heal(peers []node.ID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(peers) == 0 {
		clear(f.out)
		clear(f.in)
		clear(f.delay)
		clear(f.loss)
		return
	}
	for _, p := range peers {
		delete(f.out, p)
		delete(f.in, p)
		delete(f.delay, p)
		delete(f.loss, p)
	}
}

// SetDelay adds d of delay to messages sent to the given peers.
func (f *Faults) SetDelay(peers []node.ID, d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, p := range peers {
		f.delay[p] = d
	}
}

// SetLoss makes messages sent to the given peers lost with probability p.
func (f *Faults) SetLoss(peers []node.ID, p float64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, peer := range peers {
		f.loss[peer] = p
	}
}

// SetPaused pauses or resumes the node: while paused it takes no steps;
// what arrives meanwhile waits, and is handled in order on resume.
func (f *Faults) SetPaused(p bool) {
	f.mu.Lock()
	f.paused = p
	f.mu.Unlock()
}

// Paused reports whether the node is paused.
func (f *Faults) Paused() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.paused
}

// Outbound decides the fate of a message to peer: dropped (with the reason)
// or sent after delay.
func (f *Faults) Outbound(peer node.ID) (drop string, delay time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.out[peer] {
		return "partitioned", 0
	}
	if p := f.loss[peer]; p > 0 && f.rng.Float64() < p {
		return "loss", 0
	}
	return "", f.delay[peer]
}

// Inbound reports whether a message from peer must be dropped.
func (f *Faults) Inbound(peer node.ID) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.in[peer]
}

// State is a snapshot of the switchboard, for the admin endpoint.
type State struct {
	CutOut []node.ID          `json:"cut_out"`
	CutIn  []node.ID          `json:"cut_in"`
	Delay  map[string]string  `json:"delay"`
	Loss   map[string]float64 `json:"loss"`
	Paused bool               `json:"paused"`
}

// Snapshot returns the current faults.
func (f *Faults) Snapshot() State {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := State{Delay: map[string]string{}, Loss: map[string]float64{}, Paused: f.paused}
	for p := range f.out {
		s.CutOut = append(s.CutOut, p)
	}
	for p := range f.in {
		s.CutIn = append(s.CutIn, p)
	}
	slices.Sort(s.CutOut)
	slices.Sort(s.CutIn)
	for p, d := range f.delay {
		s.Delay[p.String()] = d.String()
	}
	for p, l := range f.loss {
		s.Loss[p.String()] = l
	}
	return s
}
