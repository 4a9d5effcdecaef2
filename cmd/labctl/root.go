package main

import (
	"github.com/spf13/cobra"
)

// globals are flags every command has.
type globals struct {
	quiet   bool
	verbose bool
}

func newRootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:   "labctl",
		Short: "Kubernetes network labs in network namespaces, with real kernel NAT",
		Long: `labctl builds a multi-host network from a YAML lab file: every host a network
namespace, joined by veth pairs and bridges, with real iptables NAT rules (exactly as
kube-proxy and flannel install them), then proves what the packets do with probes.

Exit status: 0 ok, 1 a check or operation failed, 2 bad input, bad usage, or something
missing on this machine.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().BoolVarP(&g.quiet, "quiet", "q", false, "print only errors and results")
	root.PersistentFlags().BoolVarP(&g.verbose, "verbose", "v", false, "print every phase with counts and timings")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newUpCmd(g),
		newDownCmd(g),
		newExecCmd(),
		newLsCmd(),
		newPlanCmd(),
		newSchemaCmd(),
		newLabCmd(),
		newGraphCmd(),
		newVerifyCmd(),
		newTestCmd(g),
		newTraceCmd(),
		newGenCmd(),
		newAgentCmd(),
		newVersionCmd(),
	)
	return root
}
