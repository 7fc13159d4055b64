package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/synod-dev/synod/sim"
)

// preset is a named bundle of random faults for --nemesis. A rate flag the
// user sets explicitly wins over the preset's value.
type preset struct {
	name, summary string
	apply         func(n *sim.Nemesis, set func(flag string) bool)
}

var presets = []preset{
	{"partition", "2 partitions/s (splits, isolations, one-way cuts), each ~200ms", func(n *sim.Nemesis, set func(string) bool) {
		if !set("partitions") {
			n.Partition = 2
		}
	}},
	{"crash", "1 crash/s, each node back after ~200ms with its synced storage", func(n *sim.Nemesis, set func(string) bool) {
		if !set("crashes") {
			n.Crash = 1
		}
		if !set("restart-after") {
			n.RestartAfter = 200 * time.Millisecond
		}
	}},
	{"pause", "2 pauses/s of ~100ms", func(n *sim.Nemesis, set func(string) bool) {
		if !set("pauses") {
			n.Pause = 2
		}
	}},
	{"clock", "clock offsets within ±50ms and drift within ±0.1%", func(n *sim.Nemesis, set func(string) bool) {
		if !set("skew") {
			n.Skew = 50 * time.Millisecond
		}
		if !set("drift") {
			n.Drift = 0.001
		}
	}},
}

func presetNames() []string {
	names := []string{}
	for _, p := range presets {
		names = append(names, p.name)
	}
	return append(names, "all")
}

func applyPreset(cmd *cobra.Command, n *sim.Nemesis, name string) error {
	set := func(flag string) bool { return cmd.Flags().Changed(flag) }
	for _, p := range presets {
		if p.name == name || name == "all" {
			p.apply(n, set)
			if name != "all" {
				return nil
			}
		}
	}
	if name == "all" {
		return nil
	}
	return fmt.Errorf("unknown --nemesis %q; known: %s", name, strings.Join(presetNames(), ", "))
}
