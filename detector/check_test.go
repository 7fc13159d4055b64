package detector

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// traceBuilder writes a detector's trace by hand, in milliseconds. The
// checker reads true times only, so no vector clocks are needed.
type traceBuilder struct {
	t   trace.Trace
	ids uint64
}

func newTrace(n int) *traceBuilder { return &traceBuilder{t: trace.Trace{Nodes: n}} }

func (b *traceBuilder) event(at int, e trace.Event) {
	e.Time = time.Duration(at) * ms
	b.t.Record(&e)
}

func (b *traceBuilder) crash(at int, n node.ID) { b.event(at, trace.Event{Kind: trace.Crash, Node: n}) }
func (b *traceBuilder) restart(at int, n node.ID) {
	b.event(at, trace.Event{Kind: trace.Restart, Node: n})
	b.event(at, trace.Event{Kind: trace.Start, Node: n})
}
func (b *traceBuilder) pause(at int, n node.ID) { b.event(at, trace.Event{Kind: trace.Pause, Node: n}) }
func (b *traceBuilder) resume(at int, n node.ID) {
	b.event(at, trace.Event{Kind: trace.Resume, Node: n})
}
func (b *traceBuilder) suspect(at int, p, q node.ID) {
	b.event(at, trace.Event{Kind: trace.Emit, Node: p, Value: Suspect{Process: q, Timeout: 500 * ms}})
}
func (b *traceBuilder) restore(at int, p, q node.ID) {
	b.event(at, trace.Event{Kind: trace.Emit, Node: p, Value: Restore{Process: q, Timeout: time.Second}})
}

// heartbeat sends a heartbeat from p to q at sent and delivers it at got
// (got < 0: lost).
func (b *traceBuilder) heartbeat(sent, got int, p, q node.ID) {
	id := b.send(sent, p, q)
	if got >= 0 {
		b.deliver(got, id, p, q)
	}
}

// send sends a heartbeat from p to q and returns its message ID.
func (b *traceBuilder) send(at int, p, q node.ID) uint64 {
	b.ids++
	b.event(at, trace.Event{Kind: trace.Send, Node: p, Peer: q, MsgID: b.ids, Value: heartbeat{Boot: 1, Seq: b.ids}})
	return b.ids
}

// deliver delivers message id, sent by p, to q.
func (b *traceBuilder) deliver(at int, id uint64, p, q node.ID) {
	b.event(at, trace.Event{Kind: trace.Deliver, Node: q, Peer: p, MsgID: id, Value: heartbeat{Boot: 1, Seq: id}})
}

// end marks the end of the run (the checker takes the last event's time).
func (b *traceBuilder) end(at int) { b.event(at, trace.Event{Kind: trace.Note, Node: node.None}) }

// verdict is what a test expects of one property: whether it holds, and a
// piece of its Detail.
type verdict struct {
	ok     bool
	detail string
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name string
		n    int
		run  func(b *traceBuilder)
		want map[string]verdict
	}{
		{
			name: "empty run",
			n:    3,
			run:  func(b *traceBuilder) {},
			want: map[string]verdict{
				PropCompleteness: {true, "no process crashed for good by 0s: nothing to detect"},
				PropAccuracy:     {true, "no false suspicions"},
			},
		},
		{
			name: "a crash suspected by every correct process",
			n:    3,
			run: func(b *traceBuilder) {
				b.crash(100, n2)
				b.suspect(300, n0, n2)
				b.suspect(350, n1, n2)
				b.end(1000)
			},
			want: map[string]verdict{
				PropCompleteness: {true, "n2 (crashed at 100ms) suspected for good by every correct process; detection time max 250ms (n1 of n2), mean 225ms"},
				PropAccuracy:     {true, "no false suspicions"},
			},
		},
		{
			name: "a correct process never suspects the crash",
			n:    3,
			run: func(b *traceBuilder) {
				b.crash(100, n2)
				b.suspect(300, n0, n2)
				b.end(1000)
			},
			want: map[string]verdict{
				PropCompleteness: {false, "n1 does not suspect n2 at the end, though n2 crashed at 100ms"},
			},
		},
		{
			name: "a suspicion withdrawn after the crash is not detection",
			n:    2,
			run: func(b *traceBuilder) {
				b.crash(100, n1)
				b.suspect(300, n0, n1)
				b.restore(320, n0, n1) // a late heartbeat, say
				b.end(1000)
			},
			want: map[string]verdict{
				PropCompleteness: {false, "n0 does not suspect n1 at the end"},
			},
		},
		{
			name: "two crashes, several misses",
			n:    4,
			run: func(b *traceBuilder) {
				b.crash(100, n1)
				b.crash(200, n2)
				b.end(1000)
			},
			want: map[string]verdict{
				PropCompleteness: {false, "n0 does not suspect n1 at the end, though n1 crashed at 100ms (and 3 more such pairs)"},
			},
		},
		{
			name: "a crash too late to judge",
			n:    3,
			run: func(b *traceBuilder) {
				b.crash(900, n2)
				b.end(1000)
			},
			want: map[string]verdict{
				PropCompleteness: {true, "no process crashed for good by 750ms: nothing to detect; n2 (crashed at 900ms) crashed after 750ms, too late to judge"},
			},
		},
		{
			name: "a crash that restarts is not a crash for good",
			n:    2,
			run: func(b *traceBuilder) {
				b.crash(100, n1)
				b.suspect(300, n0, n1)
				b.restart(400, n1)
				b.restore(450, n0, n1)
				b.end(1000)
			},
			want: map[string]verdict{
				PropCompleteness: {true, "nothing to detect"},
				PropAccuracy:     {true, "no false suspicions"},
			},
		},
		{
			name: "an observer that restarted is timed from its restart",
			n:    3,
			run: func(b *traceBuilder) {
				b.crash(50, n2)
				b.suspect(150, n1, n2)
				b.crash(100, n0)
				b.restart(300, n0)
				b.suspect(600, n0, n2)
				b.end(1000)
			},
			want: map[string]verdict{
				PropCompleteness: {true, "detection time max 300ms (n0 of n2), mean 200ms"},
			},
		},
		{
			name: "an observer that crashed for good is not judged",
			n:    3,
			run: func(b *traceBuilder) {
				b.crash(100, n2)
				b.crash(150, n1)
				b.suspect(300, n0, n2)
				b.suspect(350, n0, n1)
				b.end(1000)
			},
			want: map[string]verdict{
				PropCompleteness: {true, "n2 and n1 (crashed at 100ms and 150ms) suspected for good by every correct process; detection time max 200ms (n0 of n2), mean 200ms"},
			},
		},
		{
			name: "a suspicion held before the crash detects it at once",
			n:    2,
			run: func(b *traceBuilder) {
				b.suspect(50, n0, n1)
				b.crash(100, n1)
				b.end(1000)
			},
			want: map[string]verdict{
				PropCompleteness: {true, "detection time max 0s (n0 of n1), mean 0s"},
				PropAccuracy:     {true, "1 false suspicion, none after 750ms; the last at 50ms (n0 suspected n1)"},
			},
		},
		{
			name: "false suspicions that stop",
			n:    3,
			run: func(b *traceBuilder) {
				b.pause(100, n1)
				b.suspect(300, n0, n1) // a paused process is up: false
				b.suspect(310, n2, n1)
				b.resume(400, n1)
				b.restore(410, n0, n1)
				b.restore(410, n2, n1)
				b.suspect(500, n0, n2)
				b.restore(520, n0, n2)
				b.end(1000)
			},
			want: map[string]verdict{
				PropAccuracy: {true, "3 false suspicions, none after 750ms; the last at 500ms (n0 suspected n2)"},
			},
		},
		{
			name: "false suspicions that go on",
			n:    2,
			run: func(b *traceBuilder) {
				for at := 100; at < 1000; at += 200 {
					b.suspect(at, n0, n1)
					b.restore(at+50, n0, n1)
				}
				b.end(1000)
			},
			want: map[string]verdict{
				PropAccuracy: {false, "false suspicions do not stop: 5 in all, 1 after 750ms; the last at 900ms (n0 suspected n1, which was up)"},
			},
		},
		{
			name: "a false suspicion never withdrawn",
			n:    2,
			run: func(b *traceBuilder) {
				b.suspect(100, n0, n1)
				b.end(1000)
			},
			want: map[string]verdict{
				PropAccuracy: {false, "n0 still suspects n1 at the end (since 100ms), though n1 is up"},
			},
		},
		{
			name: "a restarted process not yet restored is not held against the detector",
			n:    2,
			run: func(b *traceBuilder) {
				b.crash(100, n1)
				b.suspect(300, n0, n1)
				b.restart(900, n1)
				b.end(1000)
			},
			want: map[string]verdict{
				PropCompleteness: {true, "nothing to detect"},
				PropAccuracy:     {true, "no false suspicions"},
			},
		},
		{
			name: "a restarted process still suspected long after",
			n:    2,
			run: func(b *traceBuilder) {
				b.crash(100, n1)
				b.suspect(300, n0, n1)
				b.restart(400, n1)
				b.end(1000)
			},
			want: map[string]verdict{
				PropAccuracy: {false, "n0 still suspects n1 at the end (since 300ms), though n1 is up"},
			},
		},
		{
			name: "a process paused at the end may be suspected",
			n:    2,
			run: func(b *traceBuilder) {
				b.pause(700, n1)
				b.suspect(740, n0, n1)
				b.end(1000)
			},
			want: map[string]verdict{
				PropAccuracy: {true, "1 false suspicion, none after 750ms; the last at 740ms (n0 suspected n1)"},
			},
		},
		{
			name: "a crash forgets the observer's suspicions",
			n:    2,
			run: func(b *traceBuilder) {
				b.suspect(100, n0, n1)
				b.crash(200, n0)
				b.restart(300, n0)
				b.end(1000)
			},
			want: map[string]verdict{
				PropAccuracy: {true, "1 false suspicion, none after 750ms"},
			},
		},
		{
			name: "a live node killed with kill -9 records no crash, but stops",
			n:    3,
			run: func(b *traceBuilder) {
				for at := 0; at <= 3000; at += 100 {
					b.send(at, n0, n1)
					b.send(at, n1, n0)
					if at <= 1000 {
						b.send(at, n2, n0)
					}
				}
				b.suspect(1500, n0, n2)
				b.suspect(1510, n1, n2)
			},
			want: map[string]verdict{
				PropCompleteness: {true, "n2 (crashed at 1s) suspected for good by every correct process; detection time max 510ms (n1 of n2), mean 505ms"},
				PropAccuracy:     {true, "no false suspicions"},
			},
		},
		{
			name: "a live node restarted after kill -9 was down in between",
			n:    2,
			run: func(b *traceBuilder) {
				for at := 0; at <= 2000; at += 100 {
					b.send(at, n0, n1)
					if at == 1500 {
						b.restart(1500, n1)
					}
					if at <= 500 || at >= 1500 {
						b.send(at, n1, n0)
					}
				}
				b.suspect(1000, n0, n1)
				b.restore(1600, n0, n1)
			},
			want: map[string]verdict{
				PropCompleteness: {true, "nothing to detect"},
				PropAccuracy:     {true, "no false suspicions"},
			},
		},
		{
			name: "malformed events are ignored",
			n:    2,
			run: func(b *traceBuilder) {
				b.suspect(100, n0, node.ID(9))
				b.suspect(100, n0, n0)
				b.event(100, trace.Event{Kind: trace.Emit, Node: n0, Value: Restore{Process: -3}})
				b.end(1000)
			},
			want: map[string]verdict{
				PropCompleteness: {true, "nothing to detect"},
				PropAccuracy:     {true, "no false suspicions"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newTrace(tc.n)
			tc.run(b)
			checks := Check(&b.t)
			if len(checks) != 2 || checks[0].Property != PropCompleteness || checks[1].Property != PropAccuracy {
				t.Fatalf("checks = %+v, want completeness then eventual accuracy", checks)
			}
			for _, c := range checks {
				want, ok := tc.want[c.Property]
				if !ok {
					want = verdict{ok: true}
				}
				if c.OK != want.ok || !strings.Contains(c.Detail, want.detail) {
					t.Errorf("%s: ok=%v %q; want ok=%v containing %q", c.Property, c.OK, c.Detail, want.ok, want.detail)
				}
			}
		})
	}
}

// Analyze measures the heartbeats' delay (leaving out those held while the
// receiver was paused) and rate, and the detection times.
func TestAnalyzeMeasures(t *testing.T) {
	b := newTrace(3)
	b.heartbeat(0, 2, n0, n1)
	b.heartbeat(0, 4, n0, n2)
	b.heartbeat(100, 106, n1, n0)
	b.heartbeat(100, -1, n1, n2) // lost
	b.pause(150, n2)
	held := b.send(200, n0, n2)
	b.resume(300, n2)
	b.deliver(300, held, n0, n2) // held by the pause: not the network's delay
	b.crash(400, n1)
	b.suspect(900, n0, n1)
	b.suspect(950, n2, n1)
	b.end(2000)
	r := Analyze(&b.t)
	if r.Heartbeats != 5 || r.Delays != 3 || r.DelayMean != 4*ms || r.DelayMax != 6*ms {
		t.Errorf("heartbeats %d, delays %d, mean %v, max %v; want 5, 3, 4ms, 6ms", r.Heartbeats, r.Delays, r.DelayMean, r.DelayMax)
	}
	if want := 2*time.Second + 400*ms + 1850*ms; r.Running != want { // n2 was paused for 150 ms
		t.Errorf("running time %v, want %v", r.Running, want)
	}
	if got, want := r.Rate(), 5/4.25; math.Abs(got-want) > 1e-9 {
		t.Errorf("rate %v, want %v", got, want)
	}
	if r.MaxDetection() != 550*ms || r.MeanDetection() != 525*ms {
		t.Errorf("detection max %v mean %v, want 550ms and 525ms", r.MaxDetection(), r.MeanDetection())
	}
	costs := HeartbeatCosts(&b.t, 3, HeartbeatConfig{})
	want := map[string]string{
		"detection time (max)":            "550 ms",
		"detection time (mean)":           "525 ms",
		"false suspicions":                "0",
		"heartbeat delay δ (mean)":        "4 ms",
		"messages per second per process": "1.2",
	}
	textbook := map[string]string{
		"detection time (max)":            "T + δmax = 506ms (T = 500ms)",
		"detection time (mean)":           "≈ T + δ − P/2 = 454ms (T = 500ms)",
		"false suspicions":                "finitely many (◇P)",
		"messages per second per process": "(N−1)/P = 20",
	}
	for _, c := range costs {
		if c.String() != want[c.Name] || c.Textbook != textbook[c.Name] {
			t.Errorf("%s: %s beside %q; want %s beside %q", c.Name, c, c.Textbook, want[c.Name], textbook[c.Name])
		}
		delete(want, c.Name)
	}
	if len(want) > 0 {
		t.Errorf("costs missing: %v", want)
	}
	phi := PhiCosts(&b.t, 3, PhiConfig{Threshold: 2})
	if c := phi[2]; c.Name != "false suspicions" || c.Textbook != "≈ 0.03 (3 heartbeats × 10^−2)" {
		t.Errorf("φ's false suspicions beside %q", c.Textbook)
	}
}

// A detection by an observer paused after the crash is slower than the
// textbook's, for a running observer: Check counts it, the costs leave it out.
func TestPausedObserverLeftOutOfCosts(t *testing.T) {
	b := newTrace(3)
	b.crash(100, n2)
	b.suspect(600, n0, n2)
	b.pause(200, n1)
	b.resume(900, n1)
	b.suspect(900, n1, n2)
	b.end(2000)
	r := Analyze(&b.t)
	if len(r.Detections) != 2 || r.Detections[0].Paused || !r.Detections[1].Paused {
		t.Fatalf("detections %+v: want n0's running, n1's paused", r.Detections)
	}
	if c := r.Completeness(); !strings.Contains(c.Detail, "detection time max 800ms (n1 of n2), mean 650ms") {
		t.Errorf("completeness: %s", c.Detail)
	}
	for _, c := range HeartbeatCosts(&b.t, 3, HeartbeatConfig{}) {
		if strings.HasPrefix(c.Name, "detection time") && c.String() != "500 ms" {
			t.Errorf("%s = %s, want n0's 500 ms only", c.Name, c)
		}
	}
}
