package trace

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Metrics measures a run: messages and bytes by type, operations completed,
// messages per operation and the time (or round) of completion, the figures
// a family prints beside the textbook's.
//
// A Metrics accumulates event by event: it implements Recorder, so a runtime
// can feed it live without keeping the trace, and Measure replays a stored
// trace into one. The zero value is ready to use. A Metrics is not safe for
// concurrent use.
type Metrics struct {
	// Events counts every event recorded, of any kind.
	Events int
	// Sent, Delivered and Dropped count Send, Deliver and Drop events. A
	// duplicated message is sent once and may be delivered (or dropped)
	// more than once.
	Sent, Delivered, Dropped int
	// Bytes is the total encoded size of the messages sent.
	Bytes int64
	// Requests counts client requests; Replies counts the answers, that is
	// the completed operations.
	Requests, Replies int
	// Emitted counts emitted events and Timers the timers that fired.
	Emitted, Timers int
	// Crashes and Restarts count nemesis crashes and restarts of nodes.
	Crashes, Restarts int
	// Completion is the time of the last Deliver, Reply or Emit event: when
	// the run stopped doing anything an observer could see (timers that fire
	// and send nothing do not count).
	Completion time.Duration
	// LastRound is the largest Round of those same events, the number of
	// rounds to completion in synchronous-rounds mode (0 otherwise).
	LastRound int

	types   map[string]*TypeStats
	reasons map[string]int
}

// TypeStats are the figures of one message type.
type TypeStats struct {
	// Type is the registered type name ("broadcast.ack").
	Type string
	// Sent, Delivered and Dropped count the Send, Deliver and Drop events of
	// messages of this type.
	Sent, Delivered, Dropped int
	// Bytes is the total encoded size of the messages of this type sent.
	Bytes int64
}

// ReasonCount is the number of messages dropped for one reason.
type ReasonCount struct {
	// Reason is one of the Drop* constants (or whatever a runtime used).
	Reason string
	// Count is the number of Drop events with that reason.
	Count int
}

// Measure replays a stored trace into a new Metrics.
func Measure(t *Trace) *Metrics {
	m := new(Metrics)
	for i := range t.Events {
		m.Record(&t.Events[i])
	}
	return m
}

// Record accounts for one event. It implements Recorder. It does not keep e
// and allocates only the first time it meets a message type or drop reason.
func (m *Metrics) Record(e *Event) {
	m.Events++
	switch e.Kind {
	case Send:
		m.Sent++
		m.Bytes += int64(e.Size)
		s := m.typeStats(e.Type)
		s.Sent++
		s.Bytes += int64(e.Size)
	case Deliver:
		m.Delivered++
		m.typeStats(e.Type).Delivered++
		m.observe(e)
	case Drop:
		m.Dropped++
		m.typeStats(e.Type).Dropped++
		if m.reasons == nil {
			m.reasons = make(map[string]int)
		}
		m.reasons[e.Reason]++
	case Request:
		m.Requests++
	case Reply:
		m.Replies++
		m.observe(e)
	case Emit:
		m.Emitted++
		m.observe(e)
	case Timer:
		m.Timers++
	case Crash:
		m.Crashes++
	case Restart:
		m.Restarts++
	}
}

// observe moves the completion mark to an observable event.
func (m *Metrics) observe(e *Event) {
	if e.Time > m.Completion {
		m.Completion = e.Time
	}
	if e.Round > m.LastRound {
		m.LastRound = e.Round
	}
}

func (m *Metrics) typeStats(name string) *TypeStats {
	if s, ok := m.types[name]; ok {
		return s
	}
	if m.types == nil {
		m.types = make(map[string]*TypeStats)
	}
	s := &TypeStats{Type: name}
	m.types[name] = s
	return s
}

// MessagesPerOp is the number of messages sent per completed operation
// (Sent / Replies), or 0 if no operation completed.
func (m *Metrics) MessagesPerOp() float64 {
	if m.Replies == 0 {
		return 0
	}
	return float64(m.Sent) / float64(m.Replies)
}

// Types returns the figures of every message type seen, sorted by type name.
// Messages whose events carried no type are counted under "".
func (m *Metrics) Types() []TypeStats {
	out := make([]TypeStats, 0, len(m.types))
	for _, s := range m.types {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b TypeStats) int { return strings.Compare(a.Type, b.Type) })
	return out
}

// Type returns the figures of one message type (zero if it was never seen).
func (m *Metrics) Type(name string) TypeStats {
	if s, ok := m.types[name]; ok {
		return *s
	}
	return TypeStats{Type: name}
}

// DropReasons returns the number of drops by reason, sorted by reason.
func (m *Metrics) DropReasons() []ReasonCount {
	out := make([]ReasonCount, 0, len(m.reasons))
	for r, n := range m.reasons {
		out = append(out, ReasonCount{Reason: r, Count: n})
	}
	slices.SortFunc(out, func(a, b ReasonCount) int { return strings.Compare(a.Reason, b.Reason) })
	return out
}

// DroppedFor returns the number of messages dropped for the given reason.
func (m *Metrics) DroppedFor(reason string) int { return m.reasons[reason] }

// String summarizes the run on one line, for example
// "sent 12 msgs (480 B), delivered 11, dropped 1 (loss 1); 3 ops, 4.00 msgs/op; done at 1.2s".
func (m *Metrics) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "sent %d msgs (%s), delivered %d, dropped %d", m.Sent, formatBytes(m.Bytes), m.Delivered, m.Dropped)
	if reasons := m.DropReasons(); len(reasons) > 0 {
		b.WriteString(" (")
		for i, r := range reasons {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %d", reasonLabel(r.Reason), r.Count)
		}
		b.WriteString(")")
	}
	if m.Requests > 0 || m.Replies > 0 {
		fmt.Fprintf(&b, "; %d/%d ops done, %.2f msgs/op", m.Replies, m.Requests, m.MessagesPerOp())
	}
	fmt.Fprintf(&b, "; done at %v", m.Completion)
	if m.LastRound > 0 {
		fmt.Fprintf(&b, " (round %d)", m.LastRound)
	}
	if m.Crashes > 0 || m.Restarts > 0 {
		fmt.Fprintf(&b, "; %d crashes, %d restarts", m.Crashes, m.Restarts)
	}
	return b.String()
}

// Table prints the messages and bytes by type as an aligned text table, one
// row per type sorted by name and a total row, for example:
//
//	type           sent  bytes  delivered  dropped
//	broadcast.ack     4    160          4        0
//	broadcast.msg     2    120          1        1
//	total             6    280          5        1
func (m *Metrics) Table(w io.Writer) error {
	types := m.Types()
	width := len("total")
	for _, s := range types {
		width = max(width, len(typeLabel(s.Type)))
	}
	// Every column is right-aligned with no padding of its own: the first
	// is padded by hand so that type names read left-aligned, and the
	// others start with two spaces to keep them apart.
	tw := tabwriter.NewWriter(w, 0, 0, 0, ' ', tabwriter.AlignRight)
	row := func(name string, cells ...string) {
		io.WriteString(tw, name+strings.Repeat(" ", width-len(name))+"\t")
		for _, c := range cells {
			io.WriteString(tw, "  "+c+"\t")
		}
		io.WriteString(tw, "\n")
	}
	itoa := strconv.Itoa
	row("type", "sent", "bytes", "delivered", "dropped")
	for _, s := range types {
		row(typeLabel(s.Type), itoa(s.Sent), strconv.FormatInt(s.Bytes, 10), itoa(s.Delivered), itoa(s.Dropped))
	}
	row("total", itoa(m.Sent), strconv.FormatInt(m.Bytes, 10), itoa(m.Delivered), itoa(m.Dropped))
	return tw.Flush()
}

// typeLabel names a message type in tables and legends.
func typeLabel(name string) string {
	if name == "" {
		return "(untyped)"
	}
	return name
}

// reasonLabel names a drop reason in summaries.
func reasonLabel(reason string) string {
	if reason == "" {
		return "unknown"
	}
	return reason
}

// formatBytes prints a byte count with a binary unit ("480 B", "1.5 KiB").
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + " B"
	}
	div, exp := int64(unit), 0
	for q := n / unit; q >= unit && exp < 4; q /= unit {
		div *= unit
		exp++
	}
	return strconv.FormatFloat(float64(n)/float64(div), 'f', 1, 64) + " " + "KMGTP"[exp:exp+1] + "iB"
}
