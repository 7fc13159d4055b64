package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/synod-dev/synod/node"
)

// Latency is a distribution of one-way message delays.
type Latency struct {
	// Dist is "constant", "uniform" or "exponential".
	Dist string
	// Min and Max bound a uniform delay; Min alone is a constant delay.
	Min, Max time.Duration
	// Mean is the mean of an exponential delay, added to Min.
	Mean time.Duration
}

// Constant is a fixed delay d.
func Constant(d time.Duration) Latency { return Latency{Dist: "constant", Min: d, Max: d} }

// Uniform is a delay drawn uniformly from [min, max].
func Uniform(min, max time.Duration) Latency { return Latency{Dist: "uniform", Min: min, Max: max} }

// Exponential is a delay of min plus an exponentially distributed amount
// with the given mean: a long tail, as on real networks.
func Exponential(min, mean time.Duration) Latency {
	return Latency{Dist: "exponential", Min: min, Mean: mean}
}

// Sample draws one delay.
func (l Latency) Sample(r *rand.Rand) time.Duration {
	switch l.Dist {
	case "uniform":
		if l.Max <= l.Min {
			return l.Min
		}
		return l.Min + time.Duration(r.Int64N(int64(l.Max-l.Min)+1))
	case "exponential":
		return l.Min + time.Duration(r.ExpFloat64()*float64(l.Mean))
	default:
		return l.Min
	}
}

// String formats the distribution in the syntax ParseLatency accepts.
func (l Latency) String() string {
	switch l.Dist {
	case "uniform":
		return fmt.Sprintf("uniform:%v-%v", l.Min, l.Max)
	case "exponential":
		return fmt.Sprintf("exp:%v+%v", l.Min, l.Mean)
	default:
		return l.Min.String()
	}
}

// ParseLatency parses "5ms" (constant), "uniform:1ms-10ms" (or "1ms-10ms")
// and "exp:1ms+4ms" (minimum 1ms plus an exponential with mean 4ms; "exp:4ms"
// has minimum 0).
func ParseLatency(s string) (Latency, error) {
	bad := func() (Latency, error) {
		return Latency{}, fmt.Errorf("bad latency %q: want a duration (5ms), uniform:MIN-MAX (uniform:1ms-10ms) or exp:MIN+MEAN (exp:1ms+4ms)", s)
	}
	kind, rest, found := strings.Cut(s, ":")
	if !found {
		kind, rest = "", s
	}
	switch kind {
	case "", "uniform":
		if lo, hi, ok := strings.Cut(rest, "-"); ok {
			min, err1 := time.ParseDuration(lo)
			max, err2 := time.ParseDuration(hi)
			if err1 != nil || err2 != nil || min < 0 || max < min {
				return bad()
			}
			return Uniform(min, max), nil
		}
		if kind == "uniform" {
			return bad()
		}
		d, err := time.ParseDuration(rest)
		if err != nil || d < 0 {
			return bad()
		}
		return Constant(d), nil
	case "exp", "exponential":
		lo, mean, ok := strings.Cut(rest, "+")
		if !ok {
			lo, mean = "0s", rest
		}
		min, err1 := time.ParseDuration(lo)
		m, err2 := time.ParseDuration(mean)
		if err1 != nil || err2 != nil || min < 0 || m < 0 {
			return bad()
		}
		return Exponential(min, m), nil
	case "constant":
		d, err := time.ParseDuration(rest)
		if err != nil || d < 0 {
			return bad()
		}
		return Constant(d), nil
	}
	return bad()
}

// Link is the behaviour of a directed link between two nodes.
type Link struct {
	// Latency is the one-way propagation delay.
	Latency Latency
	// Reorder lets messages overtake each other; by default a link is FIFO,
	// like a TCP connection.
	Reorder bool
	// Loss is the probability that a message is lost.
	Loss float64
	// Duplicate is the probability that a message is delivered twice.
	Duplicate float64
	// Bandwidth in bytes per second (0 = unlimited). A message's encoded
	// size costs size/Bandwidth of transmission time, and messages on one
	// link are transmitted one after another.
	Bandwidth int64
}

// DefaultLink is the network used when Config.Network.Default is zero:
// FIFO links with 1–5 ms of uniform latency and no faults.
var DefaultLink = Link{Latency: Uniform(1*time.Millisecond, 5*time.Millisecond)}

// Validate reports a clear error for an impossible setting.
func (l Link) Validate() error {
	switch {
	case l.Loss < 0 || l.Loss > 1 || math.IsNaN(l.Loss):
		return fmt.Errorf("loss %v is not a probability in [0, 1]", l.Loss)
	case l.Duplicate < 0 || l.Duplicate > 1 || math.IsNaN(l.Duplicate):
		return fmt.Errorf("duplicate %v is not a probability in [0, 1]", l.Duplicate)
	case l.Bandwidth < 0:
		return fmt.Errorf("bandwidth %d is negative", l.Bandwidth)
	case l.Latency.Min < 0 || l.Latency.Max < 0 || l.Latency.Mean < 0:
		return fmt.Errorf("latency %v is negative", l.Latency)
	}
	switch l.Latency.Dist {
	case "", "constant", "uniform", "exponential":
	default:
		return fmt.Errorf("latency distribution %q: want constant, uniform or exponential", l.Latency.Dist)
	}
	return nil
}

// Pair is a directed link from From to To.
type Pair struct{ From, To node.ID }

// Network is the default link and per-link overrides.
type Network struct {
	Default Link
	// Links overrides Default for particular directed links.
	Links map[Pair]Link
}

func (n *Network) link(from, to node.ID) *Link {
	if len(n.Links) > 0 {
		if l, ok := n.Links[Pair{from, to}]; ok {
			return &l
		}
	}
	return &n.Default
}

// linkState is what the simulator remembers about a link in use: when its
// transmitter is free again (bandwidth) and the latest arrival so far (FIFO).
type linkState struct {
	busyUntil   time.Duration
	lastArrival time.Duration
}

// ParseBandwidth parses "1MB/s"-style sizes: a number with an optional unit
// B, KB, MB or GB (powers of 1000; KiB, MiB, GiB for powers of 1024), with or
// without "/s". "0" means unlimited.
func ParseBandwidth(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSpace(s), "/s")
	units := []struct {
		suffix string
		mult   float64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	mult := 1.0
	for _, u := range units {
		if strings.HasSuffix(t, u.suffix) {
			mult = u.mult
			t = strings.TrimSuffix(t, u.suffix)
			break
		}
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(t), 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("bad bandwidth %q: want bytes per second like 1MB/s, 512KiB/s or 0 for unlimited", s)
	}
	return int64(f * mult), nil
}

// LinkSyntax describes what ParseLinkOverride accepts, for help texts.
const LinkSyntax = `FROM->TO:SETTING=VALUE,... where FROM and TO are node lists or *, and the
settings are latency, loss, dup, reorder (true/false) and bandwidth; e.g.
"n0->n1:latency=50ms,loss=0.2" or "*->n2:bandwidth=10KB/s"`

// ParseLinkOverride parses one per-link setting (see LinkSyntax) for a group
// of n nodes, starting from base for the settings it does not name, and adds
// the resulting links to links.
func ParseLinkOverride(s string, n int, base Link, links map[Pair]Link) error {
	ends, settings, ok := strings.Cut(s, ":")
	from, to, ok2 := strings.Cut(ends, "->")
	if !ok || !ok2 {
		return fmt.Errorf("bad link %q: want %s", s, LinkSyntax)
	}
	side := func(part string) ([]node.ID, error) {
		if strings.TrimSpace(part) == "*" {
			all := make([]node.ID, n)
			for i := range all {
				all[i] = node.ID(i)
			}
			return all, nil
		}
		ids, err := ParseNodes(part)
		for _, id := range ids {
			if err == nil && int(id) >= n {
				err = fmt.Errorf("node %v is not in the group n0..n%d", id, n-1)
			}
		}
		return ids, err
	}
	srcs, err := side(from)
	if err != nil {
		return fmt.Errorf("link %q: %w", s, err)
	}
	dsts, err := side(to)
	if err != nil {
		return fmt.Errorf("link %q: %w", s, err)
	}
	for _, src := range srcs {
		for _, dst := range dsts {
			l, ok := links[Pair{src, dst}]
			if !ok {
				l = base
			}
			if err := applyLinkSettings(&l, settings); err != nil {
				return fmt.Errorf("link %q: %w", s, err)
			}
			links[Pair{src, dst}] = l
		}
	}
	return nil
}

func applyLinkSettings(l *Link, settings string) error {
	for _, kv := range strings.Split(settings, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		if !ok {
			return fmt.Errorf("setting %q: want NAME=VALUE", kv)
		}
		var err error
		switch k {
		case "latency":
			l.Latency, err = ParseLatency(v)
		case "loss":
			l.Loss, err = strconv.ParseFloat(v, 64)
		case "dup", "duplicate":
			l.Duplicate, err = strconv.ParseFloat(v, 64)
		case "reorder":
			l.Reorder, err = strconv.ParseBool(v)
		case "bandwidth":
			l.Bandwidth, err = ParseBandwidth(v)
		default:
			return fmt.Errorf("unknown setting %q: want latency, loss, dup, reorder or bandwidth", k)
		}
		if err != nil {
			return fmt.Errorf("setting %q: %w", kv, err)
		}
	}
	return l.Validate()
}
