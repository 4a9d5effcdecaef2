package main

import (
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/labctl/labctl/node"
	"github.com/labctl/labctl/topo"
	"github.com/labctl/labctl/topo/plan"
	"github.com/labctl/labctl/verify"
)

func newTestCmd(g *globals) *cobra.Command {
	f := &reportFlags{allLabs: true}
	var backend string
	cmd := &cobra.Command{
		Use:   "test FILE...",
		Short: "Build each lab, verify its probes, remove it: what CI runs",
		Long: `For each lab file: labctl up, labctl verify, labctl down. Every file is compiled
first, so a bad file changes nothing. down always runs: after a failed probe, a failed
up, and on Ctrl-C or SIGTERM. Exit status as verify: 0 all passed, 1 something failed,
2 bad input (also a --run that matches no probe of any lab; labs none of whose probes
it matches are not built).

-o json prints one document, {"labs": [REPORT...], "passed": N, "failed": N, ...},
for one lab as for several; each REPORT is what labctl verify -o json prints.`,
		Example:           "  labctl test labs/*.yaml --junit report.xml",
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeEveryLabFile,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := node.RequireRoot(); err != nil {
				return err
			}
			opts, err := f.options()
			if err != nil {
				return err
			}
			plans := make([]*plan.Plan, 0, len(args))
			for _, path := range args {
				p, err := compileFile(path, topo.CompileOptions{Backend: backend})
				if err != nil {
					return err
				}
				if err := notRunning(p); err != nil {
					return err
				}
				plans = append(plans, p)
			}
			selected, err := f.selecting(opts, plans...)
			if err != nil {
				return err
			}
			for _, p := range plans {
				if !slices.Contains(selected, p) && !g.quiet {
					fmt.Fprintf(cmd.ErrOrStderr(), "lab %s: no probe matches --run %q, not built\n", p.Instance, f.run)
				}
			}
			plans = selected
			var reps []*verify.Report
			for _, p := range plans {
				if cmd.Context().Err() != nil {
					break
				}
				reps = append(reps, testLab(cmd, g, p, opts, probeProgress(cmd, f)))
			}
			return writeReports(cmd, f, reps...)
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&backend, "iptables", "", "iptables backend: nft or legacy (default: each lab's options.iptables, else nft)")
	return cmd
}

// testLab builds, verifies and removes one lab. The removal runs whatever happened
// before, also after the command's context was cancelled by a signal.
func testLab(cmd *cobra.Command, g *globals, p *plan.Plan, opts verify.Options, progress bool) (rep *verify.Report) {
	defer func() {
		if _, err := node.Down(p.Instance); err != nil {
			rep.Failed++
			rep.Results = append(rep.Results, verify.Result{Probe: "labctl down", Error: "remove the lab: " + err.Error()})
		}
	}()
	if _, err := bringUp(cmd, g, p, &upFlags{replace: true}); err != nil {
		return &verify.Report{Lab: p.Instance, Source: p.Source, Failed: 1,
			Results: []verify.Result{{Probe: "labctl up", Error: "build the lab: " + err.Error()}}}
	}
	if !g.quiet && cmd.Context().Err() == nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "lab %s is up; running %d probes and %d steps\n", p.Instance, len(p.Probes), len(p.Steps))
	}
	return runProbes(cmd, p, opts, progress)
}

// notRunning refuses a lab that is already up: test removes its labs at the end, and
// must not remove one somebody else is using.
func notRunning(p *plan.Plan) error {
	running, err := node.List()
	if err != nil {
		return err
	}
	for _, r := range running {
		if r.Instance == p.Instance {
			return usageError{fmt.Errorf("lab %s is already running; labctl test builds and removes its labs: use labctl verify %s, or labctl down %s first", p.Instance, p.Instance, p.Instance)}
		}
	}
	return nil
}

// completeEveryLabFile completes lab files for every argument: test takes many.
func completeEveryLabFile(_ *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	return []string{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt
}
