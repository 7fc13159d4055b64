// Package snapshot holds distributed snapshot algorithms — for now Chandy
// and Lamport's — superimposed on a bank whose branches keep sending each
// other money, with the checkers of what a snapshot promises and its
// measured costs.
//
// A snapshot is a global state recorded by the processes themselves while
// the computation goes on: each process's recorded state (here, its balance)
// and each channel's recorded state (the transfers in flight on it). The
// processes emit what they record (StateRecorded, ChannelRecorded); no
// process assembles the whole. GlobalStates assembles it from a trace, and
// Check judges it against the runtime's ground truth: the recorded states
// must form a consistent cut of the run, and the money they count must be
// the money the bank opened with.
package snapshot

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/synod-dev/synod/node"
)

// ID names a snapshot: the process that initiated it and its count of the
// snapshots it has initiated so far, so that snapshots from different
// initiators, or several from one, can be under way at once.
type ID struct {
	Initiator node.ID
	Seq       int
}

// String formats the ID as "n1#2": n1's second snapshot.
func (id ID) String() string { return fmt.Sprintf("%v#%d", id.Initiator, id.Seq) }

// MarshalJSON writes the ID as its string, "n1#2", so that traces and
// diagrams show it as the rest of synod names it.
func (id ID) MarshalJSON() ([]byte, error) { return json.Marshal(id.String()) }

// UnmarshalJSON reads the form MarshalJSON writes.
func (id *ID) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return fmt.Errorf("snapshot: ID: %w", err)
	}
	var n, seq int
	if _, err := fmt.Sscanf(s, "n%d#%d", &n, &seq); err != nil || fmt.Sprintf("n%d#%d", n, seq) != s {
		return fmt.Errorf("snapshot: bad ID %q: want n<initiator>#<seq>, like n1#2", s)
	}
	*id = ID{Initiator: node.ID(n), Seq: seq}
	return nil
}

// Transfer is the bank's only message: Amount moves from the sender's
// balance, debited when it is sent, to the receiver's, credited when it
// arrives. While it is in flight the money is in the channel.
type Transfer struct {
	Amount int64
}

// Marker is the snapshot algorithm's message (Chandy & Lamport §3.2): sent
// along every outgoing channel right after its sender records its state, it
// separates the messages sent before the recording from those sent after.
type Marker struct {
	Snapshot ID
}

// Initiate is the request op that starts a new snapshot at the process that
// receives it: any process may initiate one, at any time. The initiator
// replies with the snapshot's ID once it has received a marker on every one
// of its incoming channels.
type Initiate struct{}

// Pay is the request op that makes a branch transfer Amount to branch To
// now, if it holds that much; the branches also transfer money at random on
// their own (Config.Transfers). The reply is Paid.
type Pay struct {
	To     node.ID
	Amount int64
}

// Paid is the reply to Pay: the amount sent (0 if the payment was refused:
// an unknown or own branch, a non-positive amount, or more than the
// balance) and the balance afterwards.
type Paid struct {
	Amount, Balance int64
}

// AccountOpened is emitted when a branch starts, with its opening balance:
// the sum over the branches is the money every snapshot must find.
type AccountOpened struct {
	Balance int64
}

// StateRecorded is emitted when a process records its state for a
// snapshot: the point where the snapshot cuts this process's history. Its
// recorded state is its balance.
type StateRecorded struct {
	Snapshot ID
	Balance  int64
}

// ChannelRecorded is emitted when a process has recorded the state of one of
// its incoming channels (the one from From) for a snapshot: the transfers
// received along it after the process recorded its own state and before
// the channel's marker arrived (Chandy & Lamport §3.2), in arrival order.
type ChannelRecorded struct {
	Snapshot ID
	From     node.ID
	Messages []Transfer
}

// Sum is the money in the recorded channel state.
func (c ChannelRecorded) Sum() int64 { return sum(c.Messages) }

// payday is the timer of a branch's next random transfer.
type payday struct{}

// Messages returns one zero value of every message, request op, reply,
// emitted event and timer of the package, for node.NewRegistry.
func Messages() []any {
	return []any{
		Transfer{}, Marker{}, Initiate{}, Pay{}, Paid{}, ID{},
		AccountOpened{}, StateRecorded{}, ChannelRecorded{}, payday{},
	}
}

// Channel is a directed channel from one process to another.
type Channel struct {
	From, To node.ID
}

// String formats the channel as "n0→n1".
func (c Channel) String() string { return fmt.Sprintf("%v→%v", c.From, c.To) }

func (c Channel) compare(o Channel) int {
	if c.From != o.From {
		return int(c.From) - int(o.From)
	}
	return int(c.To) - int(o.To)
}

// sum adds up the amounts of transfers.
func sum(ts []Transfer) int64 {
	var s int64
	for _, t := range ts {
		s += t.Amount
	}
	return s
}

// amounts formats transfers as "[37 12]".
func amounts(ts []Transfer) string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		parts[i] = fmt.Sprint(t.Amount)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// sortedKeys returns a map's keys in ascending order.
func sortedKeys[K interface{ ~int }, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
