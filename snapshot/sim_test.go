package snapshot_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/snapshot"
	"github.com/synod-dev/synod/trace"
)

// The defaults of a run, as in synod's catalog: 4 branches for a second,
// 5 snapshots initiated in the first half.
const (
	defaultNodes  = 4
	defaultOps    = 5
	defaultLength = time.Second
)

// scenario is one simulated run of the bank with the catalog's workload.
type scenario struct {
	variant string
	n       int
	seed    uint64
	ops     int           // 0: defaultOps
	length  time.Duration // 0: defaultLength
	link    sim.Link      // zero: the simulator's default (FIFO, 1–5 ms)
}

func (sc scenario) withDefaults() scenario {
	if sc.n == 0 {
		sc.n = defaultNodes
	}
	if sc.ops == 0 {
		sc.ops = defaultOps
	}
	if sc.length == 0 {
		sc.length = defaultLength
	}
	return sc
}

// config is the catalog's configuration of a variant.
func config(variant string) snapshot.Config {
	return snapshot.Config{NoMarkerWait: variant == "no-marker-wait", RecordLate: variant == "record-late"}
}

func (sc scenario) run(t testing.TB) *trace.Trace {
	t.Helper()
	sc = sc.withDefaults()
	cfg := config(sc.variant)
	s, err := sim.New(sim.Config{
		Nodes:    sc.n,
		New:      func(node.ID) node.Process { return snapshot.NewChandyLamport(cfg) },
		Registry: node.NewRegistry(snapshot.Messages()...),
		Seed:     sc.seed,
		Network:  sim.Network{Default: sc.link},
	})
	if err != nil {
		t.Fatal(err)
	}
	snapshot.Workload(s, sc.ops, sc.length)
	if err := s.Run(sc.length); err != nil {
		t.Fatalf("%v\nreplay: %s", err, sc.replay())
	}
	return s.Trace()
}

// replay is the command line that reruns the scenario.
func (sc scenario) replay() string {
	sc = sc.withDefaults()
	args := []string{"go run ./cmd/synod sim snapshot/chandy-lamport"}
	if sc.variant != "" {
		args = append(args, "--variant", sc.variant)
	}
	args = append(args, "--nodes", fmt.Sprint(sc.n), "--ops", fmt.Sprint(sc.ops), "--time", sc.length.String())
	args = append(args, sc.link.Flags()...)
	return strings.Join(append(args, "--seed", fmt.Sprint(sc.seed)), " ")
}

// seeds is the number of seeds of the property tests: SNAPSHOT_SEEDS in the
// environment raises it for a long sweep.
func seeds(t *testing.T, short uint64) uint64 {
	if s := os.Getenv("SNAPSHOT_SEEDS"); s != "" {
		var n uint64
		if _, err := fmt.Sscan(s, &n); err != nil || n == 0 {
			t.Fatalf("bad SNAPSHOT_SEEDS %q: want a positive count", s)
		}
		return n
	}
	return short
}

// requireOK fails the test for every failed check, with the replay command.
func requireOK(t *testing.T, sc scenario, checks []trace.Check) {
	t.Helper()
	for _, c := range checks {
		if !c.OK {
			t.Errorf("%s: %s\nseed %d; replay: %s", c.Property, c.Detail, sc.seed, sc.replay())
		}
	}
}

// initiated counts the Initiate requests of a run and the initiators'
// answers.
func initiated(tr *trace.Trace) (requests, replies int) {
	for _, e := range tr.Events {
		switch e.Value.(type) {
		case snapshot.Initiate:
			if e.Kind == trace.Request {
				requests++
			}
		case snapshot.ID:
			if e.Kind == trace.Reply {
				replies++
			}
		}
	}
	return requests, replies
}

// The correct algorithm, over many seeds and group sizes on FIFO networks
// with uniform and long-tailed delays: every property holds, every
// initiator answers, every snapshot sends exactly E markers and lasts at
// most two of its marker delays.
func TestChandyLamportOverSeeds(t *testing.T) {
	links := []sim.Link{{}, {Latency: sim.Exponential(time.Millisecond, 4*time.Millisecond)}}
	for _, n := range []int{2, 3, 4, 7} {
		for _, link := range links {
			for seed := uint64(1); seed <= seeds(t, 50); seed++ {
				sc := scenario{n: n, seed: seed, link: link}
				tr := sc.run(t)
				requireOK(t, sc, snapshot.Check(tr))
				if req, rep := initiated(tr); req != defaultOps || rep != req {
					t.Errorf("%d Initiate requests, %d answered; want %d of %d\nreplay: %s", req, rep, defaultOps, defaultOps, sc.replay())
				}
				st := snapshot.Measure(tr)
				if e := snapshot.TextbookMarkers(n); st.Snapshots != defaultOps || st.Markers != st.Snapshots*e {
					t.Errorf("%d snapshots sent %d markers; want %d each (E = N(N−1))\nreplay: %s", st.Snapshots, st.Markers, e, sc.replay())
				}
				if st.Delays <= 0 || st.Delays > 2 {
					t.Errorf("a snapshot lasted %.3f of its marker delays; want (0, 2]\nreplay: %s", st.Delays, sc.replay())
				}
			}
		}
	}
}

// Many snapshots from different initiators at once, on a busy bank: they
// overlap, and each is recorded on its own, consistent and complete.
func TestManyConcurrentSnapshots(t *testing.T) {
	for seed := uint64(1); seed <= seeds(t, 30); seed++ {
		sc := scenario{n: 5, seed: seed, ops: 40, length: 100 * time.Millisecond}
		tr := sc.run(t)
		requireOK(t, sc, snapshot.Check(tr))
		if o := overlapping(tr); o == 0 {
			t.Errorf("no two snapshots overlapped in time\nreplay: %s", sc.replay())
		}
	}
}

// overlapping counts the pairs of snapshots that were in progress at the
// same time (from the first recording to the last).
func overlapping(tr *trace.Trace) int {
	type span struct{ from, to time.Duration }
	spans := map[snapshot.ID]*span{}
	var order []snapshot.ID
	note := func(id snapshot.ID, at time.Duration) {
		s := spans[id]
		if s == nil {
			s = &span{from: at}
			spans[id] = s
			order = append(order, id)
		}
		s.to = at
	}
	for _, e := range tr.Filter(trace.Emit) {
		switch v := e.Value.(type) {
		case snapshot.StateRecorded:
			note(v.Snapshot, e.Time)
		case snapshot.ChannelRecorded:
			note(v.Snapshot, e.Time)
		}
	}
	pairs := 0
	for i, a := range order {
		for _, b := range order[:i] {
			if spans[a].from < spans[b].to && spans[b].from < spans[a].to {
				pairs++
			}
		}
	}
	return pairs
}

// Each broken variant is caught by the property it breaks within a few
// seeds of the catalog's default run.
func TestBrokenVariantsAreCaught(t *testing.T) {
	for _, c := range []struct{ variant, property string }{
		{"no-marker-wait", snapshot.PropConservation},
		{"no-marker-wait", snapshot.PropRecordedState},
		{"record-late", snapshot.PropConsistentCut},
		{"record-late", snapshot.PropConservation},
	} {
		caught := false
		for seed := uint64(1); seed <= 20 && !caught; seed++ {
			sc := scenario{variant: c.variant, seed: seed}
			for _, v := range snapshot.Check(sc.run(t)) {
				if v.Property == c.property && !v.OK {
					t.Logf("--variant %s caught at seed %d: %s: %s\nreplay: %s", c.variant, seed, v.Property, v.Detail, sc.replay())
					caught = true
				}
			}
		}
		if !caught {
			t.Errorf("--variant %s passed %q on seeds 1..20", c.variant, c.property)
		}
	}
}

// The algorithm's assumptions are real: with channels that reorder, a
// marker is overtaken and the cut breaks; with channels that lose
// messages, a lost marker leaves its snapshot unfinished. The checker says
// so on the correct algorithm.
func TestBrokenAssumptionsAreCaught(t *testing.T) {
	for _, c := range []struct {
		link     sim.Link
		property string
	}{
		{sim.Link{Latency: sim.Uniform(time.Millisecond, 5*time.Millisecond), Reorder: true}, snapshot.PropConsistentCut},
		{sim.Link{Latency: sim.Uniform(time.Millisecond, 5*time.Millisecond), Loss: 0.05}, snapshot.PropTermination},
	} {
		caught := false
		for seed := uint64(1); seed <= 20 && !caught; seed++ {
			sc := scenario{seed: seed, link: c.link}
			for _, v := range snapshot.Check(sc.run(t)) {
				if v.Property == c.property && !v.OK {
					t.Logf("caught at seed %d: %s: %s\nreplay: %s", seed, v.Property, v.Detail, sc.replay())
					caught = true
				}
			}
		}
		if !caught {
			t.Errorf("%s passed on seeds 1..20 with link %+v", c.property, c.link)
		}
	}
}

// The single-token system of Chandy & Lamport §2 in the simulator, on
// channels with a constant 1 ms delay: p (n0) sends the token to q (n1) at
// time 0; q initiates a snapshot at 0.5 ms, while the token is in c. The
// marker reaches p at 1.5 ms, after it gave the token away; p's marker
// reaches q at 2.5 ms, after the token (1 ms). The recorded state is in-c,
// and the checker, judging the trace, agrees.
func TestSingleTokenInTheSimulator(t *testing.T) {
	cfg := snapshot.Config{Balances: []int64{1, 0}, NoTransfers: true}
	s, err := sim.New(sim.Config{
		Nodes:    2,
		New:      func(node.ID) node.Process { return snapshot.NewChandyLamport(cfg) },
		Registry: node.NewRegistry(snapshot.Messages()...),
		Network:  sim.Network{Default: sim.Link{Latency: sim.Constant(time.Millisecond)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Request(0, 0, snapshot.Pay{To: 1, Amount: 1})
	s.Request(500*time.Microsecond, 1, snapshot.Initiate{})
	if err := s.Run(time.Second); err != nil {
		t.Fatal(err)
	}
	tr := s.Trace()
	for _, c := range snapshot.Check(tr) {
		if !c.OK {
			t.Errorf("%s: %s", c.Property, c.Detail)
		}
	}
	gs := snapshot.GlobalStates(tr)
	if len(gs) != 1 || gs[0].String() != "n1#1: n0 0, n1 0; n0→n1 [1]; total 1" {
		t.Errorf("recorded global states %v; want n1#1 with the token in c", gs)
	}
	st := snapshot.Measure(tr)
	if st.Markers != 2 || st.Duration != 2*time.Millisecond || st.Delays != 2 {
		t.Errorf("measured %+v; want 2 markers, over 2 ms = 2 marker delays", st)
	}
}

// The costs the catalog prints: E markers per snapshot beside E, for
// several group sizes.
func TestCostsBesideTheTextbook(t *testing.T) {
	for _, n := range []int{3, 5, 9} {
		sc := scenario{n: n, seed: 1}
		costs := snapshot.Costs(sc.run(t), n)
		if c := costs[0]; c.Value != float64(n*(n-1)) || c.Textbook != fmt.Sprintf("E = N(N−1) = %d", n*(n-1)) {
			t.Errorf("N=%d: %s = %v beside %q", n, c.Name, c.Value, c.Textbook)
		}
		if c := costs[1]; c.Unit != "ms" || c.Value <= 0 || c.Value > 10 {
			t.Errorf("N=%d: %s = %v %s; want within two 5 ms delays", n, c.Name, c.Value, c.Unit)
		}
		if c := costs[2]; c.Value <= 1 || c.Value > 2 {
			t.Errorf("N=%d: %s = %v; want in (1, 2]", n, c.Name, c.Value)
		}
	}
}

// A trace written as JSON Lines and read back (as `synod check` reads the
// traces of live nodes) gets the same verdicts; snapshot IDs read as they
// print.
func TestVerdictsSurviveJSONL(t *testing.T) {
	for _, variant := range []string{"", "record-late"} {
		tr := scenario{variant: variant, seed: 2}.run(t)
		var buf bytes.Buffer
		if err := trace.WriteJSONL(&buf, tr); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(buf.String(), `"value":{"Snapshot":"n`) {
			t.Errorf("the JSON Lines trace does not show snapshot IDs as n<i>#<seq>")
		}
		back, err := trace.ReadJSONL(&buf, node.NewRegistry(snapshot.Messages()...))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fmt.Sprint(snapshot.Check(back)), fmt.Sprint(snapshot.Check(tr)); got != want {
			t.Errorf("variant %q: read back: %s\nwant %s", variant, got, want)
		}
	}
	var id snapshot.ID
	for _, bad := range []string{`"n1"`, `"x#1"`, `"n1#2x"`, `3`} {
		if err := json.Unmarshal([]byte(bad), &id); err == nil {
			t.Errorf("ID %s: no error", bad)
		}
	}
	if err := json.Unmarshal([]byte(`"n12#3"`), &id); err != nil || id != (snapshot.ID{Initiator: 12, Seq: 3}) {
		t.Errorf(`"n12#3" read as %v, %v`, id, err)
	}
}
