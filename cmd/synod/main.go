// Command synod runs synod's distributed algorithms: `synod list` shows them,
// `synod sim ALGO` runs one in the deterministic simulator, checks its
// properties and prints what it cost; `synod node` and `synod cluster` run
// them as real processes over the network, `synod request` talks to them and
// `synod check` judges a live run's traces.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/synod-dev/synod/sim"
)

// nemesisFlags prints random faults as the `synod sim` flags that ask for
// them, for a hint in the list; it leaves out when they stop (--faults-until),
// which the hint does not name.
func nemesisFlags(n sim.Nemesis) string {
	n.Stop = 0
	return strings.Join(n.Flags(), " ")
}

func main() {
	keepSysmonAwake()
	if err := newRoot(os.Stdout, os.Stderr).Execute(); err != nil {
		if !errors.Is(err, errViolation) {
			fmt.Fprintln(os.Stderr, "synod:", err)
		}
		os.Exit(1)
	}
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "synod",
		Short:         "Classic distributed algorithms: simulated under faults, checked, measured and drawn",
		SilenceUsage:  true,
		SilenceErrors: true,
		Long: `synod runs classic distributed algorithms as deterministic state machines in a
simulator that breaks networks, clocks and machines on purpose, checks the
properties each algorithm promises, and measures its cost against the textbook.

  synod list                                   the algorithms
  synod sim broadcast/total-order --nodes 5    one run, checked and measured
  synod sim clock/vector --seeds 200 --loss 0.1   a sweep over 200 seeds
  synod cluster broadcast/total-order --nodes 3   a live local cluster
  synod request --to 127.0.0.1:PORT broadcast.Multicast '{"Payload":"hi"}'
  synod check broadcast/total-order DIR/n*.jsonl  check a live run's traces
  synod cluster raft --nodes 3                 the replicated key-value store, live
  synod kv --endpoints HOST:PORT,... put KEY VALUE   its client (get, del, cas, range, status...)`,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newListCmd(), newSimCmd(), newNodeCmd(), newClusterCmd(), newRequestCmd(), newCheckCmd(), newReportCmd(), newBenchCmd(), newKVCmd())
	return root
}

func newListCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the algorithms synod can run",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', 0)
			algs := slices.Clone(catalog)
			slices.SortFunc(algs, func(a, b *algorithm) int {
				if a.Name < b.Name {
					return -1
				}
				return 1
			})
			for _, a := range algs {
				fmt.Fprintf(w, "%s\t%s\n", a.Name, a.Summary)
				for _, v := range a.Variants {
					shows := ""
					if v.ExposedBy.Active() {
						shows = fmt.Sprintf(" (shows with %s)", nemesisFlags(v.ExposedBy))
					}
					if v.CaughtBy != "" {
						shows += fmt.Sprintf(" (staged exactly by %s)", v.CaughtBy)
					}
					fmt.Fprintf(w, "\t  --variant %s: broken on purpose: %s%s\n", v.Name, v.Summary, shows)
				}
			}
			return w.Flush()
		},
	}
}
