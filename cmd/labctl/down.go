package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/labctl/labctl/node"
)

func newDownCmd(g *globals) *cobra.Command {
	var m machineFlags
	cmd := &cobra.Command{
		Use:   "down FILE|LABNAME",
		Short: "Remove a lab: every namespace, link, bridge, rule and process it has",
		Long: `Remove a lab. It works on a lab that is half built, already gone, or whose up
was killed at any point: it removes what the lab's state record lists and every
namespace named after the lab.`,
		Example:           "  labctl down labs/basic.yaml\n  labctl down basic\n  labctl down big.yaml --machine a   # one machine's share only (or: labctl down big@a)",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeRunning,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := m.check(); err != nil {
				return err
			}
			if err := checkLabArg(args[0]); err != nil {
				return err
			}
			inst, err := instanceOfShare(args[0], m.machine)
			if err != nil {
				return err
			}
			if err := node.RequireRoot(); err != nil {
				return err
			}
			var opts node.DownOptions
			if g.verbose || (!g.quiet && isTerminal(cmd.ErrOrStderr())) {
				opts.Progress, opts.ProgressEvery = progressPrinter(cmd.ErrOrStderr(), isTerminal(cmd.ErrOrStderr()))
			}
			res, err := node.DownWith(inst, opts)
			if err != nil {
				return err
			}
			if g.quiet {
				return nil
			}
			if !res.Existed {
				fmt.Fprintf(cmd.OutOrStdout(), "lab %s is not running: nothing to remove\n", inst)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "lab %s is down: removed %s, stopped %s\n", inst, counted(res.Namespaces, "namespace"), counted(res.Processes, "process"))
			return nil
		},
	}
	// --underlay-netns is accepted so a share's up and down take the same flags; down
	// needs nothing from the underlay: removing the tunnel devices (in the lab's
	// namespaces) closes their sockets there.
	m.add(cmd, true)
	return cmd
}

func completeRunning(_ *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return completeLabArg(toComplete)
}

// counted writes n and the noun, plural unless n is 1 ("1 process", "3 namespaces").
func counted(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	if strings.HasSuffix(noun, "s") {
		return fmt.Sprintf("%d %ses", n, noun)
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
