package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/sim"
	"github.com/synod-dev/synod/trace"
)

// synod runs the command line in-process and returns its output and error.
func synod(args ...string) (string, error) {
	var out bytes.Buffer
	root := newRoot(&out, &out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

// faulty is a run spec with every kind of fault at once.
func faulty(a *algorithm) *runSpec {
	return &runSpec{alg: a, nodes: a.Nodes, length: a.Length, ops: a.Ops, base: sim.Config{
		Network: sim.Network{Default: sim.Link{Latency: sim.Exponential(time.Millisecond, 2*time.Millisecond), Loss: 0.02, Duplicate: 0.02, Bandwidth: 1 << 20}},
		Nemesis: sim.Nemesis{Partition: 2, PartitionFor: 50 * time.Millisecond, Crash: 2, RestartAfter: 50 * time.Millisecond, Pause: 2, PauseFor: 20 * time.Millisecond, Skew: 5 * time.Millisecond, Drift: 0.001, Stop: a.Length / 2},
	}}
}

// Every algorithm in the catalog, run twice with the same seed and faults,
// gives identical trace digests; another seed gives another trace.
func TestCatalogIsDeterministic(t *testing.T) {
	for _, a := range catalog {
		t.Run(a.Name, func(t *testing.T) {
			spec := faulty(a)
			for seed := uint64(1); seed <= 3; seed++ {
				r1, r2 := spec.execute(seed, true), spec.execute(seed, true)
				if r1.err != nil {
					t.Fatalf("seed %d: %v", seed, r1.err)
				}
				d1, d2 := trace.Digest(r1.trace), trace.Digest(r2.trace)
				if d1 != d2 {
					t.Fatalf("seed %d: same seed, different traces (%s vs %s)", seed, d1, d2)
				}
				if d3 := trace.Digest(spec.execute(seed+1000, true).trace); d3 == d1 {
					t.Fatalf("seeds %d and %d gave identical traces", seed, seed+1000)
				}
			}
		})
	}
}

// Every correct algorithm passes its checks on a healthy network, and every
// broken variant is caught within a few seeds.
func TestCatalogCorrectPassesBrokenIsCaught(t *testing.T) {
	for _, a := range catalog {
		spec := &runSpec{alg: a, nodes: a.Nodes, length: a.Length, ops: a.Ops}
		for seed := uint64(1); seed <= 10; seed++ {
			if r := spec.execute(seed, false); !r.ok() {
				t.Errorf("%s seed %d: %v %+v", a.Name, seed, r.err, r.checks)
			}
		}
		for _, v := range a.Variants {
			if v.CaughtBy != "" {
				t.Logf("%s --variant %s: caught by a scenario test (%s)", a.Name, v.Name, v.CaughtBy)
				continue
			}
			vs := *spec
			vs.variant = v.Name
			vs.base.Nemesis = v.ExposedBy
			caught := uint64(0)
			for seed := uint64(1); seed <= 20 && caught == 0; seed++ {
				if r := vs.execute(seed, false); r.err == nil && !r.ok() {
					caught = seed
				}
			}
			if caught == 0 {
				t.Errorf("%s --variant %s: not caught in 20 seeds", a.Name, v.Name)
			} else {
				t.Logf("%s --variant %s: caught at seed %d", a.Name, v.Name, caught)
			}
		}
	}
}

func TestSimPrintsSummaryAndTextbook(t *testing.T) {
	out, err := synod("sim", "broadcast/total-order", "--nodes", "3", "--seed", "4")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"total order", "pass", "broadcast.ack", "messages per operation", "N(N−1) = 6", "virtual time to completion"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

func TestViolationExitsNonZeroWithReplayCommand(t *testing.T) {
	out, err := synod("sim", "clock/lamport", "--variant", "no-max", "--loss", "0.05", "--seed", "3")
	if !errors.Is(err, errViolation) {
		t.Fatalf("err = %v; want a violation\n%s", err, out)
	}
	want := "sim clock/lamport --variant no-max --loss 0.05 --seed 3"
	if !strings.Contains(out, want) || !strings.Contains(out, "FAIL seed 3") {
		t.Fatalf("output lacks the replay command %q:\n%s", want, out)
	}
	// The replay command gives the same result.
	again, _ := synod("sim", "clock/lamport", "--variant", "no-max", "--loss", "0.05", "--seed", "3")
	if again != out {
		t.Fatal("replaying the printed command gave different output")
	}
}

func TestSweepReportsFailingSeeds(t *testing.T) {
	out, err := synod("sim", "clock/vector", "--variant", "no-merge", "--seeds", "5")
	if !errors.Is(err, errViolation) || !strings.Contains(out, "5 of 5 seeds violated") || !strings.Contains(out, "--seed 1") {
		t.Fatalf("err %v\n%s", err, out)
	}
	out, err = synod("sim", "clock/vector", "--seeds", "5", "--loss", "0.1")
	if err != nil || !strings.Contains(out, "5/5") {
		t.Fatalf("err %v\n%s", err, out)
	}
}

func TestBadInputGetsOneClearLine(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"sim", "nosuch"}, `unknown algorithm "nosuch"; known: broadcast/best-effort, broadcast/causal, broadcast/fifo, broadcast/gossip`},
		{[]string{"sim", "clock/lamport", "--loss", "1.5"}, `invalid argument "1.5" for "--loss" flag: want a probability between 0 and 1`},
		{[]string{"sim", "clock/lamport", "--latency", "fast"}, `invalid argument "fast" for "--latency" flag: want a duration`},
		{[]string{"sim", "clock/lamport", "--crashes", "-1"}, `invalid argument "-1" for "--crashes" flag: want a non-negative rate`},
		{[]string{"sim", "clock/lamport", "--time", "soon"}, `invalid argument "soon" for "--time" flag: want a non-negative duration`},
		{[]string{"sim", "clock/lamport", "--bandwidth", "lots"}, `invalid argument "lots" for "--bandwidth" flag: want bytes per second`},
		{[]string{"sim", "clock/lamport", "--schedule", "1s crash n7"}, "node n7 is not in the group n0..n3"},
		{[]string{"sim", "clock/lamport", "--variant", "x"}, `unknown --variant "x" for clock/lamport; known: no-max, no-sync`},
		{[]string{"sim", "clock/lamport", "--nodes", "0"}, "bad --nodes 0"},
		{[]string{"sim"}, "sim takes one algorithm name"},
	}
	for _, c := range cases {
		_, err := synod(c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("synod %s: err = %v; want %q", strings.Join(c.args, " "), err, c.want)
		}
		if err != nil && strings.Count(err.Error(), "\n") > 0 {
			t.Errorf("synod %s: error is more than one line: %q", strings.Join(c.args, " "), err)
		}
	}
}

func TestListShowsEveryAlgorithm(t *testing.T) {
	out, err := synod("list")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range catalog {
		if !strings.Contains(out, a.Name) {
			t.Errorf("list lacks %s", a.Name)
		}
	}
	if !strings.Contains(out, "--variant no-sync: broken on purpose: write the clock to storage without syncing: a crash-restart turns it back (shows with --crashes 10 --restart-after 20ms)") {
		t.Errorf("list does not say which faults expose no-sync:\n%s", out)
	}
}

func TestNemesisPresetsAndLinkOverrides(t *testing.T) {
	out, err := synod("sim", "clock/vector", "--nemesis", "partition,crash,pause,clock", "--link", "n0->n1:latency=80ms,loss=0.3")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"partitions 2/s", "crashes 1/s", "pauses 2/s", "clock skew ±50ms", "1 links overridden"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
	// An explicit rate wins over the preset's.
	out, _ = synod("sim", "clock/vector", "--nemesis", "crash", "--crashes", "5")
	if !strings.Contains(out, "crashes 5/s") {
		t.Errorf("--crashes 5 with --nemesis crash:\n%s", out)
	}
	for _, c := range []struct{ args, want string }{
		{"--nemesis bogus", `unknown --nemesis "bogus"; known: partition, crash, pause, clock, all`},
		{"--link n0->n9:loss=0.1", "node n9 is not in the group"},
		{"--link n0->n1:speed=2", `unknown setting "speed"`},
	} {
		_, err := synod(append([]string{"sim", "clock/vector"}, strings.Fields(c.args)...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.args, err, c.want)
		}
	}
}
