package main

import "github.com/spf13/cobra"

// benchCommands are the `synod bench` subcommands, one constructor per
// benchmark, each in its own file (bench_<name>.go).
var benchCommands []func() *cobra.Command

func newBenchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure an algorithm: figures to set beside the literature's",
		Args:  cobra.NoArgs,
	}
	for _, sub := range benchCommands {
		cmd.AddCommand(sub())
	}
	return cmd
}
