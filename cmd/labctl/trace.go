package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/labctl/labctl/node"
	"github.com/labctl/labctl/topo/plan"
	"github.com/labctl/labctl/verify"
)

func newTraceCmd() *cobra.Command {
	var proto, output, machine string
	var port int
	cmd := &cobra.Command{
		Use:   "trace FILE|LABNAME FROM TO",
		Short: "Send one packet flow through a running lab and show where it went, hop by hop",
		Long: `Send one try from host FROM to TO (written as a probe's to: a host or Pod name with
:port, host/interface, an IP, service/NAME:PORT, nodeport/NAME@NODE,
loadbalancer/NAME:PORT) and print every host that tracked the flow or counted its
packets, in the order of the path: the rules it went through and the NAT each host
applied, then who answered and the source address it saw. Nothing else should send in
the lab meanwhile.

Where the hosts come from: conntrack entries (which also give the order, by following
each translation) and rule counters. A host with neither, a plain router that only
forwards, is listed from its IP forwarding counter (Ip: ForwDatagrams) after the others,
as "forwarded N packets": its place on the path is not known. A pure L2 hop (a bridge,
a network's switch) forwards no IP datagram and is not listed.

Exit status: 0 the trace ran (whatever the packet met), 1 it could not run (a namespace
gone...), 2 bad input (no such host, target or port).`,
		Example: "  labctl trace labs/basic.yaml client 203.0.113.254:80\n" +
			"  labctl trace lb-nodeport client loadbalancer/web-cluster:80\n" +
			"  labctl trace hairpin web-0 service/web:80 -o json",
		Args:              cobra.ExactArgs(3),
		ValidArgsFunction: completeTrace,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "text" && output != "json" {
				return usageError{fmt.Errorf("--output %q: use text or json", output)}
			}
			if cmd.Flags().Changed("port") && (port < 1 || port > 65535) {
				return usageError{fmt.Errorf("--port %d: use a port from 1 to 65535", port)}
			}
			switch proto {
			case "", plan.TCP, plan.UDP, plan.HTTP, plan.ICMP:
			default:
				return usageError{fmt.Errorf("--proto %q: use tcp, udp, http or icmp", proto)}
			}
			if err := node.RequireRoot(); err != nil {
				return err
			}
			p, err := runningPlan(cmd, args[0], machine)
			if err != nil {
				return err
			}
			tr, err := verify.TraceFlow(cmd.Context(), p, args[1], args[2], proto, port)
			var bad *verify.InputError
			if errors.As(err, &bad) {
				return usageError{err}
			}
			if err != nil {
				return err
			}
			if output == "json" {
				return writeJSON(cmd.OutOrStdout(), tr)
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), tr.Text())
			return err
		},
	}
	cmd.Flags().StringVar(&proto, "proto", "", "tcp, udp, http or icmp (default: as a probe would pick)")
	cmd.Flags().IntVar(&port, "port", 0, "destination port, 1 to 65535 (replaces the target's)")
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	cmd.Flags().StringVar(&machine, "machine", "", "lab spread over machines: trace in this machine's share (FROM must run here)")
	_ = cmd.RegisterFlagCompletionFunc("proto", fixedValues("tcp", "udp", "http", "icmp"))
	_ = cmd.RegisterFlagCompletionFunc("output", fixedValues("text", "json"))
	return cmd
}

// completeTrace completes the lab, then FROM and TO as host names of that lab.
func completeTrace(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	switch len(args) {
	case 0:
		return completeLabArg(toComplete)
	case 1, 2:
		return completeHosts(args[0], toComplete), cobra.ShellCompDirectiveNoFileComp
	}
	return nil, cobra.ShellCompDirectiveNoFileComp
}
