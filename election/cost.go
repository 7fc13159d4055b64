package election

import (
	"fmt"
	"slices"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// Episode is one election as the costs count it: the run from an
// ElectionStarted, when no election was under way, to the moment every live
// process follows the same live coordinator, which follows itself, and no
// election message is in flight. Elections that overlap (several processes
// suspect the coordinator at once, or a process called out by an ELECTION
// holds its own) make one episode.
type Episode struct {
	// Start and End are the times of the first ElectionStarted and of the
	// agreement; End is negative if the run ended first.
	Start, End time.Duration
	// Leader is the coordinator agreed on at the end.
	Leader node.ID
	// Cause says what set the election off.
	Cause Cause
	// Messages counts the election messages sent (bully: ELECTION, OK,
	// COORDINATOR; ring: ELECTION, COORDINATOR, including sends to crashed
	// processes that had to be skipped); Acks counts the ring's
	// acknowledgements. Heartbeats are not counted.
	Messages, Acks int
}

// Cause is what set an election off, as the trace shows it.
type Cause string

// The causes of elections.
const (
	// CauseBoot: the group has never agreed on a coordinator yet; every
	// process holds an election when it first starts.
	CauseBoot Cause = "boot"
	// CauseCrash: the coordinator last agreed on is down.
	CauseCrash Cause = "crash"
	// CauseRestart: a process that has just come back holds an election.
	CauseRestart Cause = "restart"
	// CauseOther: anything else, such as a coordinator suspected wrongly
	// (its heartbeats lost or late) or cut off by a partition.
	CauseOther Cause = "other"
)

// Measure is what Episodes reads from a run beside the episodes: how long
// each election took after its coordinator crashed, and how long two or more
// processes at once believed they were coordinator.
type Measure struct {
	Episodes []Episode
	// Reelection lists, for every crash of the agreed coordinator, the time
	// from the crash until every live process followed a new one.
	Reelection []time.Duration
	// TwoLeaders is the total time during which two or more live processes
	// each believed itself coordinator.
	TwoLeaders time.Duration
}

// The names of the election messages, as the trace records them.
var (
	bullyTypes = names(election{}, answer{}, coordinator{})
	ringTypes  = names(ringElection{}, ringCoordinator{})
	ackTypes   = names(ack{})
)

func names(prototypes ...any) []string {
	reg := node.NewRegistry(prototypes...)
	return reg.Names()
}

// MeasureBully reads the elections of a bully run.
func MeasureBully(t *trace.Trace) Measure { return measure(t, bullyTypes) }

// MeasureRing reads the elections of a ring run.
func MeasureRing(t *trace.Trace) Measure { return measure(t, ringTypes) }

// measure replays the trace, counting the messages of the given types.
func measure(t *trace.Trace, types []string) Measure {
	n := t.Nodes
	for i := range t.Events {
		n = max(n, int(t.Events[i].Node)+1)
	}
	up, paused := make([]bool, n), make([]bool, n)
	started := make([]time.Duration, n) // when each process last started
	belief := make([]node.ID, n)        // the coordinator each process follows, or None
	for p := range belief {
		belief[p] = node.None
	}
	inflight := map[uint64]bool{} // election messages and acks sent, not yet delivered or dropped
	agreement := func() node.ID {
		l := node.None
		for p := range n {
			if !up[p] || paused[p] {
				continue
			}
			switch b := belief[p]; {
			case b == node.None:
				return node.None
			case l == node.None:
				l = b
			case b != l:
				return node.None
			}
		}
		if l == node.None || int(l) >= n || !up[l] || paused[l] || belief[l] != l {
			return node.None
		}
		return l
	}
	var (
		m                 Measure
		open              *Episode
		agreed            = node.None // the current agreement
		everAgreed        bool
		lastAgreed        = node.None
		crashed           = node.None // the agreed coordinator that crashed, awaiting a successor
		crashAt, previous time.Duration
		// quietSince is when the open episode's agreement was reached
		// with no election message in flight (-1: it is not). The episode
		// ends there once time moves on with nothing sent meanwhile: a
		// handler's sends are recorded after the delivery that ran it, at
		// the same time.
		quietSince = time.Duration(-1)
	)
	closeEpisode := func() {
		open.End, open.Leader = quietSince, agreed
		m.Episodes = append(m.Episodes, *open)
		open, quietSince = nil, -1
	}
	for i := range t.Events {
		e := &t.Events[i]
		if open != nil && quietSince >= 0 && e.Time > quietSince {
			closeEpisode()
		}
		// Two coordinators: count the time since the previous event.
		leaders := 0
		for p := range n {
			if up[p] && !paused[p] && belief[p] == node.ID(p) {
				leaders++
			}
		}
		if leaders >= 2 {
			m.TwoLeaders += e.Time - previous
		}
		previous = e.Time
		p := e.Node
		if p < 0 && e.Kind.IsProcess() {
			continue
		}
		switch e.Kind {
		case trace.Start:
			up[p], belief[p], started[p] = true, node.None, e.Time
		case trace.Restart:
			up[p] = true
		case trace.Crash:
			up[p], paused[p], belief[p] = false, false, node.None
			if p == lastAgreed && crashed == node.None {
				crashed, crashAt = p, e.Time
			}
		case trace.Pause:
			paused[p] = true
		case trace.Resume:
			paused[p] = false
		case trace.Send:
			acked := slices.Contains(ackTypes, e.Type)
			if !acked && !slices.Contains(types, e.Type) {
				break
			}
			inflight[e.MsgID] = true
			if open != nil {
				if acked {
					open.Acks++
				} else {
					open.Messages++
				}
			}
		case trace.Deliver, trace.Drop:
			delete(inflight, e.MsgID)
		case trace.Emit:
			switch v := e.Value.(type) {
			case ElectionStarted:
				belief[p] = node.None
				if open == nil {
					cause := CauseOther
					switch {
					case !everAgreed:
						cause = CauseBoot
					case started[p] == e.Time:
						cause = CauseRestart
					case lastAgreed >= 0 && !up[lastAgreed]:
						cause = CauseCrash
					}
					open = &Episode{Start: e.Time, End: -1, Leader: node.None, Cause: cause}
				}
			case Leader:
				belief[p] = v.ID
			}
		}
		now := agreement()
		if now != agreed && now != node.None {
			everAgreed, lastAgreed = true, now
			if crashed != node.None {
				if now != crashed {
					m.Reelection = append(m.Reelection, e.Time-crashAt)
				}
				crashed = node.None
			}
		}
		agreed = now
		switch quiet := open != nil && agreed != node.None && len(inflight) == 0; {
		case !quiet:
			quietSince = -1
		case quietSince < 0:
			quietSince = e.Time
		}
	}
	switch {
	case open != nil && quietSince >= 0:
		closeEpisode()
	case open != nil:
		m.Episodes = append(m.Episodes, *open)
	}
	return m
}

// stats returns the number of finished episodes with the given cause and
// the fewest, mean and most messages and the mean acks among them.
func (m Measure) stats(cause Cause) (count int, lo, mean, hi, acks float64) {
	for _, e := range m.Episodes {
		if e.Cause != cause || e.End < 0 {
			continue
		}
		x := float64(e.Messages)
		if count == 0 || x < lo {
			lo = x
		}
		hi = max(hi, x)
		mean += x
		acks += float64(e.Acks)
		count++
	}
	if count > 0 {
		mean /= float64(count)
		acks /= float64(count)
	}
	return count, lo, mean, hi, acks
}

// TextbookBullyBest is the fewest messages a bully election can take once
// the coordinator of a group of n has crashed: the next highest process
// notices, sends one ELECTION (to the dead coordinator, unanswered) and N−2
// COORDINATOR messages, N−1 in all. Van Steen and Tanenbaum count the N−2
// COORDINATOR messages only.
func TextbookBullyBest(n int) int { return max(n-1, 0) }

// TextbookBullyWorst is the most messages a bully election with one
// initiator takes once the coordinator of a group of n has crashed: the
// lowest process notices. Every live process i < N−1 sends ELECTION to the
// N−1−i processes above it, N(N−1)/2 in all; each of the (N−1)(N−2)/2 of
// them that reach a live process is answered OK; and the winner, N−2, sends
// N−2 COORDINATOR messages: N²−N−1 in all, the textbook's O(N²).
func TextbookBullyWorst(n int) int { return max(n*n-n-1, 0) }

// TextbookRing is the messages a ring election with one initiator takes once
// the coordinator of a group of n has crashed: the ELECTION makes N−1 hops
// round the N−1 live processes plus one unanswered send to the dead
// coordinator, which is skipped, and the COORDINATOR N−1 hops round the
// members of the new ring, 2N−1 in all; acknowledgements are counted apart,
// one per hop, 2(N−1). The textbook figure is 2N for a ring of N live
// processes.
func TextbookRing(n int) int { return max(2*n-1, 0) }

// BullyCosts are the measured costs of a bully run beside the textbook's, for
// a group of n: the messages of the elections after a coordinator crashed
// (fewest, mean, most), when a process comes back, and at boot; the time to
// elect a new coordinator after one crashed; and the time with two
// coordinators.
func BullyCosts(t *trace.Trace, n int) []trace.Cost {
	cfg := DefaultBullyConfig()
	return MeasureBully(t).costs(textbook{
		best:   fmt.Sprintf("best N−1 = %d (n%d notices; the textbook counts its N−2 COORDINATOR)", TextbookBullyBest(n), n-2),
		worst:  fmt.Sprintf("worst N²−N−1 = %d (n0 notices), O(N²)", TextbookBullyWorst(n)),
		back:   fmt.Sprintf("N−1 = %d COORDINATOR (the highest comes back)", max(n-1, 0)),
		elect:  detection(cfg.Heartbeats, fmt.Sprintf("%v for an OK", cfg.AnswerTimeout)),
		noAcks: true,
	})
}

// RingCosts are the measured costs of a ring run beside the textbook's, for a
// group of n: the messages and acknowledgements of the elections after a
// coordinator crashed (fewest, mean, most), when a process comes back, and
// at boot; the time to elect a new coordinator after one crashed; and the
// time with two coordinators.
func RingCosts(t *trace.Trace, n int) []trace.Cost {
	cfg := DefaultRingConfig()
	return MeasureRing(t).costs(textbook{
		best:  fmt.Sprintf("2N−1 = %d with one initiator (textbook 2N for N live)", TextbookRing(n)),
		worst: fmt.Sprintf("+N to 2N−1 = %d per further initiator", TextbookRing(n)),
		back:  fmt.Sprintf("2N = %d", 2*n),
		acks:  fmt.Sprintf("2(N−1) = %d, one per hop", 2*max(n-1, 0)),
		elect: detection(cfg.Heartbeats, fmt.Sprintf("two rounds + %v per skip", cfg.AckTimeout)),
	})
}

// detection describes the expected time to elect: suspicion plus election.
func detection(hb Heartbeats, election string) string {
	return fmt.Sprintf("suspicion %v–%v + election (%s)", hb.Timeout-hb.Interval, hb.Timeout+hb.Jitter, election)
}

// textbook holds the published figures a run's costs are printed beside.
type textbook struct {
	best, worst, back, acks, elect string
	noAcks                         bool
}

func (m Measure) costs(tb textbook) []trace.Cost {
	count, lo, mean, hi, acks := m.stats(CauseCrash)
	costs := []trace.Cost{
		{Name: "elections after a coordinator crash", Value: float64(count)},
		{Name: "messages per election after a crash (fewest)", Value: lo, Textbook: tb.best},
		{Name: "messages per election after a crash (mean)", Value: mean},
		{Name: "messages per election after a crash (most)", Value: hi, Textbook: tb.worst},
	}
	if !tb.noAcks {
		costs = append(costs, trace.Cost{Name: "acks per election after a crash (mean)", Value: acks, Textbook: tb.acks})
	}
	if count, _, mean, _, _ := m.stats(CauseRestart); count > 0 {
		costs = append(costs, trace.Cost{Name: "messages per election when a process comes back (mean)", Value: mean, Textbook: tb.back})
	}
	if count, _, mean, _, _ := m.stats(CauseBoot); count > 0 {
		costs = append(costs, trace.Cost{Name: "messages at boot (every process elects)", Value: mean})
	}
	if len(m.Reelection) > 0 {
		var sum time.Duration
		for _, d := range m.Reelection {
			sum += d
		}
		costs = append(costs, trace.Cost{Name: "time to elect after the coordinator crashed", Value: ms(sum / time.Duration(len(m.Reelection))), Unit: "ms", Textbook: tb.elect})
	}
	costs = append(costs, trace.Cost{Name: "time with two coordinators", Value: ms(m.TwoLeaders), Unit: "ms", Textbook: "0 without partitions"})
	return costs
}

// ms converts a duration to milliseconds, to the microsecond.
func ms(d time.Duration) float64 {
	return float64(d.Round(time.Microsecond)) / float64(time.Millisecond)
}
