package topo

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/labctl/labctl/topo/plan"
	"github.com/labctl/labctl/topo/rules"
)

// reachValues maps what reach: may say to the plan's value.
var reachValues = map[string]string{
	"": plan.ReachAnswered, "true": plan.ReachAnswered, "false": plan.ReachNone,
	"refused": "refused", "timeout": "timeout", "unreachable": "unreachable",
	"blocked": "blocked", "reset": "reset", "closed": "closed",
}

// expect resolves the expectations of a probe or hop.
func (pc *probeCompiler) expect(x *Expect, proto string, t target, what string) plan.Expect {
	var e plan.Expect
	reach, ok := reachValues[strings.ToLower(string(x.Reach))]
	if !ok {
		pc.add(x.At("reach"), "use true, false, refused, timeout, unreachable, blocked, reset or closed", "%s: reach %q is not an outcome", what, x.Reach)
		reach = plan.ReachAnswered
	}
	e.Reach = reach
	answerChecks := []string{"answeredBy", "everyBackend", "sourceSeen", "http"}
	if reach != plan.ReachAnswered {
		for _, key := range answerChecks {
			if x.Has(key) {
				pc.add(x.At(key), "drop it, or expect reach: true", "%s: %s checks answers, but reach %s expects none", what, key, x.Reach)
			}
		}
	}
	e.AnsweredBy = pc.hostList(x.AnsweredBy, x.At("answeredBy"), what+": answeredBy")
	e.EveryBackend = x.EveryBackend
	if e.EveryBackend && len(e.AnsweredBy) == 0 {
		e.AnsweredBy = slices.Clone(t.Backends)
		if len(e.AnsweredBy) == 0 && t.Addr.IsValid() {
			pc.add(x.At("everyBackend"), "list the backends in answeredBy", "%s: everyBackend, but the target has no known backends", what)
		}
	}
	e.SourceSeen = pc.sourceSeen(x.SourceSeen, e.AnsweredBy, what)
	e.HTTP = pc.httpExpect(x.HTTP, proto, what)
	for i := range x.Conntrack {
		if c, ok := pc.conntrack(&x.Conntrack[i], fmt.Sprintf("%s: conntrack[%d]", what, i)); ok {
			e.Conntrack = append(e.Conntrack, c)
		}
	}
	e.RulesHit = pc.rulesExpect(x.RulesHit, what+": rulesHit")
	e.RulesNotHit = pc.rulesExpect(x.RulesNotHit, what+": rulesNotHit")
	return e
}

func (pc *probeCompiler) sourceSeen(s *SourceSeen, answeredBy []string, what string) *plan.SourceSeen {
	if s == nil {
		return nil
	}
	out := &plan.SourceSeen{}
	if s.AnyOf != nil {
		for i, w := range s.AnyOf {
			a, err := pc.ab.resolve(w)
			if err != nil {
				pc.add(s.at, err.hint, "%s: sourceSeen[%d]: %s", what, i, err.msg)
				continue
			}
			if slices.ContainsFunc(out.AnyOf, func(b plan.NamedAddr) bool { return b.Addr == a.Addr }) {
				pc.add(s.at, "list each address once", "%s: sourceSeen lists %s twice", what, a.Addr)
				continue
			}
			out.AnyOf = append(out.AnyOf, a)
		}
		if len(out.AnyOf) == 0 {
			return nil
		}
		return out
	}
	if s.ByHost == nil {
		a, err := pc.ab.resolve(s.All)
		if err != nil {
			pc.add(s.at, err.hint, "%s: sourceSeen: %s", what, err.msg)
			return nil
		}
		out.All = &a
		return out
	}
	out.ByHost = map[string]plan.NamedAddr{}
	for _, host := range sortedKeys(s.ByHost) {
		at := s.keysAt[host]
		if !pc.ab.isHost(host) {
			pc.add(at, pc.ab.suggestHost(host), "%s: sourceSeen: unknown answering host %q", what, host)
			continue
		}
		if len(answeredBy) > 0 && !slices.Contains(answeredBy, host) {
			pc.add(at, "add it to answeredBy, or drop it here", "%s: sourceSeen names %s, which answeredBy does not allow to answer", what, host)
		}
		a, err := pc.ab.resolve(s.ByHost[host])
		if err != nil {
			pc.add(at, err.hint, "%s: sourceSeen.%s: %s", what, host, err.msg)
			continue
		}
		out.ByHost[host] = a
	}
	return out
}

func (pc *probeCompiler) httpExpect(h *HTTPExpect, proto, what string) *plan.HTTPExpect {
	if h == nil {
		return nil
	}
	if proto != plan.HTTP {
		pc.add(h.Pos(), "set protocol: http", "%s: http checks need protocol http, not %s", what, proto)
	}
	out := &plan.HTTPExpect{Status: h.Status, BodyContains: h.BodyContains}
	if h.Has("status") && (h.Status < 100 || h.Status > 599) {
		pc.add(h.At("status"), "use an HTTP status code, 100 to 599", "%s: http status %d is not a status code", what, h.Status)
	}
	if h.ForwardedFor != "" {
		a, err := pc.ab.resolve(h.ForwardedFor)
		if err != nil {
			pc.add(h.At("forwardedFor"), err.hint, "%s: http.forwardedFor: %s", what, err.msg)
		} else {
			out.ForwardedFor = &a
		}
	}
	return out
}

func (pc *probeCompiler) conntrack(c *ConntrackExpect, what string) (plan.ConntrackExpect, bool) {
	out := plan.ConntrackExpect{On: c.On}
	ok := true
	if !pc.ab.isHost(c.On) {
		pc.add(c.At("on"), pc.ab.suggestHost(c.On), "%s: on: unknown host %q", what, c.On)
		ok = false
	}
	if c.Original == nil && c.Reply == nil {
		pc.add(c.Pos(), `add original: "SRC -> DST" and/or reply: "SRC -> DST"`, "%s: says nothing about the entry", what)
		return out, false
	}
	for _, side := range []struct {
		t    *Tuple
		into *plan.TupleMatch
		key  string
	}{{c.Original, &out.Original, "original"}, {c.Reply, &out.Reply, "reply"}} {
		if side.t == nil {
			continue
		}
		src, e1 := pc.addrMatch(side.t.Src)
		dst, e2 := pc.addrMatch(side.t.Dst)
		for _, err := range []*addrError{e1, e2} {
			if err != nil {
				pc.add(c.At(side.key), err.hint, "%s: %s: %s", what, side.key, err.msg)
				ok = false
			}
		}
		*side.into = plan.TupleMatch{Src: src, Dst: dst}
	}
	return out, ok
}

// addrMatch reads one side of a tuple: *, *:port, or anything a probe target may be
// (a name, IP, name:port, IP:port, service/web:80).
func (pc *probeCompiler) addrMatch(s string) (plan.AddrMatch, *addrError) {
	s = strings.TrimSpace(s)
	if s == "" || s == "*" {
		return plan.AddrMatch{}, nil
	}
	if port, ok := strings.CutPrefix(s, "*:"); ok {
		_, n, err := splitPort("any:" + port)
		return plan.AddrMatch{Port: n}, err
	}
	t, err := pc.ab.resolveTarget(s)
	if err != nil {
		return plan.AddrMatch{}, err
	}
	name := s
	if _, perr := netip.ParseAddrPort(s); perr == nil {
		name = ""
	} else if t.Port != 0 && !isServiceRef(s) {
		name = strings.TrimSuffix(s, ":"+strconv.Itoa(t.Port))
	}
	return plan.AddrMatch{Name: name, Addr: t.Addr, Port: t.Port}, nil
}

func isServiceRef(s string) bool {
	return strings.HasPrefix(s, "service/") || strings.HasPrefix(s, "nodeport/") || strings.HasPrefix(s, "loadbalancer/")
}

func (pc *probeCompiler) rulesExpect(list []RulesExpect, what string) []plan.RulesExpect {
	var out []plan.RulesExpect
	for i := range list {
		r := &list[i]
		if !pc.ab.isHost(r.On) {
			pc.add(r.At("on"), pc.ab.suggestHost(r.On), "%s: on: unknown host %q", what, r.On)
			continue
		}
		spaces := pc.rulesets[r.On]
		if pc.rulesUnknown {
			out = append(out, plan.RulesExpect{On: r.On, Patterns: r.Rules})
			continue
		}
		if len(spaces) == 0 {
			pc.add(r.At("on"), "counters belong to rules: give the host iptables rules, or name another host", "%s: host %s has no iptables rules", what, r.On)
			continue
		}
		for _, pat := range r.Rules {
			if strings.TrimSpace(pat) == "" {
				pc.add(r.At("rules"), "name a chain, target or comment", "%s: empty rule pattern", what)
				continue
			}
			if rules.IsTextPattern(pat) {
				continue // compared with iptables-save text, which the plan does not have
			}
			if !patternNamesARule(spaces, pat) {
				pc.add(r.At("rules"), "a pattern names a chain, a target (-j) or a comment of the host's rules; check the spelling with labctl plan", "%s: %q names no rule of host %s", what, pat, r.On)
			}
		}
		out = append(out, plan.RulesExpect{On: r.On, Patterns: slices.Clone(r.Rules)})
	}
	return out
}

// patternNamesARule reports whether a name pattern matches a rule (or a chain) of
// any of the rulesets a host has over the scenario.
func patternNamesARule(sets []*rules.Ruleset, pat string) bool {
	for _, rs := range sets {
		for _, t := range rs.Tables {
			for _, ch := range t.Chains {
				if rules.MatchPattern(pat, ch.Name, nil) {
					return true
				}
				for _, r := range ch.Rules {
					if rules.MatchPattern(pat, ch.Name, r.Args) {
						return true
					}
				}
			}
		}
	}
	return false
}
