package trace

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/synod-dev/synod/node"
)

func TestJSONLRoundTrip(t *testing.T) {
	tr := smallTrace()
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, tr); err != nil {
		t.Fatal(err)
	}
	got, err := ReadJSONL(&buf, testRegistry())
	if err != nil {
		t.Fatal(err)
	}
	// The timer's value is a string of no registered type: it comes back
	// as its raw JSON. Everything else comes back as it was.
	want := *tr
	want.Events = append([]Event(nil), tr.Events...)
	last := &want.Events[len(want.Events)-1]
	if last.Kind != Timer {
		t.Fatalf("the test trace should end with a timer, not %v", last.Kind)
	}
	last.Value = json.RawMessage(`"retry"`)
	if got.Nodes != want.Nodes || len(got.Events) != len(want.Events) {
		t.Fatalf("read %d nodes, %d events; want %d, %d", got.Nodes, len(got.Events), want.Nodes, len(want.Events))
	}
	for i := range want.Events {
		if !reflect.DeepEqual(got.Events[i], want.Events[i]) {
			t.Errorf("event %d:\n got %#v\nwant %#v", i, got.Events[i], want.Events[i])
		}
	}
	// Values are rebuilt as their Go types.
	if v, ok := got.Events[4].Value.(ping); !ok || v.Note != "<hi & bye>" {
		t.Errorf("event 4 value = %#v, want a ping", got.Events[4].Value)
	}
	if ds := Emitted[decided](got); len(ds) != 1 || ds[0].Value.V != 7 {
		t.Errorf("Emitted[decided] after a round trip = %v", ds)
	}
}

func TestJSONLWithoutRegistry(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, smallTrace()); err != nil {
		t.Fatal(err)
	}
	got, err := ReadJSONL(&buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, ok := got.Events[4].Value.(json.RawMessage)
	if !ok || string(raw) != `{"From":0,"Note":"<hi & bye>"}` {
		t.Errorf("without a registry the value is %#v, want the raw JSON", got.Events[4].Value)
	}
}

func TestWriteJSONLFormat(t *testing.T) {
	tr := &Trace{Nodes: 2}
	for _, e := range []Event{
		{Time: 0, Node: 0, Kind: Start, Clock: VC{1, 0}},
		{Time: 1500, Node: 0, Kind: Send, Clock: VC{2, 0}, Peer: 1, MsgID: 1, Type: "trace.ack", Size: 4, Value: ack{OK: true}},
		{Time: 2000, Round: 2, Node: 1, Kind: Drop, Peer: 0, MsgID: 1, Type: "trace.ack", Reason: DropLoss},
		{Time: 3000, Node: node.None, Kind: Partition, Detail: "n0 | n1"},
	} {
		tr.Record(&e)
	}
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, tr); err != nil {
		t.Fatal(err)
	}
	want := `{"synod":"trace","version":1,"nodes":2}
{"seq":0,"t":0,"node":0,"kind":"start","clock":[1,0]}
{"seq":1,"t":1500,"node":0,"kind":"send","clock":[2,0],"peer":1,"msg":1,"type":"trace.ack","size":4,"value":{"OK":true}}
{"seq":2,"t":2000,"round":2,"node":1,"kind":"drop","peer":0,"msg":1,"type":"trace.ack","reason":"loss"}
{"seq":3,"t":3000,"node":-1,"kind":"partition","detail":"n0 | n1"}
`
	if got := buf.String(); got != want {
		t.Errorf("WriteJSONL:\n%s\nwant:\n%s", got, want)
	}
}

func TestWriteJSONLUnencodable(t *testing.T) {
	tr := &Trace{Nodes: 1, Events: []Event{{Seq: 0, Kind: Emit, Value: func() {}}}}
	err := WriteJSONL(&bytes.Buffer{}, tr)
	if err == nil || !strings.Contains(err.Error(), "event 0") {
		t.Errorf("WriteJSONL of a func value: err = %v, want an error naming event 0", err)
	}
	if Digest(tr) != Digest(tr) {
		t.Error("the digest of an unencodable trace is not deterministic")
	}
}

func TestReadJSONLErrors(t *testing.T) {
	header := `{"synod":"trace","version":1,"nodes":2}` + "\n"
	for _, c := range []struct {
		name, input, want string
	}{
		{"empty", "", "no header"},
		{"not a trace", `{"hello":1}`, "line 1: not a synod trace header"},
		{"version", `{"synod":"trace","version":9,"nodes":1}`, "line 1: unsupported version 9"},
		{"bad json", header + `{"seq":0,`, "line 2:"},
		{"bad kind", header + `{"seq":0,"t":0,"node":0,"kind":"explode"}`, `line 2: trace: unknown event kind "explode"`},
		{"bad value", header + "\n" + `{"seq":0,"t":0,"node":0,"kind":"emit","type":"trace.decided","value":{"V":"seven"}}`, "line 3: value:"},
		{"node out of range", header + `{"seq":0,"t":0,"node":2,"kind":"start","clock":[0,0]}`, "line 2: node 2 out of range for 2 nodes"},
		{"short clock", header + `{"seq":0,"t":0,"node":1,"kind":"start","clock":[1]}`, "line 2: vector clock [1] has 1 entries for 2 nodes"},
		{"wrong type", header + `{"seq":0,"t":"soon","node":0,"kind":"start"}`, "line 2:"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadJSONL(strings.NewReader(c.input), testRegistry())
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestDigest(t *testing.T) {
	a, b := smallTrace(), smallTrace()
	if Digest(a) != Digest(b) {
		t.Fatal("two identical traces have different digests")
	}
	if len(Digest(a)) != 64 {
		t.Errorf("digest %q is not hex SHA-256", Digest(a))
	}
	for name, change := range map[string]func(*Trace){
		"time":   func(t *Trace) { t.Events[5].Time++ },
		"value":  func(t *Trace) { t.Events[4].Value = ping{From: 0, Note: "<hi & bye!>"} },
		"clock":  func(t *Trace) { t.Events[3].Clock[0]++ },
		"reason": func(t *Trace) { t.Events[9].Reason = DropLoss },
		"nodes":  func(t *Trace) { t.Nodes++ },
	} {
		c := smallTrace()
		change(c)
		if Digest(c) == Digest(a) {
			t.Errorf("changing the %s of one event leaves the digest unchanged", name)
		}
	}
	// Determinism of a longer run: the same seed, the same digest.
	if Digest(syntheticRun(9, 5, 8)) != Digest(syntheticRun(9, 5, 8)) {
		t.Error("the same synthetic run has two digests")
	}
}

// Writing what was read gives back the same bytes.
func TestJSONLRewriteIsIdentical(t *testing.T) {
	var first, second bytes.Buffer
	if err := WriteJSONL(&first, syntheticRun(2, 5, 10)); err != nil {
		t.Fatal(err)
	}
	tr, err := ReadJSONL(bytes.NewReader(first.Bytes()), testRegistry())
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteJSONL(&second, tr); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first.Bytes(), second.Bytes()) {
		t.Error("a trace read back and written again differs")
	}
}

// Whatever a JSON Lines file holds, reading it and drawing, exporting and
// measuring what was read neither panics nor hangs.
func FuzzReadJSONL(f *testing.F) {
	var buf bytes.Buffer
	if err := WriteJSONL(&buf, smallTrace()); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.String())
	f.Add(`{"synod":"trace","version":1,"nodes":0}` + "\n" + `{"seq":0,"t":5,"node":7,"kind":"deliver","peer":99,"msg":3}`)
	f.Add(`{"synod":"trace","version":1,"nodes":2}` + "\n" + `{"seq":0,"t":-5,"node":-1,"kind":"drop","peer":-7,"msg":3}`)
	f.Fuzz(func(t *testing.T, input string) {
		tr, err := ReadJSONL(strings.NewReader(input), testRegistry())
		if err != nil {
			return
		}
		var out bytes.Buffer
		_ = WriteSVG(&out, tr, SVGOptions{MaxEvents: 1000})
		_ = WriteShiViz(&out, tr)
		_ = WriteJSONL(&out, tr)
		_ = Measure(tr).String()
	})
}
