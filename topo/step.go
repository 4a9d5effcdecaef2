package topo

import (
	"fmt"
	"strings"
	"time"

	"github.com/labctl/labctl/topo/plan"
	"github.com/labctl/labctl/topo/rules"
)

// compileSteps resolves the scenario and returns every ruleset each host has over it
// (its initial rules, then its rules after each iptables step), for the checks of
// rulesHit patterns.
func (b *builder) compileSteps(ab *addrBook, probes map[string]Pos) map[string][]*rules.Ruleset {
	current := map[string]*rules.Ruleset{}
	all := map[string][]*rules.Ruleset{}
	for _, n := range b.p.Namespaces {
		if n.Kind != plan.KindNetwork && n.Rules != nil && !n.Rules.Empty() {
			current[n.Name] = n.Rules
			all[n.Name] = []*rules.Ruleset{n.Rules}
		}
	}
	for i := range b.lab.Steps {
		s := &b.lab.Steps[i]
		what := fmt.Sprintf("steps[%d]", i)
		step := plan.Step{Line: s.Pos().Line}
		actions := 0
		if s.Probe != "" {
			actions++
			step.Probe = s.Probe
			if _, ok := probes[s.Probe]; !ok {
				b.r.add(s.Pos(), b.probeHint(s.Probe), "%s: unknown probe %q", what, s.Probe)
			}
		}
		if s.IPTables != nil {
			actions++
			step.Rules = b.rulesStep(s.IPTables, ab, current, what)
			if step.Rules != nil {
				all[step.Rules.Host] = append(all[step.Rules.Host], current[step.Rules.Host])
			}
		}
		if s.Exec != nil {
			actions++
			step.Exec = &plan.ExecStep{Host: s.Exec.On, Run: s.Exec.Run}
			if !ab.isHost(s.Exec.On) {
				b.r.add(s.Exec.At("on"), ab.suggestHost(s.Exec.On), "%s: exec: unknown host %q", what, s.Exec.On)
			}
			if strings.TrimSpace(s.Exec.Run) == "" {
				b.r.add(s.Exec.At("run"), "write the shell command to run", "%s: exec: empty command", what)
			}
		}
		if s.Sleep != "" {
			actions++
			d, err := time.ParseDuration(s.Sleep)
			if err != nil || d <= 0 || d > 10*time.Minute {
				b.r.add(s.At("sleep"), "write a Go duration up to 10m, e.g. 1s or 500ms", "%s: sleep %q is not a usable duration", what, s.Sleep)
			}
			step.Sleep = plan.Duration(d)
		}
		if actions != 1 {
			b.r.add(s.Pos(), "write exactly one of probe, iptables, exec or sleep per step", "%s: a step does one thing; this one does %d", what, actions)
			continue
		}
		b.p.Steps = append(b.p.Steps, step)
	}
	return all
}

// rulesStep applies a step's rule text on top of the host's rules so far and keeps the
// complete payload, loaded in one restore when the step runs.
func (b *builder) rulesStep(s *RulesStep, ab *addrBook, current map[string]*rules.Ruleset, what string) *plan.RulesStep {
	if !ab.isHost(s.On) {
		b.r.add(s.At("on"), ab.suggestHost(s.On), "%s: iptables: unknown host %q", what, s.On)
		return nil
	}
	if strings.TrimSpace(s.Rules) == "" {
		b.r.add(s.At("rules"), "write iptables command lines or restore text", "%s: iptables: no rules", what)
		return nil
	}
	at := s.At("rules")
	locate := func(textLine int) (int, int) { return at.Line + textLine, at.Col }
	rs, problems := rules.Parse(s.Rules, locate, current[s.On])
	for _, p := range problems {
		b.r.problems = append(b.r.problems, Problem{File: b.r.file, Pos: Pos{p.Line, p.Col}, Msg: fmt.Sprintf("%s: iptables on %s: %s", what, s.On, p.Msg), Hint: p.Hint})
	}
	if len(problems) > 0 {
		return nil
	}
	current[s.On] = rs
	payload, _ := rs.Render()
	return &plan.RulesStep{Host: s.On, Written: strings.TrimSpace(s.Rules), Payload: string(payload)}
}

func (b *builder) probeHint(name string) string {
	var names []string
	for _, p := range b.lab.Probes {
		names = append(names, p.Name)
	}
	if len(names) == 0 {
		return "declare the probe under probes first"
	}
	return didYouMean(name, names, "probes: "+strings.Join(names, ", "))
}
