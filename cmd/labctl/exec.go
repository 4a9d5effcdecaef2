package main

import (
	"github.com/spf13/cobra"

	"github.com/labctl/labctl/node"
)

func newExecCmd() *cobra.Command {
	var machine string
	cmd := &cobra.Command{
		Use:   "exec FILE|LABNAME HOST -- COMMAND [ARG...]",
		Short: "Run a command inside a host of a running lab",
		Long: `Run a command inside a host's network namespace. Standard input, output, error
and the exit status pass straight through, so it works in scripts and interactively.`,
		Example: "  labctl exec labs/basic.yaml client -- ping -c1 203.0.113.254\n" +
			"  labctl exec hairpin node-1 -- iptables -t nat -L KUBE-SERVICES -n\n" +
			"  labctl exec hairpin node-1 -- conntrack -L",
		Args: func(cmd *cobra.Command, args []string) error {
			if cmd.ArgsLenAtDash() != 2 || len(args) < 3 {
				return usageError{errExecUsage}
			}
			return nil
		},
		ValidArgsFunction: completeExec,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkLabArg(args[0]); err != nil {
				return err
			}
			inst, err := instanceOfShare(args[0], machine)
			if err != nil {
				return err
			}
			if err := node.RequireRoot(); err != nil {
				return err
			}
			return node.Exec(inst, args[1], args[2:])
		},
	}
	cmd.Flags().StringVar(&machine, "machine", "", "lab spread over machines: the host is in this machine's share (LAB@MACHINE)")
	return cmd
}

var errExecUsage = usage("usage: labctl exec FILE|LABNAME HOST -- COMMAND [ARG...]")

type usage string

func (u usage) Error() string { return string(u) }

func completeExec(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	switch len(args) {
	case 0:
		return completeLabArg(toComplete)
	case 1:
		return completeHosts(args[0], toComplete), cobra.ShellCompDirectiveNoFileComp
	}
	return nil, cobra.ShellCompDirectiveDefault
}
