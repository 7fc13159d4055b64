package sim

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/synod-dev/synod/node"
)

// ActionKind names a nemesis action.
type ActionKind string

// The nemesis's actions.
const (
	ActCrash     ActionKind = "crash"     // crash a node: volatile state and unsynced writes lost
	ActRestart   ActionKind = "restart"   // restart a crashed node from its synced storage
	ActPause     ActionKind = "pause"     // stop a node taking steps (a long GC pause, SIGSTOP)
	ActResume    ActionKind = "resume"    // let a paused node catch up on what arrived meanwhile
	ActPartition ActionKind = "partition" // cut every link between different groups
	ActCut       ActionKind = "cut"       // cut one-way links From -> To
	ActHeal      ActionKind = "heal"      // restore every link
	ActSkew      ActionKind = "skew"      // set a node's clock offset from true time
	ActDrift     ActionKind = "drift"     // set a node's clock drift rate
)

// Action is one thing the nemesis does. Build actions with the helper
// functions (Crash, PartitionGroups, ...); String prints them in the schedule
// syntax that ParseSchedule reads back.
type Action struct {
	Kind ActionKind
	// Nodes are the nodes concerned (crash, restart, pause, resume, skew,
	// drift), or the sources of a cut.
	Nodes []node.ID
	// Targets are the destinations of a cut.
	Targets []node.ID
	// Groups are the sides of a partition. Nodes in no group can talk to
	// everyone.
	Groups [][]node.ID
	// Offset is the clock offset set by skew.
	Offset time.Duration
	// Drift is the clock rate error set by drift: 0.001 runs 0.1% fast.
	Drift float64
}

// Crash crashes the given nodes.
func Crash(ids ...node.ID) Action { return Action{Kind: ActCrash, Nodes: ids} }

// Restart restarts the given crashed nodes.
func Restart(ids ...node.ID) Action { return Action{Kind: ActRestart, Nodes: ids} }

// Pause pauses the given nodes.
func Pause(ids ...node.ID) Action { return Action{Kind: ActPause, Nodes: ids} }

// Resume resumes the given paused nodes.
func Resume(ids ...node.ID) Action { return Action{Kind: ActResume, Nodes: ids} }

// PartitionGroups splits the network so that nodes in different groups
// cannot reach each other.
func PartitionGroups(groups ...[]node.ID) Action {
	return Action{Kind: ActPartition, Groups: groups}
}

// Cut cuts the one-way links from every node in from to every node in to.
func Cut(from, to []node.ID) Action { return Action{Kind: ActCut, Nodes: from, Targets: to} }

// Heal restores every link.
func Heal() Action { return Action{Kind: ActHeal} }

// Skew sets a node's clock to run offset ahead of true time (negative: behind).
func Skew(id node.ID, offset time.Duration) Action {
	return Action{Kind: ActSkew, Nodes: []node.ID{id}, Offset: offset}
}

// Drift makes a node's clock run at rate 1+drift.
func Drift(id node.ID, drift float64) Action {
	return Action{Kind: ActDrift, Nodes: []node.ID{id}, Drift: drift}
}

func idList(ids []node.ID) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = id.String()
	}
	return strings.Join(s, ",")
}

// String formats the action in schedule syntax ("partition n0|n1,n2").
func (a Action) String() string {
	switch a.Kind {
	case ActPartition:
		g := make([]string, len(a.Groups))
		for i, grp := range a.Groups {
			g[i] = idList(grp)
		}
		return "partition " + strings.Join(g, "|")
	case ActCut:
		return "cut " + idList(a.Nodes) + "->" + idList(a.Targets)
	case ActHeal:
		return "heal"
	case ActSkew:
		sign := "+"
		if a.Offset < 0 {
			sign = ""
		}
		return fmt.Sprintf("skew %s %s%v", idList(a.Nodes), sign, a.Offset)
	case ActDrift:
		return fmt.Sprintf("drift %s %s", idList(a.Nodes), strconv.FormatFloat(a.Drift, 'g', -1, 64))
	default:
		return string(a.Kind) + " " + idList(a.Nodes)
	}
}

// validate checks the action's nodes against a group of n.
func (a Action) validate(n int) error {
	check := func(ids []node.ID) error {
		for _, id := range ids {
			if id < 0 || int(id) >= n {
				return fmt.Errorf("%s: node %v is not in the group n0..n%d", a.Kind, id, n-1)
			}
		}
		return nil
	}
	for _, ids := range append([][]node.ID{a.Nodes, a.Targets}, a.Groups...) {
		if err := check(ids); err != nil {
			return err
		}
	}
	switch a.Kind {
	case ActCrash, ActRestart, ActPause, ActResume, ActSkew, ActDrift:
		if len(a.Nodes) == 0 {
			return fmt.Errorf("%s needs at least one node", a.Kind)
		}
	case ActPartition:
		if len(a.Groups) < 2 {
			return fmt.Errorf("partition needs at least two groups separated by '|'")
		}
	case ActCut:
		if len(a.Nodes) == 0 || len(a.Targets) == 0 {
			return fmt.Errorf("cut needs sources and targets: cut n0->n1,n2")
		}
	case ActHeal:
	default:
		return fmt.Errorf("unknown nemesis action %q", a.Kind)
	}
	if a.Kind == ActDrift && (a.Drift <= -1 || a.Drift >= 1) {
		return fmt.Errorf("drift %v out of range: want a rate error in (-1, 1), e.g. 0.001", a.Drift)
	}
	return nil
}

// Scheduled is an action at a virtual time.
type Scheduled struct {
	At     time.Duration
	Action Action
}

// String formats the entry as "2s partition n0|n1,n2".
func (s Scheduled) String() string { return s.At.String() + " " + s.Action.String() }

// FormatSchedule prints a schedule in the syntax ParseSchedule reads.
func FormatSchedule(entries []Scheduled) string {
	s := make([]string, len(entries))
	for i, e := range entries {
		s[i] = e.String()
	}
	return strings.Join(s, "; ")
}

// ScheduleSyntax describes what ParseSchedule accepts, for help texts.
const ScheduleSyntax = `entries separated by ';' or newlines, each "TIME ACTION":
  crash n1          restart n1       pause n2        resume n2
  partition n0,n1|n2,n3,n4           cut n0->n1,n2   heal
  skew n1 +50ms     drift n1 0.001
e.g. "1s partition n0|n1,n2; 3s heal; 4s crash n2; 5s restart n2"`

// ParseSchedule parses a nemesis schedule (see ScheduleSyntax) for a group of
// n nodes. Entries need not be in time order.
func ParseSchedule(s string, n int) ([]Scheduled, error) {
	var out []Scheduled
	for _, raw := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == '\n' }) {
		entry := strings.TrimSpace(raw)
		if entry == "" || strings.HasPrefix(entry, "#") {
			continue
		}
		e, err := parseEntry(entry, n)
		if err != nil {
			return nil, fmt.Errorf("schedule entry %q: %w", entry, err)
		}
		out = append(out, e)
	}
	slices.SortStableFunc(out, func(a, b Scheduled) int { return int(a.At - b.At) })
	return out, nil
}

func parseEntry(entry string, n int) (Scheduled, error) {
	f := strings.Fields(entry)
	if len(f) < 2 {
		return Scheduled{}, fmt.Errorf("want TIME ACTION [ARGS], e.g. \"2s crash n1\"")
	}
	at, err := time.ParseDuration(f[0])
	if err != nil || at < 0 {
		return Scheduled{}, fmt.Errorf("bad time %q: want a duration like 1.5s or 200ms", f[0])
	}
	a := Action{Kind: ActionKind(f[1])}
	args := f[2:]
	need := func(k int, usage string) error {
		if len(args) != k {
			return fmt.Errorf("%s takes %s", a.Kind, usage)
		}
		return nil
	}
	switch a.Kind {
	case ActCrash, ActRestart, ActPause, ActResume:
		if err := need(1, "a node list like n1 or n1,n2"); err != nil {
			return Scheduled{}, err
		}
		a.Nodes, err = ParseNodes(args[0])
	case ActPartition:
		if err := need(1, "groups like n0,n1|n2"); err != nil {
			return Scheduled{}, err
		}
		for _, g := range strings.Split(args[0], "|") {
			ids, perr := ParseNodes(g)
			if perr != nil {
				return Scheduled{}, perr
			}
			a.Groups = append(a.Groups, ids)
		}
	case ActCut:
		if err := need(1, "links like n0->n1,n2"); err != nil {
			return Scheduled{}, err
		}
		from, to, ok := strings.Cut(args[0], "->")
		if !ok {
			return Scheduled{}, fmt.Errorf("cut takes links like n0->n1,n2")
		}
		if a.Nodes, err = ParseNodes(from); err == nil {
			a.Targets, err = ParseNodes(to)
		}
	case ActHeal:
		if err := need(0, "no arguments"); err != nil {
			return Scheduled{}, err
		}
	case ActSkew:
		if err := need(2, "a node and an offset, like n1 +50ms"); err != nil {
			return Scheduled{}, err
		}
		if a.Nodes, err = ParseNodes(args[0]); err == nil {
			a.Offset, err = time.ParseDuration(strings.TrimPrefix(args[1], "+"))
		}
	case ActDrift:
		if err := need(2, "a node and a rate error, like n1 0.001"); err != nil {
			return Scheduled{}, err
		}
		if a.Nodes, err = ParseNodes(args[0]); err == nil {
			a.Drift, err = strconv.ParseFloat(args[1], 64)
		}
	default:
		return Scheduled{}, fmt.Errorf("unknown action %q: want crash, restart, pause, resume, partition, cut, heal, skew or drift", f[1])
	}
	if err != nil {
		return Scheduled{}, err
	}
	if err := a.validate(n); err != nil {
		return Scheduled{}, err
	}
	return Scheduled{At: at, Action: a}, nil
}

// ParseNodes parses a comma-separated node list: "n0,n2" or "0,2".
func ParseNodes(s string) ([]node.ID, error) {
	var ids []node.ID
	for _, part := range strings.Split(s, ",") {
		p := strings.TrimPrefix(strings.TrimSpace(part), "n")
		k, err := strconv.Atoi(p)
		if err != nil || k < 0 {
			return nil, fmt.Errorf("bad node %q: want n0, n1, ... (or 0, 1, ...)", part)
		}
		ids = append(ids, node.ID(k))
	}
	return ids, nil
}

// Nemesis configures random faults. Rates are mean events per second of
// virtual time (Poisson arrivals); durations are means of exponential
// distributions. The zero value injects nothing.
type Nemesis struct {
	// Partition is the rate of partitions: random majority/minority splits,
	// isolated nodes, and one-way cuts. Each heals after about PartitionFor.
	Partition    float64
	PartitionFor time.Duration
	// Crash is the rate of crashes. A crashed node restarts after about
	// RestartAfter; with RestartAfter zero, crashes are crash-stop.
	Crash        float64
	RestartAfter time.Duration
	// MaxDown bounds how many nodes are crashed at once (0: a minority,
	// (N-1)/2, but at least one, so that asking for crashes in a group of
	// two gets some).
	MaxDown int
	// Pause is the rate of pauses, each lasting about PauseFor.
	Pause    float64
	PauseFor time.Duration
	// Skew gives every node a fixed clock offset drawn from [-Skew, +Skew]
	// at time 0; Drift a rate error drawn from [-Drift, +Drift].
	Skew  time.Duration
	Drift float64
	// Servers, when positive, confines random crashes, pauses and
	// partitions to nodes n0..n(Servers-1): the rest are clients, which
	// never fail and are never cut off (0: every node may fail).
	Servers int
	// Stop is when random faults end (0: never): then every link heals,
	// paused nodes resume and crashed nodes restart (unless crash-stop), so
	// liveness can be judged on the rest of the run.
	Stop time.Duration
}

// Active reports whether the nemesis will inject anything.
func (n Nemesis) Active() bool {
	return n.Partition > 0 || n.Crash > 0 || n.Pause > 0 || n.Skew != 0 || n.Drift != 0
}

// Validate reports a clear error for an impossible setting.
func (n Nemesis) Validate() error {
	if n.Partition < 0 || n.Crash < 0 || n.Pause < 0 {
		return fmt.Errorf("nemesis rates must not be negative (partition %v, crash %v, pause %v)", n.Partition, n.Crash, n.Pause)
	}
	if n.Drift < 0 || n.Drift >= 1 {
		return fmt.Errorf("drift %v out of range: want a rate error in [0, 1), e.g. 0.0001", n.Drift)
	}
	if n.Servers < 0 {
		return fmt.Errorf("nemesis servers %d must not be negative", n.Servers)
	}
	if n.Skew < 0 || n.PartitionFor < 0 || n.RestartAfter < 0 || n.PauseFor < 0 || n.Stop < 0 {
		return fmt.Errorf("nemesis durations must not be negative")
	}
	return nil
}
