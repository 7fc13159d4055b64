package trace

import (
	"reflect"
	"strings"
	"testing"
)

func TestMeasureSmallTrace(t *testing.T) {
	m := Measure(smallTrace())
	want := Metrics{
		Events: 20, Sent: 4, Delivered: 2, Dropped: 2, Bytes: 34,
		Requests: 1, Replies: 1, Emitted: 1, Timers: 1, Crashes: 1, Restarts: 1,
		Completion: 5 * ms, // the last delivery, emit and reply; the 10ms timer does not count
	}
	got := *m
	got.types, got.reasons = nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Measure:\n got %+v\nwant %+v", got, want)
	}
	wantTypes := []TypeStats{
		{Type: "trace.ack", Sent: 1, Bytes: 4, Delivered: 1},
		{Type: "trace.ping", Sent: 3, Bytes: 30, Delivered: 1, Dropped: 2},
	}
	if types := m.Types(); !reflect.DeepEqual(types, wantTypes) {
		t.Errorf("Types:\n got %+v\nwant %+v", types, wantTypes)
	}
	if got := m.Type("trace.ping"); got != wantTypes[1] {
		t.Errorf("Type(ping) = %+v", got)
	}
	if got := m.Type("nope"); got != (TypeStats{Type: "nope"}) {
		t.Errorf("Type(nope) = %+v", got)
	}
	wantReasons := []ReasonCount{{DropCrashed, 1}, {DropPartitioned, 1}}
	if got := m.DropReasons(); !reflect.DeepEqual(got, wantReasons) {
		t.Errorf("DropReasons = %+v, want %+v", got, wantReasons)
	}
	if m.DroppedFor(DropLoss) != 0 || m.DroppedFor(DropCrashed) != 1 {
		t.Errorf("DroppedFor: loss %d, crashed %d", m.DroppedFor(DropLoss), m.DroppedFor(DropCrashed))
	}
	if got := m.MessagesPerOp(); got != 4 {
		t.Errorf("MessagesPerOp = %v, want 4", got)
	}
}

func TestMetricsRounds(t *testing.T) {
	var m Metrics
	for _, e := range []Event{
		{Kind: Send, Round: 1, Type: "a.x", Size: 3},
		{Kind: Deliver, Round: 2, Time: 7, Type: "a.x"},
		{Kind: Timer, Round: 5, Time: 9}, // not observable: not completion
		{Kind: Emit, Round: 3, Time: 8},
	} {
		m.Record(&e)
	}
	if m.LastRound != 3 || m.Completion != 8 {
		t.Errorf("LastRound %d, Completion %v; want 3, 8ns", m.LastRound, m.Completion)
	}
	if m.MessagesPerOp() != 0 {
		t.Errorf("MessagesPerOp without replies = %v, want 0", m.MessagesPerOp())
	}
}

// A Metrics fed live gives the same figures as one measured afterwards.
func TestMetricsLiveEqualsReplay(t *testing.T) {
	tr := syntheticRun(1, 5, 10)
	var live Metrics
	for i := range tr.Events {
		e := tr.Events[i]
		live.Record(&e)
	}
	if !reflect.DeepEqual(&live, Measure(tr)) {
		t.Error("live and replayed metrics differ")
	}
}

func TestMetricsTable(t *testing.T) {
	var b strings.Builder
	if err := Measure(smallTrace()).Table(&b); err != nil {
		t.Fatal(err)
	}
	want := `type        sent  bytes  delivered  dropped
trace.ack      1      4          1        0
trace.ping     3     30          1        2
total          4     34          2        2
`
	if got := b.String(); got != want {
		t.Errorf("Table:\n%s\nwant:\n%s", got, want)
	}
}

func TestMetricsString(t *testing.T) {
	got := Measure(smallTrace()).String()
	want := "sent 4 msgs (34 B), delivered 2, dropped 2 (crashed 1, partitioned 1); 1/1 ops done, 4.00 msgs/op; done at 5ms; 1 crashes, 1 restarts"
	if got != want {
		t.Errorf("String:\n got %q\nwant %q", got, want)
	}
}

func TestFormatBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1536: "1.5 KiB", 3 << 20: "3.0 MiB"} {
		if got := formatBytes(n); got != want {
			t.Errorf("formatBytes(%d) = %q, want %q", n, got, want)
		}
	}
}

func BenchmarkMetricsRecord(b *testing.B) {
	events := syntheticRun(1, 5, 20).Events
	var m Metrics
	for i := range events { // the steady state: every type already seen
		m.Record(&events[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		m.Record(&events[i%len(events)])
	}
}

func TestCostString(t *testing.T) {
	for _, c := range []struct {
		m    Cost
		want string
	}{
		{Cost{Value: 8}, "8"},
		{Cost{Value: 2.5, Unit: "ms"}, "2.5 ms"},
		{Cost{Value: 1.0 / 3, Unit: "rounds"}, "0.3333 rounds"},
	} {
		if got := c.m.String(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.m, got, c.want)
		}
	}
}
