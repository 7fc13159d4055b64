package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/synod-dev/synod/live"
	"github.com/synod-dev/synod/trace"
)

func newRequestCmd() *cobra.Command {
	var (
		to, ca, cert, key string
		timeout           time.Duration
	)
	cmd := &cobra.Command{
		Use:   "request --to HOST:PORT TYPE [JSON]",
		Short: "Send a request to a live node and print its reply",
		Example: `  synod request --to 127.0.0.1:7000 broadcast.Multicast '{"Payload":"hello"}'
  synod request --to 127.0.0.1:7000 broadcast.Rumor`,
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if to == "" {
				return fmt.Errorf("--to is required: a node's address, as in its peer table")
			}
			body := []byte("{}")
			if len(args) == 2 {
				body = []byte(args[1])
				if !json.Valid(body) {
					return fmt.Errorf("bad request body %q: want a JSON object, e.g. '{\"Payload\":\"hi\"}'", args[1])
				}
			}
			var tlsFiles *live.TLSFiles
			if ca != "" || cert != "" || key != "" {
				tlsFiles = &live.TLSFiles{CA: ca, Cert: cert, Key: key}
			}
			client, err := live.DialClient(to, tlsFiles, timeout)
			if err != nil {
				if tlsFiles == nil {
					return fmt.Errorf("%w (if the cluster runs with TLS, pass --tls-ca, --tls-cert and --tls-key)", err)
				}
				return err
			}
			defer client.Close()
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			typ, reply, err := client.Request(ctx, args[0], body)
			if err != nil {
				return fmt.Errorf("request to %s: %w", to, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", typ, reply)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&to, "to", "", "the node's address (HOST:PORT)")
	fl.DurationVar(&timeout, "timeout", 5*time.Second, "give up after this long")
	fl.StringVar(&ca, "tls-ca", "", "CA certificate for a TLS cluster")
	fl.StringVar(&cert, "tls-cert", "", "client certificate")
	fl.StringVar(&key, "tls-key", "", "client key")
	return cmd
}

func newCheckCmd() *cobra.Command {
	var svgPath string
	cmd := &cobra.Command{
		Use:   "check ALGO TRACE.jsonl...",
		Short: "Check the properties of ALGO on traces written by live nodes (or by synod sim --trace)",
		Long: `Read the JSON Lines traces that the nodes of a live run wrote (one per node),
merge them in an order consistent with happens-before, and run ALGO's
checkers and measurements on the result, exactly as for a simulated run.`,
		Example: `  synod check broadcast/total-order /tmp/synod-cluster-123/n*.jsonl --svg live.svg`,
		Args:    cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			alg, err := lookup(args[0])
			if err != nil {
				return err
			}
			reg := alg.registry()
			var parts []*trace.Trace
			for _, path := range args[1:] {
				file, err := os.Open(path)
				if err != nil {
					return err
				}
				t, err := trace.ReadJSONL(file, reg)
				file.Close()
				if err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				parts = append(parts, t)
			}
			merged, err := trace.Merge(parts...)
			if err != nil {
				return err
			}
			spec := &runSpec{alg: alg, nodes: merged.Nodes, live: true}
			m := trace.Measure(merged)
			var end time.Duration
			if len(merged.Events) > 0 {
				end = merged.Events[len(merged.Events)-1].Time
			}
			res := runResult{trace: merged, metrics: m, checks: alg.Check(merged), end: end, steps: len(merged.Events)}
			printRun(cmd.OutOrStdout(), spec, &res)
			if svgPath != "" {
				file, err := os.Create(svgPath)
				if err != nil {
					return err
				}
				if err := trace.WriteSVG(file, merged, trace.SVGOptions{Title: alg.Name + " (live)", MaxEvents: 1500}); err != nil {
					file.Close()
					return err
				}
				if err := file.Close(); err != nil {
					return err
				}
			}
			if !res.ok() {
				return errViolation
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&svgPath, "svg", "", "draw the merged trace as a space-time diagram")
	return cmd
}
