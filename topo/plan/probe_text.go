package plan

import (
	"bytes"
	"fmt"
	"strings"
)

// writeProbes renders probes and steps for labctl plan.
func (p *Plan) writeProbes(b *bytes.Buffer) {
	if len(p.Probes) > 0 {
		b.WriteString("\nprobes\n")
	}
	for _, pr := range p.Probes {
		fmt.Fprintf(b, "  probe %q", pr.Name)
		if pr.Line > 0 {
			fmt.Fprintf(b, "  # line %d", pr.Line)
		}
		b.WriteByte('\n')
		if pr.RunsOn != "" {
			fmt.Fprintf(b, "    runs on machine %s, not here (labctl verify --machine %s)\n", pr.RunsOn, pr.RunsOn)
		}
		fmt.Fprintf(b, "    %s\n", pr.Summary())
		for _, line := range pr.Expect.Describe() {
			fmt.Fprintf(b, "    expect %s\n", line)
		}
		for _, h := range pr.Then {
			fmt.Fprintf(b, "    then %s %s timeout %s\n", h.Protocol, h.To, h.Timeout)
			for _, line := range h.Expect.Describe() {
				fmt.Fprintf(b, "      expect %s\n", line)
			}
		}
	}
	if len(p.Steps) > 0 {
		b.WriteString("\nsteps\n")
	}
	for i, s := range p.Steps {
		fmt.Fprintf(b, "  %d. %s", i+1, s.Summary())
		if s.Line > 0 {
			fmt.Fprintf(b, "  # line %d", s.Line)
		}
		b.WriteByte('\n')
		if s.Rules != nil {
			for _, line := range strings.Split(strings.TrimSpace(s.Rules.Written), "\n") {
				fmt.Fprintf(b, "       %s\n", strings.TrimSpace(line))
			}
		}
	}
}

// Summary is the probe's traffic in one line: from, to, protocol, tries.
func (pr *Probe) Summary() string {
	s := fmt.Sprintf("%s -> %s %s", pr.From, pr.To, pr.Protocol)
	if pr.Protocol == HTTP && (pr.HTTPPath != "" || pr.HTTPHost != "") {
		s += fmt.Sprintf(" (path %s, host %s)", or(pr.HTTPPath, "/"), or(pr.HTTPHost, pr.To.AddrPort()))
	}
	s += fmt.Sprintf(" x%d timeout %s", pr.Count, pr.Timeout)
	if pr.Session != "" {
		s += " session " + pr.Session
	}
	return s
}

// Summary says what the step does in one line.
func (s Step) Summary() string {
	switch {
	case s.Probe != "":
		return "probe " + s.Probe
	case s.Rules != nil:
		return "iptables on " + s.Rules.Host + " (one atomic restore; conntrack keeps existing flows):"
	case s.Exec != nil:
		return "exec on " + s.Exec.Host + ": " + s.Exec.Run
	}
	return "sleep " + s.Sleep.String()
}

// Describe renders each expectation as one line, as plan and reports show them.
func (e Expect) Describe() []string {
	var out []string
	switch e.Reach {
	case ReachAnswered, "":
		out = append(out, "answered")
	case ReachNone:
		out = append(out, "no answer")
	default:
		out = append(out, "no answer: "+e.Reach)
	}
	if len(e.AnsweredBy) > 0 {
		line := "answered by " + strings.Join(e.AnsweredBy, " or ")
		if e.EveryBackend {
			line = "answered by each of " + strings.Join(e.AnsweredBy, ", ")
		}
		out = append(out, line)
	} else if e.EveryBackend {
		out = append(out, "answered by each backend")
	}
	if e.SourceSeen != nil {
		out = append(out, "source seen "+e.SourceSeen.String())
	}
	if h := e.HTTP; h != nil {
		var parts []string
		if h.Status != 0 {
			parts = append(parts, fmt.Sprintf("status %d", h.Status))
		}
		if h.BodyContains != "" {
			parts = append(parts, fmt.Sprintf("body contains %q", h.BodyContains))
		}
		if h.ForwardedFor != nil {
			parts = append(parts, "X-Forwarded-For lists "+h.ForwardedFor.String())
		}
		out = append(out, "http "+strings.Join(parts, ", "))
	}
	for _, c := range e.Conntrack {
		out = append(out, "conntrack on "+c.On+": "+c.Describe())
	}
	for _, r := range e.RulesHit {
		out = append(out, "rules hit on "+r.On+": "+strings.Join(r.Patterns, ", "))
	}
	for _, r := range e.RulesNotHit {
		out = append(out, "rules not hit on "+r.On+": "+strings.Join(r.Patterns, ", "))
	}
	return out
}

func (s *SourceSeen) String() string {
	if s.All != nil {
		return s.All.String()
	}
	if len(s.AnyOf) > 0 {
		return AnyOfText(s.AnyOf)
	}
	hosts := s.Hosts()
	parts := make([]string, len(hosts))
	for i, h := range hosts {
		parts[i] = fmt.Sprintf("%s: %s", h, s.ByHost[h])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// AnyOfText renders addresses of which one is expected: the address itself when
// there is one, else "one of A, B".
func AnyOfText(addrs []NamedAddr) string {
	if len(addrs) == 1 {
		return addrs[0].String()
	}
	parts := make([]string, len(addrs))
	for i, a := range addrs {
		parts[i] = a.String()
	}
	return "one of " + strings.Join(parts, ", ")
}

// Describe renders the tuples the entry must have.
func (c ConntrackExpect) Describe() string {
	var parts []string
	if c.Original != (TupleMatch{}) {
		parts = append(parts, "original "+c.Original.String())
	}
	if c.Reply != (TupleMatch{}) {
		parts = append(parts, "reply "+c.Reply.String())
	}
	return strings.Join(parts, ", ")
}

func or(s, dflt string) string {
	if s == "" {
		return dflt
	}
	return s
}
