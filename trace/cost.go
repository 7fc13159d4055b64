package trace

import "fmt"

// Cost is one measured cost of a run beside the figure the textbook gives
// for it: messages per critical-section entry, rounds to decide, time to
// detect a crash...
type Cost struct {
	// Name says what is measured ("messages per entry").
	Name string
	// Value is the measurement; Unit its unit ("", "ms", "rounds").
	Value float64
	Unit  string
	// Textbook is the published figure for this N, with its formula
	// ("2(N−1) = 8"); empty when there is none.
	Textbook string
}

// String formats the value with its unit.
func (m Cost) String() string {
	v := fmt.Sprintf("%.4g", m.Value)
	if m.Value == float64(int64(m.Value)) && m.Value < 1e15 && m.Value > -1e15 {
		v = fmt.Sprintf("%d", int64(m.Value))
	}
	if m.Unit != "" {
		v += " " + m.Unit
	}
	return v
}
