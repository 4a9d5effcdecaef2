package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/labctl/labctl/node"
	"github.com/labctl/labctl/topo/plan"
	"github.com/labctl/labctl/verify/agent"
)

func newAgentCmd() *cobra.Command {
	var config string
	var readyFD int
	cmd := &cobra.Command{
		Use:    "agent --config FILE",
		Short:  "Serve probes in the hosts of a lab (started by labctl up)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return agent.Main(cmd.Context(), config, readyFD)
		},
	}
	cmd.Flags().StringVar(&config, "config", "", "agent configuration written by labctl up")
	cmd.Flags().IntVar(&readyFD, "ready-fd", 3, "file descriptor to signal readiness on (0: none)")
	_ = cmd.MarkFlagRequired("config")
	return cmd
}

// withAgent sets up the probe agent for every host that serves: one process for the
// whole lab, with its sockets opened inside each host's namespace.
func withAgent(p *plan.Plan, opts *node.UpOptions) error {
	cfg := agent.ConfigFor(p, node.NetnsDir)
	if len(cfg.Hosts) == 0 {
		return nil
	}
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find the labctl binary to run the agent: %w", err)
	}
	opts.AgentConfig = data
	opts.Agent = func(path string) []string { return []string{self, "agent", "--config", path} }
	return nil
}
