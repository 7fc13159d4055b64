package sim

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

type ping struct{ N int }
type pong struct{ N int }
type tick struct{}

// script is a process whose handlers are given by the test.
type script struct {
	start   func(env node.Env)
	receive func(env node.Env, from node.ID, msg node.Message)
	timeout func(env node.Env, t any)
	request func(env node.Env, r node.Request)
}

func (p *script) Start(env node.Env) {
	if p.start != nil {
		p.start(env)
	}
}
func (p *script) Receive(env node.Env, from node.ID, m node.Message) {
	if p.receive != nil {
		p.receive(env, from, m)
	}
}
func (p *script) Timeout(env node.Env, t any) {
	if p.timeout != nil {
		p.timeout(env, t)
	}
}
func (p *script) Request(env node.Env, r node.Request) {
	if p.request != nil {
		p.request(env, r)
	}
}

func reg() *node.Registry { return node.NewRegistry(ping{}, pong{}) }

// pinger: n0 sends count pings to n1, one per millisecond.
func pinger(count int) node.Factory {
	return func(id node.ID) node.Process {
		sent := 0
		return &script{
			start: func(env node.Env) {
				if id == 0 {
					env.After(time.Millisecond, tick{})
				}
			},
			timeout: func(env node.Env, _ any) {
				env.Send(1, ping{N: sent})
				sent++
				if sent < count {
					env.After(time.Millisecond, tick{})
				}
			},
			receive: func(env node.Env, from node.ID, m node.Message) { env.Emit(m) },
		}
	}
}

func mustRun(t *testing.T, cfg Config, until time.Duration) *Sim {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(until); err != nil {
		t.Fatal(err)
	}
	return s
}

func count(tr *trace.Trace, k trace.Kind) int { return len(tr.Filter(k)) }

func TestFIFOLinkKeepsOrderAndReorderDoesNot(t *testing.T) {
	order := func(reorder bool) []int {
		cfg := Config{Nodes: 2, New: pinger(200), Registry: reg(), Seed: 1,
			Network: Network{Default: Link{Latency: Uniform(time.Millisecond, 50*time.Millisecond), Reorder: reorder}}}
		s := mustRun(t, cfg, time.Minute)
		var got []int
		for _, e := range trace.Emitted[ping](s.Trace()) {
			got = append(got, e.Value.N)
		}
		return got
	}
	fifo := order(false)
	if len(fifo) != 200 {
		t.Fatalf("FIFO: delivered %d of 200", len(fifo))
	}
	for i, n := range fifo {
		if n != i {
			t.Fatalf("FIFO link delivered ping %d at position %d", n, i)
		}
	}
	re := order(true)
	inversions := 0
	for i := 1; i < len(re); i++ {
		if re[i] < re[i-1] {
			inversions++
		}
	}
	if len(re) != 200 || inversions == 0 {
		t.Fatalf("reordering link: %d delivered, %d inversions; want 200 and some", len(re), inversions)
	}
}

func TestLossDropsAboutTheRate(t *testing.T) {
	cfg := Config{Nodes: 2, New: pinger(2000), Registry: reg(), Seed: 7, Network: Network{Default: Link{Latency: Constant(time.Millisecond), Loss: 0.3}}}
	s := mustRun(t, cfg, time.Minute)
	drops := s.Trace().Filter(trace.Drop)
	if got := float64(len(drops)) / 2000; got < 0.25 || got > 0.35 {
		t.Fatalf("loss 0.3: dropped fraction %.3f", got)
	}
	for _, d := range drops {
		if d.Reason != trace.DropLoss {
			t.Fatalf("drop reason %q, want %q", d.Reason, trace.DropLoss)
		}
	}
	if d, e := len(drops), count(s.Trace(), trace.Deliver); d+e != 2000 {
		t.Fatalf("%d drops + %d deliveries != 2000 sends", d, e)
	}
}

func TestDuplicationDuplicates(t *testing.T) {
	cfg := Config{Nodes: 2, New: pinger(1000), Registry: reg(), Seed: 3, Network: Network{Default: Link{Latency: Constant(time.Millisecond), Duplicate: 0.2}}}
	s := mustRun(t, cfg, time.Minute)
	seen := map[uint64]int{}
	for _, e := range s.Trace().Filter(trace.Deliver) {
		seen[e.MsgID]++
	}
	dups := 0
	for _, c := range seen {
		if c == 2 {
			dups++
		} else if c != 1 {
			t.Fatalf("a message delivered %d times", c)
		}
	}
	if len(seen) != 1000 || dups < 150 || dups > 250 {
		t.Fatalf("duplicate 0.2: %d distinct messages, %d duplicated; want 1000 and about 200", len(seen), dups)
	}
}

func TestPartitionedLinkDeliversNothingUntilHeal(t *testing.T) {
	cfg := Config{Nodes: 3, New: pinger(100), Registry: reg(), Seed: 1,
		Network:  Network{Default: Link{Latency: Constant(time.Millisecond)}},
		Schedule: []Scheduled{{At: 20 * time.Millisecond, Action: PartitionGroups([]node.ID{0}, []node.ID{1, 2})}, {At: 60 * time.Millisecond, Action: Heal()}}}
	s := mustRun(t, cfg, time.Minute)
	for _, e := range s.Trace().Filter(trace.Deliver) {
		if e.Time > 20*time.Millisecond && e.Time <= 60*time.Millisecond {
			t.Fatalf("delivery at %v while n0 was partitioned away", e.Time)
		}
	}
	drops := s.Trace().Filter(trace.Drop)
	if len(drops) < 35 || len(drops) > 41 {
		t.Fatalf("%d drops during a 40ms partition of a 1 msg/ms link", len(drops))
	}
	if got := len(trace.Emitted[ping](s.Trace())); got != 100-len(drops) {
		t.Fatalf("after heal: delivered %d, want %d", got, 100-len(drops))
	}
}

func TestOneWayCut(t *testing.T) {
	// n0 pings n1; n1 answers every ping. Cut only n1->n0: pings arrive, pongs do not.
	f := func(id node.ID) node.Process {
		return &script{
			start: func(env node.Env) {
				if id == 0 {
					for i := range 10 {
						env.Send(1, ping{N: i})
					}
				}
			},
			receive: func(env node.Env, from node.ID, m node.Message) {
				env.Emit(m)
				if p, ok := m.(ping); ok {
					env.Send(from, pong(p))
				}
			},
		}
	}
	cfg := Config{Nodes: 2, New: f, Registry: reg(), Schedule: []Scheduled{{Action: Cut([]node.ID{1}, []node.ID{0})}}}
	s := mustRun(t, cfg, time.Second)
	if p, q := len(trace.Emitted[ping](s.Trace())), len(trace.Emitted[pong](s.Trace())); p != 10 || q != 0 {
		t.Fatalf("one-way cut n1->n0: %d pings delivered, %d pongs; want 10 and 0", p, q)
	}
}

// durable: on Request{k} writes k synced, and k+"-unsynced" without sync.
func durable(id node.ID) node.Process {
	return &script{request: func(env node.Env, r node.Request) {
		k := r.Op.(string)
		env.Store().Set(k, []byte("synced"))
		if err := env.Store().Sync(); err != nil {
			panic(err)
		}
		env.Store().Set(k+"-unsynced", []byte("lost"))
		env.Reply(r.ID, "ok")
	}}
}

func TestCrashDropsUnsyncedWritesAndKeepsSynced(t *testing.T) {
	s, err := New(Config{Nodes: 1, New: durable, Registry: reg()})
	if err != nil {
		t.Fatal(err)
	}
	s.Request(time.Millisecond, 0, "a")
	s.At(2*time.Millisecond, Crash(0))
	s.Request(3*time.Millisecond, 0, "b") // lost: node down
	s.At(4*time.Millisecond, Restart(0))
	if err := s.Run(time.Second); err != nil {
		t.Fatal(err)
	}
	st := s.Store(0)
	if v, ok := st.Get("a"); !ok || string(v) != "synced" {
		t.Fatalf("synced write lost in crash: %q %v", v, ok)
	}
	if _, ok := st.Get("a-unsynced"); ok {
		t.Fatal("unsynced write survived a crash")
	}
	if _, ok := st.Get("b"); ok {
		t.Fatal("a request to a crashed node was executed")
	}
	tr := s.Trace()
	if count(tr, trace.Crash) != 1 || count(tr, trace.Restart) != 1 || count(tr, trace.Start) != 2 {
		t.Fatalf("crash/restart/start events: %d/%d/%d", count(tr, trace.Crash), count(tr, trace.Restart), count(tr, trace.Start))
	}
}

func TestCrashedNodeGetsNoMessagesAndTimersDie(t *testing.T) {
	fired := 0
	f := func(id node.ID) node.Process {
		return &script{
			start: func(env node.Env) {
				if id == 1 {
					env.After(10*time.Millisecond, "before-crash")
				}
			},
			timeout: func(env node.Env, t any) { fired++ },
		}
	}
	s, _ := New(Config{Nodes: 2, New: f, Registry: reg(), Schedule: []Scheduled{{At: 5 * time.Millisecond, Action: Crash(1)}, {At: 7 * time.Millisecond, Action: Restart(1)}}})
	if err := s.Run(time.Second); err != nil {
		t.Fatal(err)
	}
	// The restart's Start sets a new timer at 17ms; the one from before the crash must not fire.
	if fired != 1 {
		t.Fatalf("%d timers fired; want 1 (the one set after the restart)", fired)
	}
	ev := s.Trace().Filter(trace.Timer)
	if len(ev) != 1 || ev[0].Time != 17*time.Millisecond {
		t.Fatalf("timer events %+v; want one at 17ms", ev)
	}
}

func TestSkewAndDriftMoveNowAndTimers(t *testing.T) {
	var nows []time.Time
	f := func(id node.ID) node.Process {
		return &script{
			start:   func(env node.Env) { nows = append(nows, env.Now()); env.After(100*time.Millisecond, tick{}) },
			timeout: func(env node.Env, _ any) { nows = append(nows, env.Now()) },
		}
	}
	cfg := Config{Nodes: 1, New: f, Registry: reg()}
	cfg.Schedule = []Scheduled{{Action: Skew(0, 50*time.Millisecond)}, {Action: Drift(0, 0.25)}} // 25% fast
	s := mustRun(t, cfg, time.Second)
	if len(nows) != 2 {
		t.Fatalf("got %d clock readings", len(nows))
	}
	if got := nows[0].Sub(Epoch); got != 50*time.Millisecond {
		t.Fatalf("skew +50ms: Now at start = Epoch%+v", got)
	}
	if got := nows[1].Sub(nows[0]); got != 100*time.Millisecond {
		t.Fatalf("a 100ms timer fired after %v of local time", got)
	}
	ev := s.Trace().Filter(trace.Timer)
	if len(ev) != 1 || ev[0].Time != 80*time.Millisecond {
		t.Fatalf("with drift 0.25 (clock 25%% fast) a 100ms timer should fire at true 80ms: %+v", ev)
	}
}

func TestRandomSkewGivesEachNodeItsOwnClock(t *testing.T) {
	var offsets []time.Duration
	f := func(id node.ID) node.Process {
		return &script{start: func(env node.Env) { offsets = append(offsets, env.Now().Sub(Epoch)) }}
	}
	mustRun(t, Config{Nodes: 5, New: f, Registry: reg(), Seed: 9, Nemesis: Nemesis{Skew: 100 * time.Millisecond}}, time.Second)
	distinct := map[time.Duration]bool{}
	for _, o := range offsets {
		if o < -100*time.Millisecond || o > 100*time.Millisecond {
			t.Fatalf("offset %v outside ±100ms", o)
		}
		distinct[o] = true
	}
	if len(distinct) < 4 {
		t.Fatalf("offsets %v: want distinct clocks", offsets)
	}
}

func TestPauseHoldsEventsUntilResume(t *testing.T) {
	cfg := Config{Nodes: 2, New: pinger(50), Registry: reg(), Network: Network{Default: Link{Latency: Constant(time.Millisecond)}},
		Schedule: []Scheduled{{At: 10 * time.Millisecond, Action: Pause(1)}, {At: 30 * time.Millisecond, Action: Resume(1)}}}
	s := mustRun(t, cfg, time.Second)
	got := trace.Emitted[ping](s.Trace())
	if len(got) != 50 {
		t.Fatalf("pause lost messages: %d of 50 delivered", len(got))
	}
	held := 0
	for _, e := range got {
		if e.Time > 10*time.Millisecond && e.Time < 30*time.Millisecond {
			t.Fatalf("paused node took a step at %v", e.Time)
		}
		if e.Time == 30*time.Millisecond {
			held++
		}
	}
	if held < 18 {
		t.Fatalf("%d messages delivered at resume; want the ~20 that arrived during the pause", held)
	}
	for i, e := range got {
		if e.Value.N != i {
			t.Fatalf("resume broke FIFO order: ping %d at %d", e.Value.N, i)
		}
	}
}

func TestBandwidthCostsTransmissionTime(t *testing.T) {
	big := make([]byte, 10_000)
	f := func(id node.ID) node.Process {
		return &script{
			start: func(env node.Env) {
				if id == 0 {
					for range 10 {
						env.Send(1, ping{N: len(big)})
					}
				}
			},
			receive: func(env node.Env, _ node.ID, m node.Message) { env.Emit(m) },
		}
	}
	// ping{N} encodes to a few bytes; make bandwidth tiny so even that counts.
	cfg := Config{Nodes: 2, New: f, Registry: reg(), Network: Network{Default: Link{Latency: Constant(time.Millisecond), Bandwidth: 100}}}
	s := mustRun(t, cfg, time.Hour)
	sends := s.Trace().Filter(trace.Send)
	size := sends[0].Size
	d := s.Trace().Filter(trace.Deliver)
	per := time.Duration(float64(size) / 100 * float64(time.Second))
	for i, e := range d {
		want := time.Duration(i+1)*per + time.Millisecond
		if e.Time != want {
			t.Fatalf("message %d (%d bytes at 100B/s) arrived at %v, want %v", i, size, e.Time, want)
		}
	}
}

func TestEncodingCopiesMessages(t *testing.T) {
	type box struct{ Items []int }
	f := func(id node.ID) node.Process {
		return &script{
			start: func(env node.Env) {
				if id == 0 {
					m := box{Items: []int{1, 2, 3}}
					env.Send(1, m)
					m.Items[0] = 99 // the receiver must not see this
				}
			},
			receive: func(env node.Env, _ node.ID, m node.Message) { env.Emit(m) },
		}
	}
	for _, noEncode := range []bool{false, true} {
		s := mustRun(t, Config{Nodes: 2, New: f, Registry: node.NewRegistry(box{}), NoEncode: noEncode}, time.Second)
		got := trace.Emitted[box](s.Trace())
		if len(got) != 1 {
			t.Fatalf("noEncode=%v: %d deliveries", noEncode, len(got))
		}
		if first := got[0].Value.Items[0]; noEncode != (first == 99) {
			t.Fatalf("noEncode=%v: receiver saw %d", noEncode, first)
		}
		if sz := s.Trace().Filter(trace.Send)[0].Size; noEncode != (sz == 0) {
			t.Fatalf("noEncode=%v: send size %d", noEncode, sz)
		}
	}
}

func TestUnregisteredMessageIsAnError(t *testing.T) {
	f := func(id node.ID) node.Process {
		return &script{start: func(env node.Env) { env.Send(0, struct{ X int }{1}) }}
	}
	s, _ := New(Config{Nodes: 1, New: f, Registry: reg()})
	err := s.Run(time.Second)
	if err == nil || !strings.Contains(err.Error(), "unregistered") {
		t.Fatalf("err = %v; want an unregistered-type error", err)
	}
}

func TestRoundsDeliverRoundBeforeNext(t *testing.T) {
	// Every node floods its round number to all; in round r each must have
	// received exactly N messages stamped r-1.
	const N = 4
	var bad []string
	f := func(id node.ID) node.Process {
		got := map[int]int{}
		return &script{
			receive: func(env node.Env, _ node.ID, m node.Message) { got[m.(ping).N]++ },
			timeout: func(env node.Env, t any) {
				r := t.(node.RoundTick).Round
				if r > 1 && got[r-1] != N {
					bad = append(bad, fmt.Sprintf("%v round %d: %d messages from round %d", id, r, got[r-1], r-1))
				}
				if r <= 5 {
					for _, p := range env.Group() {
						env.Send(p, ping{N: r})
					}
				}
			},
		}
	}
	s := mustRun(t, Config{Nodes: N, New: f, Registry: reg(), Rounds: time.Second, Network: Network{Default: Link{Latency: Uniform(0, 5*time.Second), Reorder: true}}}, time.Hour)
	if len(bad) > 0 {
		t.Fatal(strings.Join(bad, "\n"))
	}
	if s.Round() != 6 {
		t.Fatalf("stopped at round %d; want 6 (round 6 delivers round 5's messages and sends nothing)", s.Round())
	}
	for _, e := range s.Trace().Filter(trace.Deliver) {
		// As in Lynch's model, a message is received in the round it was sent.
		if e.Value.(ping).N != e.Round {
			t.Fatalf("message of round %d received in round %d", e.Value.(ping).N, e.Round)
		}
	}
}

// A process that crashes in the middle of a round, after sending to only
// some of its peers (the adversary of the f+1-round lower bound for
// consensus), is staged with a one-way cut from it to the others and a crash,
// both between the round's ticks and the next round's deliveries: its
// message reaches the peers it was not cut from, and no one else.
func TestCrashMidRoundReachesSomePeers(t *testing.T) {
	const N = 4
	f := func(id node.ID) node.Process {
		return &script{
			receive: func(env node.Env, from node.ID, m node.Message) { env.Emit(m) },
			timeout: func(env node.Env, t any) {
				if r := t.(node.RoundTick).Round; r == 1 && id == 0 {
					for p := node.ID(1); p < N; p++ {
						env.Send(p, ping{N: r})
					}
				}
			},
		}
	}
	s, err := New(Config{Nodes: N, New: f, Registry: reg(), Rounds: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if s.RoundLength() != 10*time.Millisecond {
		t.Fatalf("RoundLength() = %v; want 10ms", s.RoundLength())
	}
	mid := s.RoundLength() + s.RoundLength()/2 // round 1 has sent, nothing has arrived
	s.At(mid, Cut([]node.ID{0}, []node.ID{2, 3}))
	s.At(mid, Crash(0))
	if err := s.Run(time.Second); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range s.Trace().Filter(trace.Emit, trace.Drop) {
		if e.Kind == trace.Emit {
			got = append(got, fmt.Sprintf("%v got %v", e.Node, e.Value))
		} else {
			got = append(got, fmt.Sprintf("%s %v->%v", e.Reason, e.Node, e.Peer))
		}
	}
	want := "n1 got {1}|partitioned n0->n2|partitioned n0->n3"
	if g := strings.Join(got, "|"); g != want {
		t.Fatalf("got %s; want %s", g, want)
	}
}

func TestVectorClocksFollowMessages(t *testing.T) {
	s := mustRun(t, Config{Nodes: 2, New: pinger(3), Registry: reg()}, time.Second)
	tr := s.Trace()
	sends, delivers := tr.Filter(trace.Send), tr.Filter(trace.Deliver)
	for i := range sends {
		if !trace.HappensBefore(&sends[i], &delivers[i]) {
			t.Fatalf("send %v does not happen before its delivery %v", sends[i].Clock, delivers[i].Clock)
		}
	}
	starts := tr.Filter(trace.Start)
	if !starts[0].Clock.Concurrent(starts[1].Clock) {
		t.Fatalf("the two starts should be concurrent: %v %v", starts[0].Clock, starts[1].Clock)
	}
}

// chatter: every node sends to random peers on random timers, under all faults.
func chatter(id node.ID) node.Process {
	left := 40
	return &script{
		start: func(env node.Env) { env.After(time.Duration(env.Rand().IntN(5)+1)*time.Millisecond, tick{}) },
		timeout: func(env node.Env, _ any) {
			env.Send(node.ID(env.Rand().IntN(len(env.Group()))), ping{N: left})
			env.Store().Set("k", []byte{byte(left)})
			if left%3 == 0 {
				_ = env.Store().Sync()
			}
			if left--; left > 0 {
				env.After(time.Duration(env.Rand().IntN(5)+1)*time.Millisecond, tick{})
			}
		},
		receive: func(env node.Env, from node.ID, m node.Message) {
			env.Emit(m)
			if p, ok := m.(ping); ok && p.N%2 == 0 {
				env.Send(from, pong(p))
			}
		},
	}
}

func chaosConfig(seed uint64) Config {
	return Config{Nodes: 5, New: chatter, Registry: reg(), Seed: seed,
		Network: Network{Default: Link{Latency: Exponential(time.Millisecond, 3*time.Millisecond), Reorder: true, Loss: 0.05, Duplicate: 0.05, Bandwidth: 1 << 20}},
		Nemesis: Nemesis{Partition: 20, PartitionFor: 20 * time.Millisecond, Crash: 30, RestartAfter: 30 * time.Millisecond, Pause: 10, PauseFor: 10 * time.Millisecond, Skew: 10 * time.Millisecond, Drift: 0.01, Stop: 200 * time.Millisecond}}
}

func digest(t *testing.T, cfg Config) (string, *trace.Trace) {
	s := mustRun(t, cfg, time.Second)
	var b strings.Builder
	for _, e := range s.Trace().Events {
		fmt.Fprintf(&b, "%d %v %d %v %v %d %s %d %v %q %q\n", e.Seq, e.Time, e.Round, e.Node, e.Kind, e.Peer, e.Type, e.Size, e.Clock, fmt.Sprint(e.Value), e.Reason+e.Detail)
	}
	return b.String(), s.Trace()
}

func TestSameSeedSameTrace(t *testing.T) {
	for seed := uint64(1); seed <= 5; seed++ {
		a, tr := digest(t, chaosConfig(seed))
		b, _ := digest(t, chaosConfig(seed))
		if a != b {
			t.Fatalf("seed %d: two runs differ", seed)
		}
		for _, k := range []trace.Kind{trace.Crash, trace.Restart, trace.Partition, trace.Heal, trace.Pause, trace.Resume, trace.Drop} {
			if count(tr, k) == 0 {
				t.Errorf("seed %d: the chaos config produced no %v event", seed, k)
			}
		}
		c, _ := digest(t, chaosConfig(seed+100))
		if a == c {
			t.Fatalf("seeds %d and %d gave the same trace", seed, seed+100)
		}
	}
}

func TestRandomNemesisStopsAndRestores(t *testing.T) {
	cfg := chaosConfig(11)
	s := mustRun(t, cfg, time.Second)
	for id := range cfg.Nodes {
		if s.Down(node.ID(id)) {
			t.Fatalf("n%d still down after the nemesis stopped", id)
		}
	}
	for _, e := range s.Trace().Events {
		if e.Time > cfg.Nemesis.Stop && (e.Kind == trace.Crash || e.Kind == trace.Partition || e.Kind == trace.Pause) {
			t.Fatalf("fault %v at %v after Stop %v", e.Kind, e.Time, cfg.Nemesis.Stop)
		}
	}
}

func TestConfigErrorsAreClear(t *testing.T) {
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{Nodes: 0, New: chatter, Registry: reg()}, "need at least 1"},
		{Config{Nodes: 2, New: chatter}, "Registry is nil"},
		{Config{Nodes: 2, New: chatter, Registry: reg(), Network: Network{Default: Link{Loss: 1.5}}}, "loss 1.5"},
		{Config{Nodes: 2, New: chatter, Registry: reg(), Schedule: []Scheduled{{Action: Crash(5)}}}, "node n5 is not in the group n0..n1"},
	}
	for _, c := range cases {
		_, err := New(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("err = %v; want it to mention %q", err, c.want)
		}
	}
}

func TestParseSchedule(t *testing.T) {
	in := "3s heal; 1s partition n0,n1|n2; 2s cut n0->n1,n2\n2.5s crash n1; 4s restart 1; 5s skew n2 +50ms; 5s drift n2 -0.001; 6s pause n0; 7s resume n0"
	got, err := ParseSchedule(in, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := "1s partition n0,n1|n2; 2s cut n0->n1,n2; 2.5s crash n1; 3s heal; 4s restart n1; 5s skew n2 +50ms; 5s drift n2 -0.001; 6s pause n0; 7s resume n0"
	if s := FormatSchedule(got); s != want {
		t.Fatalf("round trip:\n got %s\nwant %s", s, want)
	}
	for _, bad := range []struct{ in, want string }{
		{"1s explode n1", `unknown action "explode"`},
		{"soon crash n1", `bad time "soon"`},
		{"1s crash n9", "node n9 is not in the group"},
		{"1s partition n0", "at least two groups"},
		{"1s crash x", `bad node "x"`},
		{"1s drift n0 2", "drift 2 out of range"},
	} {
		if _, err := ParseSchedule(bad.in, 3); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("ParseSchedule(%q) = %v; want %q", bad.in, err, bad.want)
		}
	}
}

func TestParseLatency(t *testing.T) {
	for in, want := range map[string]string{"5ms": "5ms", "uniform:1ms-10ms": "uniform:1ms-10ms", "1ms-2ms": "uniform:1ms-2ms", "exp:1ms+4ms": "exp:1ms+4ms", "exp:4ms": "exp:0s+4ms"} {
		l, err := ParseLatency(in)
		if err != nil || l.String() != want {
			t.Errorf("ParseLatency(%q) = %v, %v; want %s", in, l, err, want)
		}
	}
	for _, bad := range []string{"fast", "uniform:5ms", "10ms-1ms", "-1ms", "gauss:1ms"} {
		if _, err := ParseLatency(bad); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("ParseLatency(%q) = %v; want an error naming it", bad, err)
		}
	}
}

func TestPerLinkOverride(t *testing.T) {
	links := map[Pair]Link{}
	base := Link{Latency: Constant(time.Millisecond)}
	if err := ParseLinkOverride("n0->n1:latency=50ms,loss=0.5", 3, base, links); err != nil {
		t.Fatal(err)
	}
	if err := ParseLinkOverride("*->n2:reorder=true", 3, base, links); err != nil {
		t.Fatal(err)
	}
	if l := links[Pair{0, 1}]; l.Latency != Constant(50*time.Millisecond) || l.Loss != 0.5 {
		t.Fatalf("n0->n1 = %+v", l)
	}
	if len(links) != 4 || !links[Pair{1, 2}].Reorder || links[Pair{1, 2}].Latency != base.Latency {
		t.Fatalf("links = %+v", links)
	}
	for _, bad := range []string{"n0-n1:loss=1", "n0->n9:loss=0.1", "n0->n1:loss=2", "n0->n1:speed=3", "n0->n1"} {
		if err := ParseLinkOverride(bad, 3, base, map[Pair]Link{}); err == nil {
			t.Errorf("ParseLinkOverride(%q) accepted", bad)
		}
	}
	// The override is what the simulator uses: a slow link delivers late.
	cfg := Config{Nodes: 2, New: pinger(5), Registry: reg(), Network: Network{Default: base, Links: map[Pair]Link{{0, 1}: {Latency: Constant(50 * time.Millisecond)}}}}
	s := mustRun(t, cfg, time.Second)
	for i, e := range s.Trace().Filter(trace.Deliver) {
		if want := time.Duration(i+1)*time.Millisecond + 50*time.Millisecond; e.Time != want {
			t.Fatalf("delivery %d at %v, want %v over the 50ms link", i, e.Time, want)
		}
	}
}

func TestRandomCrashesRespectMaxDown(t *testing.T) {
	for _, c := range []struct{ n, maxDown, want int }{{2, 0, 1}, {5, 0, 2}, {5, 1, 1}} {
		cfg := Config{Nodes: c.n, New: chatter, Registry: reg(), Seed: 5, Nemesis: Nemesis{Crash: 200, RestartAfter: 20 * time.Millisecond, MaxDown: c.maxDown}}
		s, _ := New(cfg)
		down, most := 0, 0
		s.cfg.Recorders = []trace.Recorder{recorderFunc(func(e *trace.Event) {
			switch e.Kind {
			case trace.Crash:
				down++
			case trace.Restart:
				down--
			}
			most = max(most, down)
		})}
		if err := s.Run(500 * time.Millisecond); err != nil {
			t.Fatal(err)
		}
		if most != c.want {
			t.Errorf("N=%d MaxDown=%d: at most %d down at once, want %d", c.n, c.maxDown, most, c.want)
		}
	}
}

type recorderFunc func(e *trace.Event)

func (f recorderFunc) Record(e *trace.Event) { f(e) }
