package trace

import (
	"bytes"
	"strings"
	"testing"
)

func TestWriteShiViz(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteShiViz(&buf, smallTrace()); err != nil {
		t.Fatal(err)
	}
	// The regexp, an empty delimiter line, then a "host {clock}" line and
	// a description line for each process event; the partition, heal and
	// drops are not process events and are left out.
	want := `(?<host>\S*) (?<clock>{.*})\n(?<event>.*)

n0 {"n0":1}
start
n1 {"n1":1}
start
n2 {"n2":1}
start
n0 {"n0":2}
request #1 trace.putOp {Key:"x",Value:"1"}
n0 {"n0":3}
send ping to n1
n0 {"n0":4}
send ping to n2
n1 {"n0":3,"n1":2}
deliver ping from n0
n1 {"n0":3,"n1":3}
send ack to n0
n0 {"n0":5,"n1":3}
deliver ack from n1
n0 {"n0":6,"n1":3}
emit trace.decided {V:7}
n0 {"n0":7,"n1":3}
reply #1 trace.result {OK:true}
n2 {"n2":2}
crash
n0 {"n0":8,"n1":3}
send ping to n2
n2 {"n2":3}
restart
n2 {"n2":4}
start
n2 {"n2":5}
timer "retry"
`
	if got := buf.String(); got != want {
		t.Errorf("WriteShiViz:\n%s\nwant:\n%s", got, want)
	}
}

func TestWriteShiVizRejectsBadClocks(t *testing.T) {
	for _, c := range []struct {
		name   string
		events []Event
		want   string
	}{
		{"no clock", []Event{{Node: 0, Kind: Start}}, "event 0 (start at n0) has no vector clock entry"},
		{"skipped", []Event{{Node: 1, Kind: Start, Clock: VC{0, 1}}, {Seq: 1, Node: 1, Kind: Timer, Clock: VC{0, 3}}}, "event 1 (timer at n1): own clock entry is 3 after 1"},
		{"starts at 2", []Event{{Node: 0, Kind: Start, Clock: VC{2}}}, "own clock entry is 2 after 0"},
		{"no node", []Event{{Node: -1, Kind: Crash, Clock: VC{1}}}, "has no node"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := WriteShiViz(&buf, &Trace{Nodes: 2, Events: c.events})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want one containing %q", err, c.want)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %q before failing", buf.String())
			}
		})
	}
}

// A longer run, with a crash, a restart and lost messages, passes the
// check ShiViz makes: each host's own clock counts 1, 2, 3...
func TestWriteShiVizSynthetic(t *testing.T) {
	var buf bytes.Buffer
	tr := syntheticRun(4, 5, 10)
	if err := WriteShiViz(&buf, tr); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	process := 0
	for _, e := range tr.Events {
		if e.Kind.IsProcess() {
			process++
		}
	}
	if got, want := len(lines), 2+2*process; got != want {
		t.Errorf("%d lines, want %d", got, want)
	}
	for i := 2; i < len(lines); i += 2 {
		host, clock, ok := strings.Cut(lines[i], " ")
		if !ok || !strings.HasPrefix(host, "n") || !strings.HasPrefix(clock, "{") || !strings.Contains(clock, `"`+host+`":`) {
			t.Fatalf("line %d %q is not \"host {clock}\" with the host's own entry", i+1, lines[i])
		}
	}
}
