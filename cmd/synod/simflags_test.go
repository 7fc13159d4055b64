package main

import (
	"testing"
	"time"

	"github.com/synod-dev/synod/sim"
)

// The flags sim.Link and sim.Nemesis give a replay command are flags of
// `synod sim`, and parse back to the same settings.
func TestSimFlagsRoundTrip(t *testing.T) {
	lat, err := sim.ParseLatency("uniform:1ms-5ms")
	if err != nil {
		t.Fatal(err)
	}
	link := sim.Link{Latency: lat, Loss: 0.1, Duplicate: 0.05, Reorder: true, Bandwidth: 1 << 20}
	nem := sim.Nemesis{Crash: 2, RestartAfter: 50 * time.Millisecond, MaxDown: 1, Partition: 3, PartitionFor: 100 * time.Millisecond,
		Pause: 1.5, PauseFor: 20 * time.Millisecond, Skew: 5 * time.Millisecond, Drift: 0.0001, Stop: 4 * time.Second}
	args := append(link.Flags(), nem.Flags()...)
	f := &simFlags{}
	if err := simCmdWith(f).ParseFlags(args); err != nil {
		t.Fatalf("synod sim %q: %v", args, err)
	}
	if f.link != link {
		t.Errorf("link %+v parsed back as %+v (flags %q)", link, f.link, args)
	}
	if f.nemesis != nem {
		t.Errorf("nemesis %+v parsed back as %+v (flags %q)", nem, f.nemesis, args)
	}
	if got := (sim.Link{}).Flags(); got != nil {
		t.Errorf("the zero link asks for %q", got)
	}
}
