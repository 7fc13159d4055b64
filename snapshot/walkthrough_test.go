package snapshot

import (
	"fmt"
	"strings"
	"testing"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/node/nodetest"
)

// system is a group of processes driven by hand, as Chandy & Lamport walk
// through their examples: every message waits in its channel, a FIFO queue,
// until a step delivers the head of that channel.
type system struct {
	procs    []node.Process
	envs     []*nodetest.Env
	channels map[Channel][]node.Message
	requests node.RequestID
}

// show formats values in the transcripts; a snapshot ID (the initiator's
// reply) prints as "ID n1#1".
func show(v any) string {
	if id, ok := v.(ID); ok {
		return "ID " + id.String()
	}
	return nodetest.Show(v)
}

// newSystem starts n processes with the given configuration.
func newSystem(t *testing.T, n int, cfg Config) *system {
	s := &system{channels: map[Channel][]node.Message{}}
	for i := range n {
		self := node.ID(i)
		env := nodetest.New(self, n)
		env.Show = show
		env.OnSend = func(to node.ID, msg node.Message) {
			c := Channel{From: self, To: to}
			s.channels[c] = append(s.channels[c], msg)
		}
		p := NewChandyLamport(cfg)
		p.Start(env)
		env.TakeOps()
		env.TakeEmitted()
		s.procs, s.envs = append(s.procs, p), append(s.envs, env)
	}
	return s
}

// step is one input to the system, with the outputs it must produce: each
// line prefixed by the process ("n1: send n0 Marker{...}"), joined by "; ".
type step struct {
	name string
	do   func(s *system)
	want string
}

// deliver delivers the message at the head of channel from→to.
func deliver(from, to node.ID) func(*system) {
	return func(s *system) {
		c := Channel{From: from, To: to}
		msg := s.channels[c][0]
		s.channels[c] = s.channels[c][1:]
		s.procs[to].Receive(s.envs[to], from, msg)
	}
}

// request submits an op to a process.
func request(to node.ID, op any) func(*system) {
	return func(s *system) {
		s.requests++
		s.procs[to].Request(s.envs[to], node.Request{ID: s.requests, Op: op})
	}
}

// recorded assembles the global state of snapshot id from emitted events.
func recorded(n int, id ID, emitted []any, at []node.ID) GlobalState {
	g := GlobalState{ID: id, Nodes: n, Balances: map[node.ID]int64{}, Channels: map[Channel][]Transfer{}}
	for i, v := range emitted {
		switch e := v.(type) {
		case StateRecorded:
			if e.Snapshot == id {
				g.Balances[at[i]] = e.Balance
			}
		case ChannelRecorded:
			if e.Snapshot == id {
				g.Channels[Channel{From: e.From, To: at[i]}] = e.Messages
			}
		}
	}
	return g
}

// run plays the steps, comparing each step's outputs, and returns what the
// processes emitted, with the process that emitted each.
func (s *system) run(t *testing.T, steps []step) (emitted []any, at []node.ID) {
	t.Helper()
	for _, st := range steps {
		st.do(s)
		var got []string
		for i, env := range s.envs {
			for _, op := range env.TakeOps() {
				got = append(got, fmt.Sprintf("n%d: %s", i, op))
			}
			for _, v := range env.TakeEmitted() {
				emitted, at = append(emitted, v), append(at, node.ID(i))
			}
		}
		if g := strings.Join(got, "; "); g != st.want {
			t.Errorf("%s:\n got: %s\nwant: %s", st.name, g, st.want)
		}
	}
	return emitted, at
}

// The single-token conservation system of Chandy & Lamport §2 (p = n0 holds
// the token, q = n1 does not; c = n0→n1, c' = n1→n0), with the token as one
// unit of money, snapshotted while the token is in c. Following §3.2's
// rules, the recorded global state is "in-c": neither process holds the
// token, and c's recorded state holds it — one token, as in every state the
// system can be in.
func TestSingleTokenWalkthrough(t *testing.T) {
	s := newSystem(t, 2, Config{Balances: []int64{1, 0}, NoTransfers: true})
	id := ID{Initiator: 1, Seq: 1}
	emitted, at := s.run(t, []step{
		{"p sends the token along c: global state in-c", request(0, Pay{To: 1, Amount: 1}),
			"n0: send n1 Transfer{Amount:1}; n0: reply 1 Paid{Amount:1 Balance:0}"},
		{"q initiates: it records its state (no token), then sends a marker along c' (Marker-Sending Rule)", request(1, Initiate{}),
			"n1: emit StateRecorded{Snapshot:n1#1 Balance:0}; n1: send n0 Marker{Snapshot:n1#1}"},
		{"the token arrives at q, which is recording c", deliver(0, 1), ""},
		{"p receives the marker along c': it records its state (no token), sends its marker along c, and records c' as empty (Marker-Receiving Rule, first marker)", deliver(1, 0),
			"n0: emit StateRecorded{Snapshot:n1#1 Balance:0}; n0: send n1 Marker{Snapshot:n1#1}; n0: emit ChannelRecorded{Snapshot:n1#1 From:n1 Messages:[]}"},
		{"q receives the marker along c: c's state is what came along it since q recorded, the token; q is done and answers", deliver(0, 1),
			"n1: emit ChannelRecorded{Snapshot:n1#1 From:n0 Messages:[{Amount:1}]}; n1: reply 2 ID n1#1"},
		{"a copy of the marker changes nothing", func(s *system) { s.procs[1].Receive(s.envs[1], 0, Marker{Snapshot: id}) }, ""},
	})
	g := recorded(2, id, emitted, at)
	if got, want := g.String(), "n1#1: n0 0, n1 0; n0→n1 [1]; total 1"; got != want {
		t.Errorf("recorded global state %s; want %s (in-c)", got, want)
	}
}

// §3.1's warning, staged by the no-marker-wait variant: q records c as
// empty when it records its own state, while the token is in c. The token
// is in no recorded state: zero tokens.
func TestNoMarkerWaitWalkthrough(t *testing.T) {
	s := newSystem(t, 2, Config{Balances: []int64{1, 0}, NoTransfers: true, NoMarkerWait: true})
	id := ID{Initiator: 1, Seq: 1}
	emitted, at := s.run(t, []step{
		{"p sends the token along c", request(0, Pay{To: 1, Amount: 1}),
			"n0: send n1 Transfer{Amount:1}; n0: reply 1 Paid{Amount:1 Balance:0}"},
		{"q initiates, and records c as empty at once", request(1, Initiate{}),
			"n1: emit StateRecorded{Snapshot:n1#1 Balance:0}; n1: send n0 Marker{Snapshot:n1#1}; n1: emit ChannelRecorded{Snapshot:n1#1 From:n0 Messages:[]}; n1: reply 2 ID n1#1"},
		{"the token arrives at q, too late for the recording", deliver(0, 1), ""},
		{"p receives the marker: records its state (no token) and c' at once", deliver(1, 0),
			"n0: emit StateRecorded{Snapshot:n1#1 Balance:0}; n0: send n1 Marker{Snapshot:n1#1}; n0: emit ChannelRecorded{Snapshot:n1#1 From:n1 Messages:[]}"},
		{"p's marker is a stale copy for q", deliver(0, 1), ""},
	})
	if got, want := recorded(2, id, emitted, at).String(), "n1#1: n0 0, n1 0; total 0"; got != want {
		t.Errorf("recorded global state %s; want %s (no token)", got, want)
	}
}

// §3.1's other warning, staged by the record-late variant: p records its
// state holding the token, sends its marker, then the token, along c; q
// takes the token in before recording its state. The token is recorded at
// both: two tokens.
func TestRecordLateWalkthrough(t *testing.T) {
	s := newSystem(t, 2, Config{Balances: []int64{1, 0}, NoTransfers: true, RecordLate: true})
	id := ID{Initiator: 0, Seq: 1}
	emitted, at := s.run(t, []step{
		{"p initiates holding the token: records it, sends its marker along c", request(0, Initiate{}),
			"n0: emit StateRecorded{Snapshot:n0#1 Balance:1}; n0: send n1 Marker{Snapshot:n0#1}"},
		{"p sends the token along c, behind the marker", request(0, Pay{To: 1, Amount: 1}),
			"n0: send n1 Transfer{Amount:1}; n0: reply 2 Paid{Amount:1 Balance:0}"},
		{"q receives the marker and, broken, does not record yet", deliver(0, 1), ""},
		{"q takes the token in, then records its state with it", deliver(0, 1),
			"n1: emit StateRecorded{Snapshot:n0#1 Balance:1}; n1: send n0 Marker{Snapshot:n0#1}; n1: emit ChannelRecorded{Snapshot:n0#1 From:n0 Messages:[]}"},
		{"p receives q's marker: c' is empty; p is done", deliver(1, 0),
			"n0: emit ChannelRecorded{Snapshot:n0#1 From:n1 Messages:[]}; n0: reply 1 ID n0#1"},
	})
	if got, want := recorded(2, id, emitted, at).String(), "n0#1: n0 1, n1 1; total 2"; got != want {
		t.Errorf("recorded global state %s; want %s (two tokens)", got, want)
	}
}

// Two snapshots from different initiators at once, told apart by their IDs:
// n2 records each channel for each snapshot separately, and a transfer
// between its two recordings of n0→n2 belongs to one channel state and not
// the other.
func TestConcurrentSnapshotsAreRecordedApart(t *testing.T) {
	s := newSystem(t, 3, Config{InitialBalance: 10, NoTransfers: true})
	a, b := ID{Initiator: 0, Seq: 1}, ID{Initiator: 1, Seq: 1}
	emitted, at := s.run(t, []step{
		{"n0 pays 3 to n2", request(0, Pay{To: 2, Amount: 3}), "n0: send n2 Transfer{Amount:3}; n0: reply 1 Paid{Amount:3 Balance:7}"},
		{"n0 initiates a", request(0, Initiate{}),
			"n0: emit StateRecorded{Snapshot:n0#1 Balance:7}; n0: send n1 Marker{Snapshot:n0#1}; n0: send n2 Marker{Snapshot:n0#1}"},
		{"n1 initiates b", request(1, Initiate{}),
			"n1: emit StateRecorded{Snapshot:n1#1 Balance:10}; n1: send n0 Marker{Snapshot:n1#1}; n1: send n2 Marker{Snapshot:n1#1}"},
		{"n1's marker of b reaches n2 first: n2 records for b", deliver(1, 2),
			"n2: emit StateRecorded{Snapshot:n1#1 Balance:10}; n2: send n0 Marker{Snapshot:n1#1}; n2: send n1 Marker{Snapshot:n1#1}; n2: emit ChannelRecorded{Snapshot:n1#1 From:n1 Messages:[]}"},
		{"n0's 3 reaches n2: in flight on n0→n2 for b", deliver(0, 2), ""},
		{"n0's marker of a reaches n2: n2 records for a, with the 3", deliver(0, 2),
			"n2: emit StateRecorded{Snapshot:n0#1 Balance:13}; n2: send n0 Marker{Snapshot:n0#1}; n2: send n1 Marker{Snapshot:n0#1}; n2: emit ChannelRecorded{Snapshot:n0#1 From:n0 Messages:[]}"},
		{"n1's and n2's markers reach n0", func(s *system) {
			deliver(1, 0)(s)
			deliver(2, 0)(s)
			deliver(2, 0)(s)
		}, "n0: emit StateRecorded{Snapshot:n1#1 Balance:7}; n0: send n1 Marker{Snapshot:n1#1}; n0: send n2 Marker{Snapshot:n1#1}; n0: emit ChannelRecorded{Snapshot:n1#1 From:n1 Messages:[]}; " +
			"n0: emit ChannelRecorded{Snapshot:n1#1 From:n2 Messages:[]}; n0: emit ChannelRecorded{Snapshot:n0#1 From:n2 Messages:[]}"},
		{"the rest of the markers reach n1", func(s *system) {
			deliver(0, 1)(s)
			deliver(2, 1)(s)
			deliver(2, 1)(s)
			deliver(0, 1)(s)
		}, "n1: emit StateRecorded{Snapshot:n0#1 Balance:10}; n1: send n0 Marker{Snapshot:n0#1}; n1: send n2 Marker{Snapshot:n0#1}; n1: emit ChannelRecorded{Snapshot:n0#1 From:n0 Messages:[]}; " +
			"n1: emit ChannelRecorded{Snapshot:n1#1 From:n2 Messages:[]}; n1: emit ChannelRecorded{Snapshot:n0#1 From:n2 Messages:[]}; " +
			"n1: emit ChannelRecorded{Snapshot:n1#1 From:n0 Messages:[]}; n1: reply 3 ID n1#1"},
		{"n0 gets n1's marker of a: a is done at n0, which answers", deliver(1, 0),
			"n0: emit ChannelRecorded{Snapshot:n0#1 From:n1 Messages:[]}; n0: reply 2 ID n0#1"},
		{"the last markers reach n2", func(s *system) {
			deliver(0, 2)(s)
			deliver(1, 2)(s)
		}, "n2: emit ChannelRecorded{Snapshot:n1#1 From:n0 Messages:[{Amount:3}]}; n2: emit ChannelRecorded{Snapshot:n0#1 From:n1 Messages:[]}"},
	})
	for _, c := range []struct {
		id   ID
		want string
	}{
		{a, "n0#1: n0 7, n1 10, n2 13; total 30"},
		{b, "n1#1: n0 7, n1 10, n2 10; n0→n2 [3]; total 30"},
	} {
		if got := recorded(3, c.id, emitted, at).String(); got != c.want {
			t.Errorf("snapshot %v: %s; want %s", c.id, got, c.want)
		}
	}
}

// Payments the bank refuses: to itself, to a stranger, nothing, or more than
// it has.
func TestPayRefusals(t *testing.T) {
	s := newSystem(t, 2, Config{InitialBalance: 5, NoTransfers: true})
	s.run(t, []step{
		{"to itself", request(0, Pay{To: 0, Amount: 1}), "n0: reply 1 Paid{Amount:0 Balance:5}"},
		{"to a stranger", request(0, Pay{To: 7, Amount: 1}), "n0: reply 2 Paid{Amount:0 Balance:5}"},
		{"nothing", request(0, Pay{To: 1, Amount: 0}), "n0: reply 3 Paid{Amount:0 Balance:5}"},
		{"too much", request(0, Pay{To: 1, Amount: 6}), "n0: reply 4 Paid{Amount:0 Balance:5}"},
		{"all of it", request(0, Pay{To: 1, Amount: 5}), "n0: send n1 Transfer{Amount:5}; n0: reply 5 Paid{Amount:5 Balance:0}"},
	})
}

// A branch's random transfers never spend more than it has, and a lone
// process's snapshot is complete at once.
func TestRandomTransfersAndALoneProcess(t *testing.T) {
	env := nodetest.New(0, 2)
	p := NewChandyLamport(Config{InitialBalance: 3, MaxAmount: 100})
	p.Start(env)
	var spent int64
	for range 20 {
		env.FireNext(p)
	}
	for _, m := range env.Sent {
		spent += m.Msg.(Transfer).Amount
	}
	if spent != 3 || len(env.Sent) == 0 {
		t.Errorf("a branch that opened with 3 sent %d in %d transfers; want all 3 and no more", spent, len(env.Sent))
	}

	alone := nodetest.New(0, 1)
	alone.Show = show
	q := NewChandyLamport(Config{NoTransfers: true})
	q.Start(alone)
	alone.TakeOps()
	q.Request(alone, node.Request{ID: 1, Op: Initiate{}})
	if got, want := strings.Join(alone.TakeOps(), "; "), "emit StateRecorded{Snapshot:n0#1 Balance:1000}; reply 1 ID n0#1"; got != want {
		t.Errorf("a lone process initiates:\n got: %s\nwant: %s", got, want)
	}
}
