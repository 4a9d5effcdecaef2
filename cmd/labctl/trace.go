package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/labctl/labctl/node"

	"github.com/labctl/labctl/verify"
)

func newTraceCmd() *cobra.Command {
	var proto, output string
	var port int
	cmd := &cobra.Command{
		Use:   "trace FILE|LABNAME FROM TO",
		Short: "Send one packet flow through a running lab and show where it went, hop by hop",
		Long: `Send one try from host FROM to TO (written as a probe's to: a host or Pod name with
:port, host/interface, an IP, service/NAME:PORT, nodeport/NAME@NODE,
loadbalancer/NAME:PORT) and print every host that tracked the flow or counted its
packets, in the order of the path: the rules it went through and the NAT each host
applied, then who answered and the source address it saw. Nothing else should send in
the lab meanwhile.`,
		Example: "  labctl trace labs/basic.yaml client 203.0.113.254:80\n" +
			"  labctl trace hairpin web-0 service/web:80 -o json",
		Args: cobra.ExactArgs(3),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := node.RequireRoot(); err != nil {
				return err
			}
			if output != "text" && output != "json" {
				return usageError{fmt.Errorf("--output %q: use text or json", output)}
			}
			p, err := runningPlan(cmd, args[0], "")
			if err != nil {
				return err
			}
			tr, err := verify.TraceFlow(cmd.Context(), p, args[1], args[2], proto, port)
			if err != nil {
				return usageError{err}
			}
			if output == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(tr)
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), tr.Text())
			return err
		},
	}
	cmd.Flags().StringVar(&proto, "proto", "", "tcp, udp, http or icmp (default: as a probe would pick)")
	cmd.Flags().IntVar(&port, "port", 0, "destination port (replaces the target's)")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	return cmd
}
