package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/labctl/labctl/node"
	"github.com/labctl/labctl/topo"
	"github.com/labctl/labctl/topo/plan"
	"github.com/labctl/labctl/verify"
)

// reportFlags are the output options verify and test share.
type reportFlags struct {
	output string
	junit  string
	run    string
	// acceptUnchecked lets checks that need another machine pass the exit status.
	acceptUnchecked bool
	// allLabs: JSON is one document holding every lab's report (labctl test), not
	// the one lab's report (labctl verify).
	allLabs bool
}

func (f *reportFlags) add(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.output, "output", "o", "table", "table or json")
	cmd.Flags().StringVar(&f.junit, "junit", "", "also write a JUnit XML report to this file (for CI test reporters)")
	cmd.Flags().StringVar(&f.run, "run", "", "run only the probes whose name matches this regular expression (one must match)")
	_ = cmd.RegisterFlagCompletionFunc("output", fixedValues("table", "json"))
}

// options checks the flags and turns them into run options.
func (f *reportFlags) options() (verify.Options, error) {
	if f.output != "table" && f.output != "json" {
		return verify.Options{}, usageError{fmt.Errorf("--output %q: use table or json", f.output)}
	}
	var opts verify.Options
	if f.run != "" {
		re, err := regexp.Compile(f.run)
		if err != nil {
			return opts, usageError{fmt.Errorf("--run %q: %w", f.run, err)}
		}
		opts.Select = re.MatchString
	}
	return opts, nil
}

// selecting keeps the plans with a probe --run picks (all without --run), and refuses
// a --run that picks no probe of any: "0 of 0 passed" would look like success.
func (f *reportFlags) selecting(opts verify.Options, plans ...*plan.Plan) ([]*plan.Plan, error) {
	if opts.Select == nil {
		return plans, nil
	}
	var out []*plan.Plan
	for _, p := range plans {
		if slices.ContainsFunc(p.Probes, func(pr plan.Probe) bool { return opts.Select(pr.Name) }) {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		labs := make([]string, len(plans))
		for i, p := range plans {
			labs[i] = p.Instance
		}
		return nil, usageError{fmt.Errorf("--run %q matches no probe of lab %s: labctl plan FILE lists the probe names", f.run, strings.Join(labs, ", "))}
	}
	return out, nil
}

func newVerifyCmd() *cobra.Command {
	f := &reportFlags{}
	var machine string
	cmd := &cobra.Command{
		Use:   "verify FILE|LABNAME",
		Short: "Run the probes and steps of a running lab and judge them",
		Long: `Send each probe's traffic from its host in the running lab and check what the lab
file expects: who answers, the source address they see, HTTP details, conntrack
entries, rules hit. Without steps every probe runs, in file order; with steps, the
probes no step names run first, then the steps. The first 5 failed probes are sent
once more and traced: the report says where their packets went, and names the
labctl trace command for the others.

With a lab name, the lab file recorded by labctl up is read again.
Exit status: 0 every probe passed, 1 a probe failed, 2 bad input, the lab is not up,
or --run matches no probe.
When GITHUB_STEP_SUMMARY is set, a Markdown summary is appended to that file.`,
		Example: "  labctl verify labs/basic.yaml\n  labctl verify basic --run 'public address' -o json\n" +
			"  labctl verify labs/hairpin.yaml --junit report.xml",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeRunning,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := node.RequireRoot(); err != nil {
				return err
			}
			opts, err := f.options()
			if err != nil {
				return err
			}
			p, err := runningPlan(cmd, args[0], machine)
			if err != nil {
				return err
			}
			if _, err := f.selecting(opts, p); err != nil {
				return err
			}
			rep := runProbes(cmd, p, opts, probeProgress(cmd, f))
			return writeReports(cmd, f, rep)
		},
	}
	f.add(cmd)
	cmd.Flags().StringVar(&machine, "machine", "", "lab spread over machines: run the probes that start on this machine's hosts (the share labctl up --machine built)")
	cmd.Flags().BoolVar(&f.acceptUnchecked, "accept-unchecked", false, "lab spread over machines: exit 0 even when checks need another machine's conntrack or counters (reported UNCHECKED)")
	return cmd
}

// runningPlan compiles the lab (a file, or the file a running lab was built from) and
// checks that it is up.
func runningPlan(cmd *cobra.Command, arg, machine string) (*plan.Plan, error) {
	path := arg
	opts := topo.CompileOptions{Machine: machine}
	if !isLabFile(arg) {
		inst, err := instanceOfShare(arg, machine)
		if err != nil {
			return nil, err
		}
		st, err := node.ReadState(inst)
		if errors.Is(err, os.ErrNotExist) {
			return nil, usageError{fmt.Errorf("lab %s is not running (labctl ls shows what runs)", arg)}
		}
		if err != nil {
			return nil, err
		}
		if st.Source == "" {
			return nil, usageError{fmt.Errorf("lab %s was built without a lab file: give the file", arg)}
		}
		path = st.Source
		opts.Machine, opts.UnderlayNetNS = st.Machine, st.Underlay
	} else if st, err := shareState(path, machine); err == nil {
		opts.Machine, opts.UnderlayNetNS = st.Machine, st.Underlay
	}
	p, err := compileFile(path, opts)
	if err != nil {
		return nil, err
	}
	st, err := node.ReadState(p.Instance)
	if errors.Is(err, os.ErrNotExist) {
		return nil, usageError{fmt.Errorf("lab %s is not running: run labctl up %s first", p.Instance, path)}
	}
	if err != nil {
		return nil, err
	}
	if st.Status != node.StatusUp {
		return nil, usageError{fmt.Errorf("lab %s is not fully up (status %s): run labctl up --replace %s", p.Instance, st.Status, path)}
	}
	if st.Backend != "" {
		p.Backend = st.Backend // up may have been given --iptables
	}
	if st.Digest != p.Digest() {
		fmt.Fprintf(cmd.ErrOrStderr(), "labctl: warning: lab %s runs an older version of %s (hosts, links or rules changed); probes may not match: labctl up --replace %s\n", p.Instance, path, path)
	}
	return p, nil
}

// probeProgress says whether a line per finished probe goes to stderr: as up's
// phases, on a terminal by default, anywhere with -v, never with -q; and only under
// the table, which it announces.
func probeProgress(cmd *cobra.Command, f *reportFlags) bool {
	quiet, _ := cmd.Flags().GetBool("quiet")
	verbose, _ := cmd.Flags().GetBool("verbose")
	return f.output == "table" && !quiet && (verbose || isTerminal(cmd.ErrOrStderr()))
}

// runProbes runs the plan's probes and steps, printing progress when asked.
func runProbes(cmd *cobra.Command, p *plan.Plan, opts verify.Options, progress bool) *verify.Report {
	if progress {
		opts.Progress = func(r verify.Result) {
			fmt.Fprintf(cmd.ErrOrStderr(), "  %s  %s\n", r.Status(), r.Name())
		}
	}
	env := verify.NewKernel(p)
	defer env.Close()
	return verify.Run(cmd.Context(), p, env, opts)
}

// writeReports prints the report and writes the JUnit and GitHub summary files;
// a failed probe makes the command exit 1.
func writeReports(cmd *cobra.Command, f *reportFlags, reps ...*verify.Report) error {
	out := cmd.OutOrStdout()
	failed := 0
	for _, rep := range reps {
		failed += rep.Failed
	}
	switch {
	case f.output == "json" && f.allLabs:
		if err := verify.WriteJSONAll(out, reps...); err != nil {
			return err
		}
	case f.output == "json":
		for _, rep := range reps {
			if err := rep.WriteJSON(out); err != nil {
				return err
			}
		}
	default:
		for _, rep := range reps {
			if err := rep.WriteTable(out); err != nil {
				return err
			}
		}
	}
	if f.junit != "" {
		if err := writeFile(f.junit, func(w io.Writer) error { return verify.WriteJUnit(w, reps...) }, false); err != nil {
			return err
		}
	}
	if summary := os.Getenv("GITHUB_STEP_SUMMARY"); summary != "" {
		for _, rep := range reps {
			if err := writeFile(summary, rep.WriteMarkdown, true); err != nil {
				return err
			}
		}
	}
	if failed > 0 {
		return checkFailed{failed}
	}
	return uncheckedError(cmd, f, reps)
}

func writeFile(path string, write func(io.Writer) error, appendTo bool) error {
	flags := os.O_CREATE | os.O_WRONLY | os.O_TRUNC
	if appendTo {
		flags = os.O_CREATE | os.O_WRONLY | os.O_APPEND
	}
	fh, err := os.OpenFile(path, flags, 0o644)
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := write(fh); err != nil {
		fh.Close()
		return fmt.Errorf("write report %s: %w", path, err)
	}
	return fh.Close()
}
