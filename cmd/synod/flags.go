package main

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/synod-dev/synod/sim"
)

// Flag values that validate themselves, so a bad flag gets one line naming
// the bad value and what is accepted.

type probability struct{ p *float64 }

func (v probability) String() string { return strconv.FormatFloat(*v.p, 'g', -1, 64) }
func (v probability) Type() string   { return "probability" }
func (v probability) Set(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f > 1 || math.IsNaN(f) {
		return fmt.Errorf("want a probability between 0 and 1, like 0.05")
	}
	*v.p = f
	return nil
}

type rate struct{ r *float64 }

func (v rate) String() string { return strconv.FormatFloat(*v.r, 'g', -1, 64) }
func (v rate) Type() string   { return "per-second" }
func (v rate) Set(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return fmt.Errorf("want a non-negative rate in events per second of virtual time, like 0.5")
	}
	*v.r = f
	return nil
}

type duration struct{ d *time.Duration }

func (v duration) String() string { return v.d.String() }
func (v duration) Type() string   { return "duration" }
func (v duration) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return fmt.Errorf("want a non-negative duration like 500ms, 2s or 1m")
	}
	*v.d = d
	return nil
}

type latency struct{ l *sim.Latency }

func (v latency) String() string { return v.l.String() }
func (v latency) Type() string   { return "latency" }
func (v latency) Set(s string) error {
	l, err := sim.ParseLatency(s)
	if err != nil {
		return fmt.Errorf("want a duration (5ms), uniform:MIN-MAX (uniform:1ms-10ms) or exp:MIN+MEAN (exp:1ms+4ms)")
	}
	*v.l = l
	return nil
}

type bandwidth struct{ b *int64 }

func (v bandwidth) String() string { return strconv.FormatInt(*v.b, 10) }
func (v bandwidth) Type() string   { return "bytes/s" }
func (v bandwidth) Set(s string) error {
	b, err := sim.ParseBandwidth(s)
	if err != nil {
		return fmt.Errorf("want bytes per second like 1MB/s, 512KiB/s, or 0 for unlimited")
	}
	*v.b = b
	return nil
}

type drift struct{ f *float64 }

func (v drift) String() string { return strconv.FormatFloat(*v.f, 'g', -1, 64) }
func (v drift) Type() string   { return "rate" }
func (v drift) Set(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 || f >= 1 || math.IsNaN(f) {
		return fmt.Errorf("want a clock rate error in [0, 1), like 0.0001 (100 ppm)")
	}
	*v.f = f
	return nil
}
