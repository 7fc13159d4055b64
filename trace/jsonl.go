package trace

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/synod-dev/synod/node"
)

// JSONLVersion is the version of the JSON Lines trace format that WriteJSONL
// writes and ReadJSONL reads.
const JSONLVersion = 1

// maxJSONLLine bounds the length of one line ReadJSONL accepts.
const maxJSONLLine = 4 * node.MaxMessageSize

// jsonlHeader is the first line of a JSON Lines trace.
type jsonlHeader struct {
	Synod   string `json:"synod"`
	Version int    `json:"version"`
	Nodes   int    `json:"nodes"`
}

// jsonlEvent is one event as a JSON object. The field order here is the
// order on the line.
type jsonlEvent struct {
	Seq    int             `json:"seq"`
	T      int64           `json:"t"`
	Round  int             `json:"round,omitempty"`
	Node   node.ID         `json:"node"`
	Kind   string          `json:"kind"`
	Clock  VC              `json:"clock,omitempty"`
	Peer   *node.ID        `json:"peer,omitempty"`
	Msg    uint64          `json:"msg,omitempty"`
	Type   string          `json:"type,omitempty"`
	Size   int             `json:"size,omitempty"`
	Req    uint64          `json:"req,omitempty"`
	Value  json.RawMessage `json:"value,omitempty"`
	Reason string          `json:"reason,omitempty"`
	Detail string          `json:"detail,omitempty"`
}

// hasPeer reports whether events of kind k always carry a peer.
func hasPeer(k Kind) bool { return k == Send || k == Deliver || k == Drop }

// WriteJSONL writes t as JSON Lines: a header object
// {"synod":"trace","version":1,"nodes":N}, then one object per event with the
// fields seq, t (nanoseconds), round, node, kind (its name), clock, peer
// (send, deliver and drop only), msg, type, size, req, value, reason and
// detail, zero-valued fields left out. The value is the event's Value in its
// encoding/json form.
//
// The output depends only on the trace: the same trace gives the same bytes.
// An error names the event whose value could not be encoded.
func WriteJSONL(w io.Writer, t *Trace) error {
	jw, err := NewJSONLWriter(w, t.Nodes)
	if err != nil {
		return err
	}
	for i := range t.Events {
		if err := jw.Write(&t.Events[i]); err != nil {
			return err
		}
	}
	return jw.Flush()
}

// JSONLWriter streams events as JSON Lines in the format of WriteJSONL, so a
// runtime can write its trace as it goes instead of keeping it. Record makes
// it a Recorder; the first error sticks and is returned by Flush.
type JSONLWriter struct {
	bw   *bufio.Writer
	enc  *json.Encoder
	val  bytes.Buffer
	venc *json.Encoder
	err  error
}

// NewJSONLWriter writes the header for a trace of the given number of nodes
// and returns a writer for its events.
func NewJSONLWriter(w io.Writer, nodes int) (*JSONLWriter, error) {
	jw := AppendJSONLWriter(w)
	if err := jw.enc.Encode(jsonlHeader{Synod: "trace", Version: JSONLVersion, Nodes: nodes}); err != nil {
		return nil, fmt.Errorf("trace: write jsonl header: %w", err)
	}
	return jw, nil
}

// AppendJSONLWriter returns a writer that continues an existing trace: it
// writes no header (see LastClock for picking up where the trace ended).
func AppendJSONLWriter(w io.Writer) *JSONLWriter {
	jw := &JSONLWriter{bw: bufio.NewWriter(w)}
	jw.enc = json.NewEncoder(jw.bw)
	jw.enc.SetEscapeHTML(false)
	jw.venc = json.NewEncoder(&jw.val)
	jw.venc.SetEscapeHTML(false)
	return jw
}

// Write writes one event.
func (jw *JSONLWriter) Write(e *Event) error {
	je := jsonlEvent{
		Seq:    e.Seq,
		T:      int64(e.Time),
		Round:  e.Round,
		Node:   e.Node,
		Kind:   e.Kind.String(),
		Clock:  e.Clock,
		Msg:    e.MsgID,
		Type:   e.Type,
		Size:   e.Size,
		Req:    uint64(e.Request),
		Reason: e.Reason,
		Detail: e.Detail,
	}
	// A peer only where the kind has one. A nonzero peer on another kind
	// (which the Event contract rules out) is kept too, so that nothing is
	// lost.
	if hasPeer(e.Kind) || e.Peer != 0 {
		peer := e.Peer
		je.Peer = &peer
	}
	if e.Value != nil {
		jw.val.Reset()
		if err := jw.venc.Encode(e.Value); err != nil {
			return fmt.Errorf("trace: write jsonl: event %d (%s at %v): value %s: %w",
				e.Seq, e.Kind, e.Node, node.TypeName(e.Value), err)
		}
		je.Value = bytes.TrimRight(jw.val.Bytes(), "\n")
	}
	if err := jw.enc.Encode(&je); err != nil {
		return fmt.Errorf("trace: write jsonl: event %d: %w", e.Seq, err)
	}
	return nil
}

// Record implements Recorder; an error is kept for Flush.
func (jw *JSONLWriter) Record(e *Event) {
	if jw.err == nil {
		jw.err = jw.Write(e)
	}
}

// Flush writes out buffered events and returns the first error seen.
func (jw *JSONLWriter) Flush() error {
	if jw.err != nil {
		return jw.err
	}
	if err := jw.bw.Flush(); err != nil {
		return fmt.Errorf("trace: write jsonl: %w", err)
	}
	return nil
}

// ReadJSONL parses a trace written by WriteJSONL. Each value is rebuilt as
// its registered Go type with reg.DecodeJSON when reg knows the event's type
// name; otherwise (an unregistered timer value, a nil reg) it is kept as a
// json.RawMessage. An event's node must be one of the header's nodes (or -1,
// for none) and its vector clock, if any, must have an entry per node.
// Errors name the line they were found on.
func ReadJSONL(r io.Reader, reg *node.Registry) (*Trace, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxJSONLLine)
	line := 0
	var t *Trace
	for sc.Scan() {
		line++
		data := bytes.TrimSpace(sc.Bytes())
		if len(data) == 0 {
			continue
		}
		if t == nil {
			var h jsonlHeader
			if err := json.Unmarshal(data, &h); err != nil {
				return nil, fmt.Errorf("trace: read jsonl: line %d: header: %w", line, err)
			}
			if h.Synod != "trace" {
				return nil, fmt.Errorf("trace: read jsonl: line %d: not a synod trace header", line)
			}
			if h.Version != JSONLVersion {
				return nil, fmt.Errorf("trace: read jsonl: line %d: unsupported version %d (want %d)", line, h.Version, JSONLVersion)
			}
			if h.Nodes < 0 {
				return nil, fmt.Errorf("trace: read jsonl: line %d: negative node count %d", line, h.Nodes)
			}
			t = &Trace{Nodes: h.Nodes}
			continue
		}
		e, err := decodeJSONLEvent(data, reg, t.Nodes)
		if err != nil {
			return nil, fmt.Errorf("trace: read jsonl: line %d: %w", line, err)
		}
		t.Events = append(t.Events, e)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("trace: read jsonl: line %d: longer than %d bytes", line+1, maxJSONLLine)
		}
		return nil, fmt.Errorf("trace: read jsonl: line %d: %w", line+1, err)
	}
	if t == nil {
		return nil, errors.New("trace: read jsonl: empty input, no header")
	}
	return t, nil
}

// decodeJSONLEvent parses one event line of a trace of the given number of
// nodes, checking that its node and clock fit that number, so that code
// indexing by node can trust what it reads.
func decodeJSONLEvent(data []byte, reg *node.Registry, nodes int) (Event, error) {
	var je jsonlEvent
	if err := json.Unmarshal(data, &je); err != nil {
		return Event{}, err
	}
	kind, err := ParseKind(je.Kind)
	if err != nil {
		return Event{}, err
	}
	if je.Node < node.None || nodes > 0 && int(je.Node) >= nodes {
		return Event{}, fmt.Errorf("node %d out of range for %d nodes", je.Node, nodes)
	}
	if je.Clock != nil && nodes > 0 && len(je.Clock) != nodes {
		return Event{}, fmt.Errorf("vector clock %v has %d entries for %d nodes", je.Clock, len(je.Clock), nodes)
	}
	e := Event{
		Seq:     je.Seq,
		Time:    time.Duration(je.T),
		Round:   je.Round,
		Node:    je.Node,
		Kind:    kind,
		Clock:   je.Clock,
		MsgID:   je.Msg,
		Type:    je.Type,
		Size:    je.Size,
		Request: node.RequestID(je.Req),
		Reason:  je.Reason,
		Detail:  je.Detail,
	}
	if je.Peer != nil {
		e.Peer = *je.Peer
	}
	if je.Value != nil {
		e.Value = je.Value
		if reg != nil && je.Type != "" {
			v, err := reg.DecodeJSON(je.Type, je.Value)
			switch {
			case err == nil:
				e.Value = v
			case !errors.Is(err, node.ErrUnknownType):
				return Event{}, fmt.Errorf("value: %w", err)
			}
		}
	}
	return e, nil
}

// Digest is the hex SHA-256 of t's JSON Lines form: two runs have the same
// digest exactly when WriteJSONL writes the same bytes for them, which is
// what a determinism test compares. If a value cannot be encoded, the error
// text is hashed in its place, so the digest is still a deterministic
// function of the trace.
func Digest(t *Trace) string {
	h := sha256.New()
	if err := WriteJSONL(h, t); err != nil {
		io.WriteString(h, "\nerror: "+err.Error())
	}
	return hex.EncodeToString(h.Sum(nil))
}
