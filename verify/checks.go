package verify

import (
	"fmt"
	"slices"
	"strings"

	"github.com/labctl/labctl/node"
	"github.com/labctl/labctl/topo/plan"
	"github.com/labctl/labctl/topo/rules"
)

// sourceSeenCheck judges the source the answering hosts saw. Per host, only the
// answers of the hosts it names count, and at least one of them must have answered:
// a check with nothing to check never passes.
func sourceSeenCheck(prefix string, want *plan.SourceSeen, answered []call) Check {
	ch := Check{Name: prefix + "sourceSeen", Expected: "source seen " + want.String()}
	var seen, wrong []string
	checked := 0
	heard := map[string]bool{}
	for _, c := range answered {
		exp, ok := want.For(c.host)
		if !ok {
			continue
		}
		checked++
		heard[c.host] = true
		text := fmt.Sprintf("%s saw %s", orUnknown(c.host), c.remote)
		if want.ByHost == nil {
			text = "saw " + c.remote.String()
		}
		seen = appendUnique(seen, text)
		if !slices.ContainsFunc(exp, func(a plan.NamedAddr) bool { return a.Addr == c.remote }) {
			wrong = appendUnique(wrong, fmt.Sprintf("%s (want %s)", text, plan.AnyOfText(exp)))
		}
	}
	var silent []string
	for _, h := range want.Hosts() {
		if !heard[h] {
			silent = append(silent, h)
		}
	}
	ch.Pass = checked > 0 && len(wrong) == 0
	switch {
	case len(answered) == 0:
		ch.Seen = "no answer to check"
	case checked == 0:
		ch.Seen = fmt.Sprintf("none of %s answered, so no source could be checked (answered by %s)", strings.Join(silent, ", "), hostCounts(answered))
	case len(wrong) > 0:
		ch.Seen = strings.Join(wrong, ", ")
	default:
		ch.Seen = strings.Join(seen, ", ")
	}
	if checked > 0 && len(silent) > 0 {
		ch.Seen += fmt.Sprintf("; %s never answered", strings.Join(silent, ", "))
	}
	return ch
}

func httpChecks(prefix string, want plan.HTTPExpect, answered []call) []Check {
	var out []Check
	each := func(name, expected string, ok func(call) bool, seen func(call) string) {
		ch := Check{Name: prefix + name, Expected: expected, Pass: len(answered) > 0}
		var seens []string
		for _, c := range answered {
			if !ok(c) {
				ch.Pass = false
				seens = slices.Insert(seens, 0, seen(c)) // a failing one first
			} else {
				seens = appendUnique(seens, seen(c))
			}
		}
		ch.Seen = strings.Join(slices.Compact(seens), ", ")
		if len(answered) == 0 {
			ch.Seen = "no answer to check"
		}
		out = append(out, ch)
	}
	if want.Status != 0 {
		each("http status", fmt.Sprintf("status %d", want.Status),
			func(c call) bool { return c.status == want.Status },
			func(c call) string { return fmt.Sprintf("status %d", c.status) })
	}
	if want.BodyContains != "" {
		each("http body", fmt.Sprintf("body contains %q", want.BodyContains),
			func(c call) bool { return strings.Contains(c.body, want.BodyContains) },
			func(c call) string { return fmt.Sprintf("body %q", clip(c.body, 80)) })
	}
	if ff := want.ForwardedFor; ff != nil {
		each("http forwardedFor", "X-Forwarded-For lists "+ff.String(),
			func(c call) bool { return forwardedFor(c.forwardedFor, ff.Addr.String()) },
			func(c call) string { return fmt.Sprintf("X-Forwarded-For %q", c.forwardedFor) })
	}
	return out
}

func forwardedFor(header, addr string) bool {
	for _, part := range strings.Split(header, ",") {
		if strings.TrimSpace(part) == addr {
			return true
		}
	}
	return false
}

func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// conntrackCheck looks for an entry of the probe's flows on the host whose tuples
// match; with several tries, one matching entry is enough.
func conntrackCheck(want plan.ConntrackExpect, entries []node.ConntrackEntry, p plan.Probe) Check {
	ch := Check{Name: "conntrack on " + want.On, Expected: "conntrack on " + want.On + ": " + want.Describe()}
	for _, e := range entries {
		if tupleMatches(want.Original, e.Original) && tupleMatches(want.Reply, e.Reply) {
			ch.Pass = true
			ch.Seen = "conntrack on " + want.On + ": " + entryText(e)
			return ch
		}
	}
	if len(entries) == 0 {
		ch.Seen = fmt.Sprintf("no conntrack entry of this probe's flows on %s (none of its %s packets went through %s's conntrack)", want.On, p.Protocol, want.On)
		return ch
	}
	texts := make([]string, 0, 3)
	for _, e := range entries[:min(3, len(entries))] {
		texts = append(texts, entryText(e))
	}
	ch.Seen = "conntrack on " + want.On + " has only " + strings.Join(texts, "; ")
	return ch
}

func tupleMatches(want plan.TupleMatch, t node.Tuple) bool {
	return want.Src.Matches(t.Src.Addr(), int(t.Src.Port())) && want.Dst.Matches(t.Dst.Addr(), int(t.Dst.Port()))
}

// entryText renders an entry as conntrack -L would show the two tuples.
func entryText(e node.ConntrackEntry) string {
	return fmt.Sprintf("original %s, reply %s", tupleText(e.Original), tupleText(e.Reply))
}

func tupleText(t node.Tuple) string {
	if t.Src.Port() == 0 && t.Dst.Port() == 0 {
		return t.Src.Addr().String() + " -> " + t.Dst.Addr().String()
	}
	return t.String()
}

// rulesCheck judges rulesHit (hit) or rulesNotHit. A rulesNotHit pattern must name
// at least one rule of the host (all, as read after the tries): one that names nothing,
// a typo, would pass without proving anything.
func rulesCheck(want plan.RulesExpect, hits []rules.Hit, all *rules.Ruleset, hit bool) Check {
	name := "rulesHit on " + want.On
	if !hit {
		name = "rulesNotHit on " + want.On
	}
	ch := Check{Name: name, Expected: name + ": " + strings.Join(want.Patterns, ", "), Pass: true}
	if !hit && all != nil {
		var unknown []string
		for _, pat := range want.Patterns {
			if !namesAnyRule(pat, all) {
				unknown = append(unknown, pat)
			}
		}
		if len(unknown) > 0 {
			ch.Pass = false
			ch.Seen = fmt.Sprintf("%s names no rule on %s, so not hitting it proves nothing; write patterns as iptables-save prints the rules (labctl exec LAB %s -- iptables-save)", strings.Join(unknown, ", "), want.On, want.On)
			return ch
		}
	}
	var wrong []string
	for _, pat := range want.Patterns {
		matched := slices.ContainsFunc(hits, func(h rules.Hit) bool { return hitMatches(pat, h) })
		if matched != hit {
			ch.Pass = false
			wrong = append(wrong, pat)
		}
	}
	shown := meaningfulHits(hits)
	switch {
	case ch.Pass:
		ch.Seen = name + ": " + hitsText(shown)
	case hit:
		ch.Seen = fmt.Sprintf("%s not hit on %s; hits there: %s", strings.Join(wrong, ", "), want.On, hitsText(shown))
	default:
		ch.Seen = fmt.Sprintf("%s hit on %s: %s", strings.Join(wrong, ", "), want.On, hitsText(filterHits(hits, wrong)))
	}
	return ch
}

// namesAnyRule reports whether pattern matches a chain or a rule of the ruleset.
func namesAnyRule(pattern string, rs *rules.Ruleset) bool {
	for _, t := range rs.Tables {
		for _, c := range t.Chains {
			if rules.MatchPattern(pattern, c.Name, nil) {
				return true
			}
			for _, r := range c.Rules {
				if rules.MatchPattern(pattern, c.Name, r.Args) {
					return true
				}
			}
		}
	}
	return false
}

func hitMatches(pattern string, h rules.Hit) bool {
	if h.Index == 0 {
		return rules.MatchPattern(pattern, h.Chain, nil)
	}
	return rules.MatchPattern(pattern, h.Chain, h.Rule.Args)
}

func filterHits(hits []rules.Hit, patterns []string) []rules.Hit {
	var out []rules.Hit
	for _, h := range hits {
		if slices.ContainsFunc(patterns, func(p string) bool { return hitMatches(p, h) }) {
			out = append(out, h)
		}
	}
	return out
}

// hitsText lists hits as "nat PREROUTING#1 DNAT (2 packets)".
func hitsText(hits []rules.Hit) string {
	if len(hits) == 0 {
		return "no rule counted a packet"
	}
	parts := make([]string, len(hits))
	for i, h := range hits {
		parts[i] = hitText(h)
	}
	return strings.Join(parts, ", ")
}

func hitText(h rules.Hit) string {
	if h.Index == 0 {
		return fmt.Sprintf("%s %s policy (%d packets)", h.Table, h.Chain, h.Packets)
	}
	target := rules.ParseSpec(h.Rule.Args).Target
	if target == "" {
		target = "no target"
	}
	return fmt.Sprintf("%s %s#%d %s (%d packets)", h.Table, h.Chain, h.Index, target, h.Packets)
}
