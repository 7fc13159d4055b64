package trace

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/synod-dev/synod/node"
)

// describe returns a short one-line description of an event, as ShiViz shows
// it and as tooltips in the SVG diagram say: "send ack to n2",
// "deliver ack from n1", "emit clock.Stamp {Time:3}".
func describe(e *Event) string {
	var b strings.Builder
	b.WriteString(e.Kind.String())
	word := func(s string) {
		if s != "" {
			b.WriteByte(' ')
			b.WriteString(s)
		}
	}
	switch e.Kind {
	case Send:
		word(node.ShortName(typeOf(e)))
		word("to " + e.Peer.String())
	case Deliver:
		word(node.ShortName(typeOf(e)))
		word("from " + e.Peer.String())
	case Drop:
		word(node.ShortName(typeOf(e)))
		word("to " + e.Peer.String())
		if e.Reason != "" {
			word("(" + e.Reason + ")")
		}
	case Request, Reply:
		word("#" + strconv.FormatUint(uint64(e.Request), 10))
		word(typeOf(e))
		word(compactValue(e.Value, 80))
	case Emit:
		word(typeOf(e))
		word(compactValue(e.Value, 80))
	case Timer:
		word(compactValue(e.Value, 80))
	}
	word(oneLine(e.Detail))
	return b.String()
}

// typeOf is the type name of an event's value: its Type field, or the Go
// type of its Value when the runtime left Type empty.
func typeOf(e *Event) string {
	if e.Type != "" || e.Value == nil {
		return e.Type
	}
	return node.TypeName(e.Value)
}

// compactValue formats v for a label: its JSON form with the quotes dropped
// from object keys that are plain identifiers ({Round:3,From:"n1"}), cut to
// at most limit runes. It returns "" for nil and for an empty struct, and the
// type name for a value that has no JSON form. The result is deterministic
// and fits on one line.
func compactValue(v any, limit int) string {
	if v == nil {
		return ""
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "<" + node.TypeName(v) + ">"
	}
	s := unquoteKeys(bytes.TrimRight(buf.Bytes(), "\n"))
	if s == "{}" || s == "null" {
		return ""
	}
	return truncate(s, limit)
}

// unquoteKeys rewrites compact JSON so that object keys which are
// identifiers lose their quotes.
func unquoteKeys(data []byte) string {
	var b strings.Builder
	b.Grow(len(data))
	for i := 0; i < len(data); {
		if data[i] != '"' {
			b.WriteByte(data[i])
			i++
			continue
		}
		// A string token: find its end, skipping escapes.
		j := i + 1
		for j < len(data) && data[j] != '"' {
			if data[j] == '\\' {
				j++
			}
			j++
		}
		end := min(j+1, len(data))
		tok := data[i:end]
		if end < len(data) && data[end] == ':' && isIdent(data[i+1:j]) {
			tok = data[i+1 : j]
		}
		b.Write(tok)
		i = end
	}
	return b.String()
}

func isIdent(s []byte) bool {
	if len(s) == 0 {
		return false
	}
	for i, c := range s {
		letter := c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
		if !letter && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// truncate cuts s to at most limit runes, ending with "…" when it cut.
func truncate(s string, limit int) string {
	if limit <= 0 || utf8.RuneCountInString(s) <= limit {
		return s
	}
	n := 0
	for i := range s {
		if n == limit-1 {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// oneLine replaces line breaks and tabs with spaces.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n\t") {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '\r', '\n', '\t':
			return ' '
		}
		return r
	}, s)
}
