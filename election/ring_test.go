package election_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/synod-dev/synod/election"
	"github.com/synod-dev/synod/node"
	"github.com/synod-dev/synod/trace"
)

// One ELECTION round the ring of Figure 5-21, started by n5 with n7 (the
// old coordinator) dead: each process adds itself and passes the message
// to its successor; n6 gets no acknowledgement from n7 within 30 ms and
// skips it; back at n5 the message names n6, the highest on the list, and
// goes round again as COORDINATOR, among the members of the new ring only.
func TestRingElectionSkipsTheDeadCoordinator(t *testing.T) {
	got, tr := figure(t, "ring", 8, 5)
	want := `
1ms n5→n6 ringElection
2ms n6→n7 ringElection
32ms n6→n0 ringElection
33ms n0→n1 ringElection
34ms n1→n2 ringElection
35ms n2→n3 ringElection
36ms n3→n4 ringElection
37ms n4→n5 ringElection
38ms n5→n6 ringCoordinator
39ms n6→n0 ringCoordinator
40ms n0→n1 ringCoordinator
41ms n1→n2 ringCoordinator
42ms n2→n3 ringCoordinator
43ms n3→n4 ringCoordinator
44ms n4→n5 ringCoordinator
`
	if got != strings.TrimPrefix(want, "\n") {
		t.Fatalf("messages:\n%s\nwant:\n%s", got, want)
	}
	var members []node.ID
	for _, e := range tr.Filter(trace.Deliver) {
		if e.Time > time.Second && e.Node == 5 && e.Type == "election.ringElection" {
			members = ringMembers(t, e.Value)
		}
	}
	if !slices.Equal(members, []node.ID{5, 6, 0, 1, 2, 3, 4}) {
		t.Errorf("the ELECTION came back to n5 listing %v, want n5, n6, n0 ... n4", members)
	}
	if !trace.AllOK(election.Check(tr)) {
		t.Errorf("%+v", election.Check(tr))
	}
}

// ringMembers reads the list off an ELECTION message as the trace holds it
// (the message type is the package's own).
func ringMembers(t *testing.T, v any) []node.ID {
	t.Helper()
	f := reflect.ValueOf(v).FieldByName("Members")
	if !f.IsValid() {
		t.Fatalf("%T has no Members", v)
	}
	return f.Interface().([]node.ID)
}

// Figure 5-21: "two processes, 2 and 5, discover simultaneously that the
// previous coordinator, process 7, has crashed. Each of these builds an
// ELECTION message and each of them starts circulating its message,
// independent of the other. Eventually, both messages will go all the way
// around, and both 2 and 5 will convert them into COORDINATOR messages, with
// exactly the same members and in the same order. When both have gone around
// again, both will be removed. It does no harm to have extra messages
// circulating; at worst it consumes a little bandwidth."
func TestRingFigure5_21TwoInitiators(t *testing.T) {
	got, tr := figure(t, "ring", 8, 2, 5)
	count := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(got), "\n") {
		f := strings.Fields(line)
		count[f[2]]++
	}
	// Each ELECTION: 7 hops round the live processes and one send to n7;
	// each COORDINATOR: 7 hops.
	if count["ringElection"] != 16 || count["ringCoordinator"] != 14 {
		t.Errorf("sent %v, want 16 ELECTION and 14 COORDINATOR messages:\n%s", count, got)
	}
	var adopted []string
	for _, l := range trace.Emitted[election.Leader](tr) {
		if l.Time > time.Second {
			if l.Value.ID != 6 {
				t.Errorf("%v adopted %v, want n6", l.Node, l.Value.ID)
			}
			adopted = append(adopted, l.Value.Epoch.String())
		}
	}
	slices.Sort(adopted)
	adopted = slices.Compact(adopted)
	if !slices.Equal(adopted, []string{"n2#2", "n5#2"}) {
		t.Errorf("n6 was announced by the elections %v, want both n2#2 and n5#2", adopted)
	}
	if !trace.AllOK(election.Check(tr)) {
		t.Errorf("%+v", election.Check(tr))
	}
}
