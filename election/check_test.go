package election_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/election"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// transcript builds a trace of three processes from lines like the paper's
// walk-throughs, one event each, "TIME NODE WHAT [ARGS]":
//
//	0 n0 start                  the process starts
//	0 n0 elect 1                ElectionStarted{n0#1}
//	30ms n1 leader n2 n2#1      Leader{n2, n2#1} at n1
//	1s n2 crash / restart / pause / resume
//	1s n0 drop n2               a message from n0 to n2 lost
//	1s - partition / heal
//	5s - end                    a note: the run ends here
func transcript(t *testing.T, script string) *trace.Trace {
	t.Helper()
	tr := &trace.Trace{Nodes: 3}
	id := func(s string) node.ID {
		if s == "-" {
			return node.None
		}
		var n int
		if _, err := fmt.Sscan(strings.TrimPrefix(s, "n"), &n); err != nil {
			t.Fatalf("bad node %q", s)
		}
		return node.ID(n)
	}
	epoch := func(s string) election.Epoch {
		who, seq, _ := strings.Cut(s, "#")
		var n uint64
		if _, err := fmt.Sscan(seq, &n); err != nil {
			t.Fatalf("bad epoch %q", s)
		}
		return election.Epoch{Initiator: id(who), Seq: n}
	}
	for _, line := range strings.Split(strings.TrimSpace(script), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		at, err := time.ParseDuration(f[0])
		if f[0] == "0" {
			at, err = 0, nil
		}
		if err != nil || len(f) < 3 {
			t.Fatalf("bad line %q", line)
		}
		e := trace.Event{Time: at, Node: id(f[1])}
		switch f[2] {
		case "start":
			e.Kind = trace.Start
		case "crash":
			e.Kind = trace.Crash
		case "restart":
			e.Kind = trace.Restart
		case "pause":
			e.Kind = trace.Pause
		case "resume":
			e.Kind = trace.Resume
		case "partition":
			e.Kind, e.Detail = trace.Partition, "partition n0|n1,n2"
		case "heal":
			e.Kind, e.Detail = trace.Heal, "heal"
		case "drop":
			e.Kind, e.Peer, e.Reason = trace.Drop, id(f[3]), trace.DropLoss
		case "elect":
			e.Kind, e.Value = trace.Emit, election.ElectionStarted{Epoch: epoch(f[1] + "#" + f[3])}
		case "leader":
			e.Kind, e.Value = trace.Emit, election.Leader{ID: id(f[3]), Epoch: epoch(f[4])}
		case "end":
			e.Kind, e.Detail = trace.Note, "end"
		default:
			t.Fatalf("bad line %q", line)
		}
		tr.Record(&e)
	}
	return tr
}

// boot is a healthy start: everyone holds an election, n2 wins.
const boot = `
0 n0 start
0 n1 start
0 n2 start
0 n0 elect 1
0 n1 elect 1
0 n2 elect 1
0 n2 leader n2 n2#1
2ms n0 leader n2 n2#1
3ms n1 leader n2 n2#1
`

// The checker's verdicts on transcripts of what the processes emitted and
// what the runtime did: each property passes on a healthy run and fails,
// saying why, on a run that breaks it; faults excuse what they must.
func TestCheckVerdicts(t *testing.T) {
	cases := []struct {
		name, script string
		// want maps a property to a pattern its detail must match; a
		// pattern starting with "FAIL " expects a failure.
		want map[string]string
	}{
		{"healthy", boot + "5s - end", map[string]string{
			election.PropElectedHighest: `^1 elections were won without a fault, each by the highest process up and reachable throughout$`,
			election.PropTermination:    `^3 elections ran without a fault, and each gave the process that started it a coordinator within 1s$`,
			election.PropAgreement:      `^no faults; from 1s to the end \(5s\) all 3 live processes follow n2, the highest live process \(agreed since 3ms\)$`,
		}},
		{"a lower process usurps a live higher one", boot + `
2s n1 elect 2
2.03s n1 leader n1 n1#2
2.05s n0 leader n1 n1#2
5s - end`, map[string]string{
			election.PropElectedHighest: `^FAIL election n1#2 \(started at 2s\) made n1 coordinator at 2.03s, although n2 was up and reachable throughout, with no fault and no message to or from it lost$`,
			election.PropAgreement:      `^FAIL no faults; at the end \(5s\) the highest live process is n2, but n0 follows n1 \(since 2.05s\); n1 follows n1 \(since 2.03s\)$`,
		}},
		{"a lost message excuses it", boot + `
2s n1 elect 2
2.001s n1 drop n2
2.03s n1 leader n1 n1#2
2.2s n2 leader n2 n2#1
5s - end`, map[string]string{
			election.PropElectedHighest: `^2 elections were won without a fault, each by the highest process up and reachable throughout$`,
		}},
		{"so does a partition", boot + `
2s n1 elect 2
2.01s - partition
2.03s n1 leader n1 n1#2
2.5s - heal
2.6s n1 leader n2 n2#1
2.6s n0 leader n2 n2#1
5s - end`, map[string]string{
			election.PropElectedHighest: `^1 elections were won without a fault, each by the highest process up and reachable throughout; 1 more were won during faults and not judged$`,
			election.PropAgreement:      `^faults stopped at 2.5s \(heal\); from 3.5s to the end \(5s\) all 3 live processes follow n2`,
		}},
		{"an election that never finishes", boot + `
2s n0 elect 2
5s - end`, map[string]string{
			election.PropTermination: `^FAIL n0 started election n0#2 at 2s and had no coordinator 1s later, with no fault in between \(it never had one, to the end of the run\)$`,
			election.PropAgreement:   `^FAIL no faults; at the end \(5s\) the highest live process is n2, but n0 has no leader: its election n0#2, started at 2s, never finished$`,
		}},
		{"one that finishes late", boot + `
2s n0 elect 2
3.5s n0 leader n2 n2#1
5s - end`, map[string]string{
			election.PropTermination: `^FAIL n0 started election n0#2 at 2s and had no coordinator 1s later, with no fault in between \(it had none until 3.5s\)$`,
			election.PropAgreement:   `^no faults`,
		}},
		{"a crash excuses a slow election", boot + `
2s n0 elect 2
2.5s n1 crash
3.5s n0 leader n2 n2#1
5s - end`, map[string]string{
			election.PropTermination: `^3 elections ran without a fault`,
			election.PropAgreement:   `^faults stopped at 2.5s \(crash n1\); from 3.5s to the end \(5s\) all 2 live processes follow n2`,
		}},
		{"a follower of a crashed coordinator", boot + `
2s n2 crash
5s - end`, map[string]string{
			election.PropAgreement: `^FAIL faults stopped at 2s \(crash n2\); at the end \(5s\) the highest live process is n1, but n0 follows n2 \(since 2ms\), which is down since 2s; n1 follows n2 \(since 3ms\), which is down since 2s$`,
		}},
		{"the run ends before the leader had to settle", boot + `
4.5s n2 crash
5s - end`, map[string]string{
			election.PropAgreement: `^FAIL cannot judge: faults stopped at 4.5s \(crash n2\) and the run ended at 5s, before the settling time of 1s had passed; run longer$`,
		}},
		{"a change of leader after the settling time", boot + `
4s n0 leader n1 n1#2
4.1s n0 leader n2 n2#1
5s - end`, map[string]string{
			election.PropAgreement: `^FAIL no faults, but n0 adopted n1 at 4s, after the settling time of 1s had passed, with no message lost in between; the highest live process is n2$`,
		}},
		{"a brief change after a lost message is made up for", boot + `
3.95s n0 drop n2
4s n0 leader n1 n1#2
4.1s n0 leader n2 n2#1
5s - end`, map[string]string{
			election.PropAgreement: `^no faults; from 1s to the end \(5s\) all 3 live processes follow n2, the highest live process \(agreed since 4.1s\); 1 brief changes of leader after lost messages were made up for \(first: n0 adopted n1 at 4s\)$`,
		}},
		{"a paused coordinator is not live", boot + `
1s n2 pause
1.2s n0 elect 2
1.23s n0 leader n1 n1#2
1.2s n1 elect 2
1.23s n1 leader n1 n1#2
5s - end`, map[string]string{
			election.PropAgreement: `^faults stopped at 1s \(pause n2\); from 2s to the end \(5s\) all 2 live processes follow n1, the highest live process`,
		}},
		{"nobody is up at the end", boot + `
1s n0 crash
1s n1 crash
1s n2 crash
5s - end`, map[string]string{
			election.PropAgreement: `^faults stopped at 1s \(crash n2\); no process is up at the end of the run, so none needs a leader$`,
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := verdicts(election.Checker{Settle: time.Second}.Check(transcript(t, c.script)))
			for prop, pattern := range c.want {
				v, ok := got[prop]
				if !ok {
					t.Fatalf("no verdict on %q", prop)
				}
				wantOK := !strings.HasPrefix(pattern, "^FAIL ")
				pattern = strings.Replace(pattern, "^FAIL ", "^", 1)
				if v.OK != wantOK || !regexp.MustCompile(pattern).MatchString(v.Detail) {
					t.Errorf("%s: %v %q\nwant %v %s", prop, v.OK, v.Detail, wantOK, pattern)
				}
			}
		})
	}
}

// An empty trace has nothing to agree on, and says so.
func TestCheckEmptyTrace(t *testing.T) {
	v := verdicts(election.Check(&trace.Trace{Nodes: 3}))[election.PropAgreement]
	if v.OK || v.Detail != "the trace is empty" {
		t.Fatalf("%v %q", v.OK, v.Detail)
	}
}
