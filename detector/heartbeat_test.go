package detector

import (
	"reflect"
	"testing"
	"time"

	"github.com/synod-dev/synod/node"
)

// step is one moment of a scripted run of a single process n0: the clock
// moves to at (firing the timers due by then), then, unless from is
// node.None, a heartbeat from that process arrives. want is everything the
// process emits during the step.
type step struct {
	at   time.Duration
	from node.ID
	want []any
}

const (
	n0, n1, n2 = node.ID(0), node.ID(1), node.ID(2)
	ms         = time.Millisecond
)

// script runs steps against process p as n0 of a group of n and reports
// every step whose emissions differ from what it wants.
func script(t *testing.T, p node.Process, n int, steps []step) *fakeEnv {
	t.Helper()
	env := newFakeEnv(n0, n)
	p.Start(env)
	seq := map[node.ID]uint64{}
	for i, s := range steps {
		env.Advance(p, epoch.Add(s.at))
		if s.from != node.None {
			seq[s.from]++
			p.Receive(env, s.from, heartbeat{Boot: 1, Seq: seq[s.from]})
		}
		if got := env.TakeEmitted(); !reflect.DeepEqual(got, s.want) && (len(got) > 0 || len(s.want) > 0) {
			t.Errorf("step %d (at %v, heartbeat from %v): emitted %v, want %v", i, s.at, s.from, got, s.want)
		}
	}
	return env
}

// The detector follows Chandra and Toueg's time-out algorithm step by step:
// suspect q after Δp(q) of silence, restore it when a heartbeat arrives and
// lengthen Δp(q) by Δ; the broken variants deviate exactly where they say.
func TestHeartbeatSteps(t *testing.T) {
	none := node.None
	tests := []struct {
		name  string
		cfg   HeartbeatConfig
		n     int
		steps []step
	}{
		{
			name: "silence beyond the time-out is suspected; a heartbeat restores and lengthens it",
			cfg:  DefaultHeartbeatConfig(),
			n:    3,
			steps: []step{
				{at: 50 * ms, from: n1},
				{at: 450 * ms, from: n1},
				{at: 520 * ms, from: none, want: []any{Suspect{Process: n2, Timeout: 500 * ms}}}, // n2 silent since 0
				{at: 949 * ms, from: none},
				{at: 960 * ms, from: none, want: []any{Suspect{Process: n1, Timeout: 500 * ms}}}, // 450 + 500
				{at: 1000 * ms, from: n1, want: []any{Restore{Process: n1, Timeout: time.Second}}},
				{at: 1900 * ms, from: n1}, // 900 ms < 1 s: trusted
				{at: 2950 * ms, from: none, want: []any{Suspect{Process: n1, Timeout: time.Second}}}, // 1900 + 1000
				{at: 3000 * ms, from: n2, want: []any{Restore{Process: n2, Timeout: time.Second}}},
			},
		},
		{
			name: "a custom time-out and increment",
			cfg:  HeartbeatConfig{Period: 10 * ms, Timeout: 30 * ms, Increment: 5 * ms},
			n:    2,
			steps: []step{
				{at: 31 * ms, from: none, want: []any{Suspect{Process: n1, Timeout: 30 * ms}}},
				{at: 40 * ms, from: n1, want: []any{Restore{Process: n1, Timeout: 35 * ms}}},
				{at: 76 * ms, from: none, want: []any{Suspect{Process: n1, Timeout: 35 * ms}}},
				{at: 80 * ms, from: n1, want: []any{Restore{Process: n1, Timeout: 40 * ms}}},
			},
		},
		{
			name: "fixed-timeout: restored, but the time-out stays as short",
			cfg:  HeartbeatConfig{FixedTimeout: true},
			n:    2,
			steps: []step{
				{at: 600 * ms, from: none, want: []any{Suspect{Process: n1, Timeout: 500 * ms}}},
				{at: 700 * ms, from: n1, want: []any{Restore{Process: n1, Timeout: 500 * ms}}},
				{at: 1250 * ms, from: none, want: []any{Suspect{Process: n1, Timeout: 500 * ms}}},
				{at: 1300 * ms, from: n1, want: []any{Restore{Process: n1, Timeout: 500 * ms}}},
			},
		},
		{
			name: "shared-timer: n1's heartbeats keep the silent n2 trusted",
			cfg:  HeartbeatConfig{SharedTimer: true},
			n:    3,
			steps: []step{
				{at: 400 * ms, from: n1},
				{at: 800 * ms, from: n1},
				{at: 1200 * ms, from: n1},
				{at: 1600 * ms, from: n1},
				{at: 2500 * ms, from: none, want: []any{ // only when nobody speaks
					Suspect{Process: n1, Timeout: 500 * ms}, Suspect{Process: n2, Timeout: 500 * ms}}},
			},
		},
		{
			name: "shared-timer with two processes is the per-process timer",
			cfg:  HeartbeatConfig{SharedTimer: true},
			n:    2,
			steps: []step{
				{at: 501 * ms, from: none, want: []any{Suspect{Process: n1, Timeout: 500 * ms}}},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			script(t, NewHeartbeat(tc.cfg), tc.n, tc.steps)
		})
	}
}

// Every period each process sends one heartbeat to each other process,
// numbered by its boot count (synced before the first one leaves) and a
// sequence number; a restarted process counts one more boot and starts its
// sequence over.
func TestHeartbeatSendsNumberedHeartbeats(t *testing.T) {
	env := newFakeEnv(n1, 4)
	p := NewHeartbeat(HeartbeatConfig{})
	p.Start(env)
	env.Advance(p, epoch.Add(250*ms)) // rounds at 0, 100 and 200 ms
	if len(env.Sent) != 9 {
		t.Fatalf("%d heartbeats sent in 250 ms to 3 peers, want 9: %v", len(env.Sent), env.Sent)
	}
	for i, s := range env.Sent {
		want := heartbeat{Boot: 1, Seq: uint64(i/3 + 1)}
		if s.Msg != want || s.To == n1 {
			t.Errorf("heartbeat %d: %v to %v, want %v to a peer", i, s.Msg, s.To, want)
		}
	}
	if env.Disk().Syncs == 0 {
		t.Errorf("the boot count was never synced")
	}
	env.Crash() // a restart: a new process on the same storage
	env.Sent = nil
	NewHeartbeat(HeartbeatConfig{}).Start(env)
	if got := env.Sent[0].Msg; got != (heartbeat{Boot: 2, Seq: 1}) {
		t.Errorf("after a restart the first heartbeat is %v, want boot 2, seq 1", got)
	}
}

// The defaults are the documented ones, and a zero config takes them.
func TestHeartbeatDefaults(t *testing.T) {
	want := HeartbeatConfig{Period: 100 * ms, Timeout: 500 * ms, Increment: 500 * ms}
	if got := DefaultHeartbeatConfig(); got != want {
		t.Errorf("DefaultHeartbeatConfig() = %+v, want %+v", got, want)
	}
	if got := (HeartbeatConfig{}).withDefaults(); got != want {
		t.Errorf("zero config with defaults = %+v, want %+v", got, want)
	}
	if got := (HeartbeatConfig{Period: 10 * ms}).withDefaults(); got.Timeout != 50*ms || got.Increment != 50*ms {
		t.Errorf("defaults scale with the period: %+v", got)
	}
}
