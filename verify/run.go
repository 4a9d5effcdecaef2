package verify

import (
	"cmp"
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/labctl/labctl/topo/plan"
	"github.com/labctl/labctl/topo/rules"
)

// Options tune a run.
type Options struct {
	// Workers bounds the probes running at once (default: two per CPU).
	Workers int
	// Select picks probes by name (nil: all). Steps that are not probes always run.
	Select func(name string) bool
	// NoTrace skips re-running failed probes to trace them.
	NoTrace bool
	// MaxTraces bounds the failed probes traced in one run (0: DefaultMaxTraces).
	MaxTraces int
	// Progress, when set, is told each result as soon as it is known (from one
	// goroutine at a time).
	Progress func(Result)
}

// Report is the outcome of a run.
type Report struct {
	Lab     string   `json:"lab"`
	Source  string   `json:"source,omitempty"`
	Results []Result `json:"results"`
	Passed  int      `json:"passed"`
	Failed  int      `json:"failed"`
	// Unchecked and Skipped count results of a machine's share (see machines.go).
	Unchecked int           `json:"unchecked,omitempty"`
	Skipped   int           `json:"skipped,omitempty"`
	Duration  time.Duration `json:"durationNs"`
	// Untraced counts the failed probes not traced because MaxTraces were.
	Untraced int `json:"untraced,omitempty"`
}

// OK reports whether every probe and step passed.
func (r *Report) OK() bool { return r.Failed == 0 && r.Unchecked == 0 }

// unit is one thing to run: a probe (in a step or not) or another step.
type unit struct {
	probe *plan.Probe
	step  int // 1-based, 0 for probes run before the steps
	plan  plan.Step
	alone bool
}

// Run runs the plan's probes and steps against the running lab and judges them.
// See the package documentation for the order.
func Run(ctx context.Context, p *plan.Plan, env Env, opts Options) *Report {
	start := time.Now()
	if opts.Workers <= 0 {
		opts.Workers = 2 * runtime.NumCPU()
	}
	r := &runner{plan: p, env: env, opts: opts}
	results := make([]Result, 0, len(p.Probes)+len(p.Steps))
	if res, ok := resetStepRules(ctx, p, env); !ok {
		results = append(results, res)
	}
	units := schedule(p, opts.Select)
	for i := 0; i < len(units); {
		if ctx.Err() != nil {
			break
		}
		if units[i].alone {
			results = append(results, r.runAlone(ctx, units[i]))
			i++
			continue
		}
		j := i
		for j < len(units) && !units[j].alone {
			j++
		}
		results = append(results, r.runBatch(ctx, units[i:j])...)
		i = j
	}
	rep := &Report{Lab: p.Instance, Source: p.Source, Results: results, Duration: time.Since(start), Untraced: r.untraced}
	for _, res := range results {
		switch {
		case res.Skipped != "":
			rep.Skipped++
		case res.Unchecked:
			rep.Unchecked++
		case res.Pass:
			rep.Passed++
		default:
			rep.Failed++
		}
	}
	if ctx.Err() != nil {
		rep.Failed++
		rep.Results = append(rep.Results, Result{Probe: "run", Error: "interrupted: " + ctx.Err().Error()})
	}
	return rep
}

// resetStepRules loads the planned rules of every host whose rules a step changes,
// so a lab with such steps can be verified again and again, and the probes before the
// steps see the lab as planned.
func resetStepRules(ctx context.Context, p *plan.Plan, env Env) (Result, bool) {
	done := map[string]bool{}
	for _, s := range p.Steps {
		if s.Rules == nil || done[s.Rules.Host] {
			continue
		}
		done[s.Rules.Host] = true
		if notHere(p, s.Rules.Host) != "" {
			continue // on another machine: its own verify resets it
		}
		n := p.Namespace(s.Rules.Host)
		rs := &rules.Ruleset{}
		if n != nil && n.Rules != nil {
			rs = n.Rules.Clone()
		}
		// Tables the step writes but the plan leaves empty are emptied too.
		for _, line := range strings.Split(s.Rules.Payload, "\n") {
			if name, ok := strings.CutPrefix(line, "*"); ok && rules.KnownTable(name) {
				rs.Table(name)
			}
		}
		payload, _ := rs.Render()
		if err := env.LoadRules(ctx, s.Rules.Host, payload); err != nil {
			return Result{Probe: "reset rules on " + s.Rules.Host, Error: "restore the planned rules before the steps: " + err.Error()}, false
		}
	}
	return Result{}, true
}

// schedule lists what runs, in order: without steps every probe; with steps the probes
// no step names, then the steps.
func schedule(p *plan.Plan, selected func(string) bool) []unit {
	pick := func(name string) bool { return selected == nil || selected(name) }
	inSteps := map[string]bool{}
	for _, s := range p.Steps {
		if s.Probe != "" {
			inSteps[s.Probe] = true
		}
	}
	var units []unit
	for i := range p.Probes {
		pr := &p.Probes[i]
		if inSteps[pr.Name] || !pick(pr.Name) {
			continue
		}
		units = append(units, unit{probe: pr, alone: pr.Expect.ReadsCounters() || pr.Session != ""})
	}
	for i, s := range p.Steps {
		u := unit{step: i + 1, plan: s, alone: true}
		if s.Probe != "" {
			if !pick(s.Probe) {
				continue
			}
			u.probe = p.Probe(s.Probe)
		}
		units = append(units, u)
	}
	return units
}

type runner struct {
	plan *plan.Plan
	env  Env
	opts Options
	mu   sync.Mutex // serialises Progress
	// traced and untraced count failed probes (traceIfFailed runs one at a time).
	traced, untraced int
}

func (r *runner) report(res Result) {
	if r.opts.Progress == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.opts.Progress(res)
}

// runAlone runs one unit with nothing else in flight, and traces it if it failed.
func (r *runner) runAlone(ctx context.Context, u unit) Result {
	var res Result
	if u.probe == nil {
		res = r.runStep(ctx, u)
	} else {
		res = r.runProbe(ctx, u)
		r.traceIfFailed(ctx, u, &res)
	}
	r.report(res)
	return res
}

// runBatch runs probes concurrently, then traces the failed ones one at a time.
func (r *runner) runBatch(ctx context.Context, units []unit) []Result {
	results := make([]Result, len(units))
	sem := make(chan struct{}, r.opts.Workers)
	var wg sync.WaitGroup
	for i, u := range units {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			results[i] = r.runProbe(ctx, u)
		})
	}
	wg.Wait()
	for i, u := range units {
		r.traceIfFailed(ctx, u, &results[i])
		r.report(results[i])
	}
	return results
}

func (r *runner) runProbe(ctx context.Context, u unit) Result {
	if res, skip := skipRemote(r.plan, *u.probe, u.step); skip {
		return res
	}
	start := time.Now()
	res := r.judgeShare(ctx, *u.probe)
	res.Step, res.Duration = u.step, time.Since(start)
	return res
}

func (r *runner) traceIfFailed(ctx context.Context, u unit, res *Result) {
	if res.Pass || res.Unchecked || res.Skipped != "" || res.Error != "" || r.opts.NoTrace || ctx.Err() != nil {
		return
	}
	p := *u.probe
	p.Count = 1
	if p.Session != "" {
		return // a second request on the session would change what it shows
	}
	if r.traced >= cmp.Or(r.opts.MaxTraces, DefaultMaxTraces) {
		r.untraced++
		res.Untraced = traceCommand(r.plan.Instance, p)
		return
	}
	r.traced++
	tr := traceProbe(ctx, r.env, r.plan, p)
	res.Trace = &tr
}

// runStep changes the lab for a scenario step.
func (r *runner) runStep(ctx context.Context, u unit) Result {
	s := u.plan
	if res, remote := stepNotHere(r.plan, s, u.step); remote {
		return res
	}
	res := Result{Probe: s.Summary(), Step: u.step, Line: s.Line, Summary: s.Summary(), Pass: true}
	start := time.Now()
	var err error
	switch {
	case s.Rules != nil:
		res.Probe = "iptables on " + s.Rules.Host
		err = r.env.LoadRules(ctx, s.Rules.Host, []byte(s.Rules.Payload))
	case s.Exec != nil:
		res.Probe = "exec on " + s.Exec.Host + ": " + s.Exec.Run
		_, err = r.env.Exec(ctx, s.Exec.Host, s.Exec.Run)
	case s.Sleep > 0:
		select {
		case <-time.After(s.Sleep.D()):
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	res.Duration = time.Since(start)
	if err != nil {
		res.Pass = false
		res.Error = fmt.Sprintf("step failed: %s", strings.TrimSpace(err.Error()))
	}
	return res
}
