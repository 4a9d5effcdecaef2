package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/labctl/labctl/topo"
	"github.com/labctl/labctl/topo/graph"
	"github.com/labctl/labctl/topo/plan"
)

var graphFormats = map[string]func(io.Writer, *plan.Plan) error{
	"mermaid": graph.Mermaid,
	"dot":     graph.DOT,
}

func newGraphCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "graph FILE",
		Short: "Draw a lab's topology as a Mermaid or Graphviz diagram (no root needed)",
		Long: `Draw the compiled lab: hosts grouped by node with their Pods, networks and bridges,
the interfaces and addresses on each link, and the Services with their ClusterIPs,
load balancer VIPs, ports and endpoints. Mermaid (the default) renders on GitHub
inside a ` + "```mermaid" + ` block; DOT renders with Graphviz.`,
		Example: "  labctl graph labs/basic.yaml\n" +
			"  labctl graph --format dot labs/basic.yaml | dot -Tsvg > basic.svg",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeLabFiles,
		RunE: func(cmd *cobra.Command, args []string) error {
			write, ok := graphFormats[format]
			if !ok {
				return usageError{fmt.Errorf("--format %q: use mermaid or dot", format)}
			}
			p, err := compileFile(args[0], topo.CompileOptions{AllMachines: true})
			if err != nil {
				return err
			}
			return write(cmd.OutOrStdout(), p)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "mermaid", "mermaid or dot")
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions([]string{"mermaid", "dot"}, cobra.ShellCompDirectiveNoFileComp))
	return cmd
}
