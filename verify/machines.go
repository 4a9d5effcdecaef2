package verify

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/labctl/labctl/topo/plan"
)

// A machine's share of a lab spread over machines (plan.Plan.Machine set) verifies
// the probes that start on its hosts; their traffic may cross to other machines,
// and what the answering agent saw comes back in-band, so those checks are judged
// as on one machine. What needs another machine's kernel (conntrack tables and rule
// counters of its hosts, steps that change them) cannot be read from here: labctl
// does not reach over the underlay for it (the underlay carries only the lab's
// tunnels). Such a check is reported as UNCHECKED, never as passed; a probe from a
// host of another machine is SKIPPED and runs with verify --machine of that machine.

// notHere says why host's kernel state cannot be read from this machine, or "".
func notHere(p *plan.Plan, host string) string {
	if p.Machine == "" || p.Namespace(host) != nil {
		return ""
	}
	if r := p.Remote(host); r != nil {
		return fmt.Sprintf("not checkable from machine %s: %s runs on machine %s (its verify --machine %s cannot check it either: the probe starts here)", p.Machine, host, r.Machine, r.Machine)
	}
	return ""
}

// skipRemote returns the result of a probe that starts on another machine.
func skipRemote(p *plan.Plan, pr plan.Probe, step int) (Result, bool) {
	if p.Machine == "" || p.Namespace(pr.From) != nil {
		return Result{}, false
	}
	r := p.Remote(pr.From)
	if r == nil {
		return Result{}, false
	}
	why := fmt.Sprintf("from %s, on machine %s: verify --machine %s runs it", pr.From, r.Machine, r.Machine)
	return Result{Probe: pr.Name, Step: step, Line: pr.Line, Summary: pr.Summary(), Skipped: why}, true
}

// judgeShare runs a probe and judges it, with the expectations about hosts of other
// machines taken out of the observation and reported as unchecked.
func (r *runner) judgeShare(ctx context.Context, pr plan.Probe) Result {
	var unchecked []Check
	local := pr
	local.Expect.Conntrack, local.Expect.RulesHit, local.Expect.RulesNotHit = nil, nil, nil
	for _, c := range pr.Expect.Conntrack {
		if why := notHere(r.plan, c.On); why != "" {
			unchecked = append(unchecked, Check{Name: "conntrack on " + c.On, Expected: conntrackText(c), Seen: why, Unchecked: true})
			continue
		}
		local.Expect.Conntrack = append(local.Expect.Conntrack, c)
	}
	keep := func(list []plan.RulesExpect, name string) []plan.RulesExpect {
		var out []plan.RulesExpect
		for _, e := range list {
			if why := notHere(r.plan, e.On); why != "" {
				unchecked = append(unchecked, Check{Name: name + " on " + e.On, Expected: fmt.Sprint(e.Patterns), Seen: why, Unchecked: true})
				continue
			}
			out = append(out, e)
		}
		return out
	}
	local.Expect.RulesHit = keep(pr.Expect.RulesHit, "rulesHit")
	local.Expect.RulesNotHit = keep(pr.Expect.RulesNotHit, "rulesNotHit")
	res := Judge(local, observe(ctx, r.env, local, nil, nil))
	if len(unchecked) > 0 {
		res.Checks = append(res.Checks, unchecked...)
		if res.Pass {
			res.Pass, res.Unchecked = false, true
		}
	}
	return res
}

func conntrackText(c plan.ConntrackExpect) string {
	return "an entry " + c.Original.String()
}

// stepNotHere is the result of a step that changes a host of another machine.
func stepNotHere(p *plan.Plan, s plan.Step, step int) (Result, bool) {
	host := ""
	switch {
	case s.Rules != nil:
		host = s.Rules.Host
	case s.Exec != nil:
		host = s.Exec.Host
	}
	why := notHere(p, host)
	if host == "" || why == "" {
		return Result{}, false
	}
	return Result{Probe: s.Summary(), Step: step, Line: s.Line, Summary: s.Summary(), Unchecked: true, Error: "step not run: " + why}, true
}

// Status is how a result reads in reports: PASS, FAIL, UNCHECKED or SKIPPED.
func (r Result) Status() string {
	switch {
	case r.Skipped != "":
		return "SKIPPED"
	case r.Unchecked:
		return "UNCHECKED"
	case r.Pass:
		return "PASS"
	}
	return "FAIL"
}

// shareSummary adds a share's unchecked and skipped counts to the summary line.
func shareSummary(r *Report) string {
	s := ""
	if r.Unchecked > 0 {
		s += fmt.Sprintf("; %d UNCHECKED: they need another machine's conntrack or counters (--accept-unchecked accepts that)", r.Unchecked)
	}
	if r.Skipped > 0 {
		s += fmt.Sprintf("; %d skipped: they start on another machine, whose verify --machine runs them", r.Skipped)
	}
	return s
}

// shareOwners adds the addresses of hosts on other machines and of local tunnel
// ends, so an ICMP answer from across the underlay still names its host.
func shareOwners(p *plan.Plan, out map[netip.Addr]string) {
	for _, r := range p.Elsewhere {
		for _, a := range r.Addresses {
			out[a] = r.Name
		}
	}
	for _, n := range p.Namespaces {
		for _, t := range n.Tunnels {
			for _, a := range t.Addresses {
				out[a.Addr()] = n.Name
			}
		}
	}
}
