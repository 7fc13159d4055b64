package trace

import (
	"bufio"
	"fmt"
	"io"
	"strconv"

	"github.com/synod-dev/synod/node"
)

// ShiVizRegexp is the log-parsing regular expression at the top of a ShiViz
// file: each event is a line "host {clock}" followed by a line of text.
const ShiVizRegexp = `(?<host>\S*) (?<clock>{.*})\n(?<event>.*)`

// WriteShiViz writes the process events of t (Start through Restart) in the
// log format of ShiViz (https://bestchai.bitbucket.io/shiviz/), the
// space-time visualizer of the DistributedClocks project, so that a run can
// be explored there.
//
// The format is the one GoVector, ShiViz's usual producer, writes, and that
// ShiViz's "upload a file" reads: the first line is the parsing regular
// expression (ShiVizRegexp), the second the regular expression separating
// several executions (left empty: one execution), then two lines per event:
//
//	n1 {"n0":2,"n1":3}
//	deliver ack from n0
//
// The clock is a JSON object of the nonzero vector clock entries, keyed by
// node name. ShiViz's parser (js/model/parser.js and js/model/modelGraph.js
// in github.com/DistributedClocks/shiviz; the format is described in that
// project's wiki and in GoVector's README) requires the host's own entry to
// be present, to start at 1 and to grow by exactly 1 from one of the host's
// events to the next. WriteShiViz checks that before writing anything and
// returns an error naming the first event that breaks it, such as a process
// event without a vector clock.
func WriteShiViz(w io.Writer, t *Trace) error {
	if err := checkShiViz(t); err != nil {
		return err
	}
	bw := bufio.NewWriter(w)
	bw.WriteString(ShiVizRegexp + "\n\n")
	var clock []byte
	for i := range t.Events {
		e := &t.Events[i]
		if !e.Kind.IsProcess() {
			continue
		}
		clock = clock[:0]
		clock = append(clock, '{')
		for j, c := range e.Clock {
			if c == 0 {
				continue
			}
			if len(clock) > 1 {
				clock = append(clock, ',')
			}
			clock = append(clock, `"n`...)
			clock = strconv.AppendInt(clock, int64(j), 10)
			clock = append(clock, `":`...)
			clock = strconv.AppendUint(clock, c, 10)
		}
		clock = append(clock, '}')
		bw.WriteString(e.Node.String())
		bw.WriteByte(' ')
		bw.Write(clock)
		bw.WriteByte('\n')
		bw.WriteString(describe(e))
		bw.WriteByte('\n')
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("trace: write shiviz: %w", err)
	}
	return nil
}

// checkShiViz verifies that ShiViz will accept the vector clocks of t's
// process events: every one has a clock with its own entry, and each node's
// own entry counts 1, 2, 3... along its events.
func checkShiViz(t *Trace) error {
	own := map[node.ID]uint64{} // a node's own entry at its last event
	for i := range t.Events {
		e := &t.Events[i]
		if !e.Kind.IsProcess() {
			continue
		}
		n := int(e.Node)
		if n < 0 {
			return fmt.Errorf("trace: shiviz: event %d (%s) has no node", e.Seq, e.Kind)
		}
		if n >= len(e.Clock) {
			return fmt.Errorf("trace: shiviz: event %d (%s at %v) has no vector clock entry for its own node (clock %v)", e.Seq, e.Kind, e.Node, e.Clock)
		}
		if got := e.Clock[n]; got != own[e.Node]+1 {
			return fmt.Errorf("trace: shiviz: event %d (%s at %v): own clock entry is %d after %d; ShiViz needs each node's entry to count up by 1", e.Seq, e.Kind, e.Node, got, own[e.Node])
		}
		own[e.Node]++
	}
	return nil
}
