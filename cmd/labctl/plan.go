package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

func newPlanCmd() *cobra.Command {
	var output, backend string
	var m machineFlags
	cmd := &cobra.Command{
		Use:   "plan FILE",
		Short: "Show what up would build, without building anything (no root needed)",
		Long: `Print the fully expanded lab: every namespace, link, address, route, sysctl and
each host's exact iptables-restore payload. It needs no root and changes nothing;
--output json is the same for tools.`,
		Example:           "  labctl plan labs/basic.yaml\n  labctl plan -o json labs/hairpin.yaml | jq '.namespaces[].name'",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeLabFiles,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := m.check(); err != nil {
				return err
			}
			p, err := compileFile(args[0], m.options(backend))
			if err != nil {
				return err
			}
			switch output {
			case "text":
				return p.WriteText(cmd.OutOrStdout())
			case "json":
				return writeJSON(cmd.OutOrStdout(), p)
			}
			return usageError{fmt.Errorf("--output %q: use text or json", output)}
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "text", "text or json")
	cmd.Flags().StringVar(&backend, "iptables", "", "iptables backend: nft or legacy")
	m.add(cmd, true)
	return cmd
}
