package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/labctl/labctl/node"
	"github.com/labctl/labctl/topo/plan"
)

type upFlags struct {
	replace, keep bool
	backend       string
	machineFlags
}

func newUpCmd(g *globals) *cobra.Command {
	f := &upFlags{}
	cmd := &cobra.Command{
		Use:   "up FILE",
		Short: "Build a lab: namespaces, links, addresses, routes, rules, servers",
		Long: `Build the lab described by FILE. The whole lab is validated first (nothing is
created if anything is wrong). Running up again on a running lab does nothing when the
file did not change; after a change it refuses unless --replace is given.`,
		Example:           "  labctl up labs/basic.yaml\n  labctl up --replace labs/hairpin.yaml\n  labctl up big.yaml --machine a    # this machine's share of a lab spread over machines (docs/multi-machine.md)",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeLabFiles,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.check(); err != nil {
				return err
			}
			p, err := compileFile(args[0], f.options(f.backend))
			if err != nil {
				return err
			}
			start := time.Now()
			res, err := bringUp(cmd, g, p, f)
			if err != nil {
				return err
			}
			if g.quiet {
				return nil
			}
			out := cmd.OutOrStdout()
			if res.AlreadyUp {
				fmt.Fprintf(out, "lab %s is already up and unchanged: nothing to do\n", p.Instance)
			} else {
				fmt.Fprintf(out, "lab %s is up (%.2fs)\n", p.Instance, time.Since(start).Seconds())
			}
			printHosts(out, res.State)
			return nil
		},
	}
	cmd.Flags().BoolVar(&f.replace, "replace", false, "remove a running instance of the lab first, then build it again")
	cmd.Flags().BoolVar(&f.keep, "keep-on-failure", false, "leave a half-built lab in place when up fails (for inspection)")
	cmd.Flags().StringVar(&f.backend, "iptables", "", "iptables backend: nft or legacy (default: the lab's options.iptables, else nft)")
	f.machineFlags.add(cmd, true)
	return cmd
}

// bringUp checks the lab's rules in a scratch namespace, then builds it.
func bringUp(cmd *cobra.Command, g *globals, p *plan.Plan, f *upFlags) (*node.UpResult, error) {
	if err := node.Preflight(p); err != nil {
		return nil, err
	}
	if err := node.CheckRules(cmd.Context(), p); err != nil {
		return nil, err
	}
	opts := node.UpOptions{Replace: f.replace, KeepOnFailure: f.keep}
	if err := withAgent(p, &opts); err != nil {
		return nil, err
	}
	if g.verbose || (!g.quiet && isTerminal(cmd.ErrOrStderr())) {
		opts.Progress, opts.ProgressEvery = progressPrinter(cmd.ErrOrStderr(), isTerminal(cmd.ErrOrStderr()))
	}
	return node.Up(cmd.Context(), p, opts)
}

func printHosts(w io.Writer, st *node.State) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tKIND\tADDRESSES")
	for _, h := range st.Hosts {
		if h.Kind == plan.KindNetwork {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", h.Name, h.Kind, strings.Join(h.Addresses, " "))
	}
	tw.Flush()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func completeLabFiles(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return []string{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt
}
