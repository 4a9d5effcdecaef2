package topo

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/labctl/labctl/topo/plan"
	"github.com/labctl/labctl/topo/rules"
)

// Limits of probes.
const (
	defaultProbeTimeout = time.Second
	maxProbeCount       = 10000
	// missChance is the largest chance with which everyBackend may fail although
	// every backend works: one run in a million.
	missChance = 1e-6
)

// probeCompiler resolves the probes of a lab against its compiled plan.
type probeCompiler struct {
	b        *builder
	ab       *addrBook
	sessions map[string]*plan.Probe // first probe of each session
	// rulesets are every ruleset a host has over the scenario (before and after each
	// step), to check that rulesHit patterns name rules that exist.
	rulesets map[string][]*rules.Ruleset
	// rulesUnknown is set when earlier problems stopped the cluster's rules from being
	// generated: checking patterns against missing rules would only add noise.
	rulesUnknown bool
}

// compileProbes resolves probes and steps; it runs last, once every host and
// address (including the cluster layer's) is in the plan.
func (b *builder) compileProbes() {
	if len(b.lab.Probes) == 0 && len(b.lab.Steps) == 0 {
		return
	}
	ab := newAddrBook(b.p)
	seen := map[string]Pos{}
	for i := range b.lab.Probes {
		pr := &b.lab.Probes[i]
		if prev, dup := seen[pr.Name]; dup && pr.Name != "" {
			b.r.add(pr.At("name"), "give each probe its own name; steps and reports refer to probes by name", "probe name %q is already used at line %d", pr.Name, prev.Line)
			continue
		}
		seen[pr.Name] = pr.At("name")
	}
	rulesets := b.compileSteps(ab, seen)
	pc := &probeCompiler{b: b, ab: ab, sessions: map[string]*plan.Probe{}, rulesets: rulesets, rulesUnknown: b.cluster != nil && b.topologyProblems()}
	for i := range b.lab.Probes {
		if p, ok := pc.probe(&b.lab.Probes[i]); ok {
			b.p.Probes = append(b.p.Probes, p)
		}
	}
}

func (pc *probeCompiler) add(at Pos, hint, format string, args ...any) {
	pc.b.r.add(at, hint, format, args...)
}

func (pc *probeCompiler) probe(spec *Probe) (plan.Probe, bool) {
	before := len(pc.b.r.problems)
	what := fmt.Sprintf("probe %q", spec.Name)
	p := plan.Probe{Name: spec.Name, Line: spec.Pos().Line, From: spec.From, Session: spec.Session}
	first := pc.session(spec, &p, what)
	switch {
	case p.From == "":
		pc.add(spec.Pos(), "add from: HOST", "%s: missing from", what)
	case !pc.ab.isHost(p.From):
		pc.add(spec.At("from"), pc.ab.suggestHost(p.From), "%s: from: unknown host %q", what, p.From)
	}
	to := spec.To
	if to == "" && first != nil {
		to = first.To.Written
	}
	var tgt target
	if to == "" {
		pc.add(spec.Pos(), "add to: TARGET, e.g. to: server:8080", "%s: missing to", what)
	} else if t, err := pc.ab.resolveTarget(to); err != nil {
		pc.add(spec.At("to"), err.hint, "%s: to: %s", what, err.msg)
	} else {
		tgt = t
	}
	p.To = tgt.Target
	p.Protocol = pc.protocol(spec.Protocol, spec.HTTP != nil, tgt, spec.At("protocol"), what)
	if spec.HTTP != nil {
		p.HTTPPath, p.HTTPHost = spec.HTTP.Path, spec.HTTP.Host
	}
	p.Timeout = pc.duration(spec.Timeout, defaultProbeTimeout, spec.At("timeout"), what+": timeout")
	p.Expect = pc.expect(&spec.Expect, p.Protocol, tgt, what)
	p.Count = pc.count(spec, p.Expect, what)
	if first != nil && first.Protocol != p.Protocol {
		pc.add(spec.At("protocol"), "a session is one TCP connection", "%s: session %s is %s, not %s", what, p.Session, first.Protocol, p.Protocol)
	}
	if p.Session != "" && p.Protocol != plan.TCP {
		pc.add(spec.At("session"), "sessions keep one TCP connection open; use protocol: tcp", "%s: session needs protocol tcp, not %s", what, p.Protocol)
	}
	for i := range spec.Then {
		p.Then = append(p.Then, pc.hop(&spec.Then[i], p, fmt.Sprintf("%s: then[%d]", what, i)))
	}
	if len(spec.Then) > 0 && p.Protocol == plan.ICMP {
		pc.add(spec.At("then"), "only tcp, udp and http answers can be relayed by the agent", "%s: an icmp probe cannot have then", what)
	}
	if len(spec.Then) > 0 && p.Expect.Reach != plan.ReachAnswered {
		pc.add(spec.At("then"), "then needs the first call answered; drop then or reach", "%s: then with reach %s can never happen", what, p.Expect.Reach)
	}
	return p, len(pc.b.r.problems) == before
}

// session fills what a later probe of a session inherits and returns the session's
// first probe (nil for a first or session-less probe).
func (pc *probeCompiler) session(spec *Probe, p *plan.Probe, what string) *plan.Probe {
	if spec.Session == "" {
		return nil
	}
	first := pc.sessions[spec.Session]
	if first == nil {
		pc.sessions[spec.Session] = p
		return nil
	}
	if p.From == "" {
		p.From = first.From
	} else if p.From != first.From {
		pc.add(spec.At("from"), "a session is one connection: same from and to", "%s: session %s sends from %s, not %s", what, spec.Session, first.From, p.From)
	}
	if spec.To != "" && spec.To != first.To.Written {
		pc.add(spec.At("to"), "a session is one connection: same from and to; omit to", "%s: session %s goes to %s, not %s", what, spec.Session, first.To.Written, spec.To)
	}
	return first
}

// protocol picks the probe's protocol and checks it against the target.
func (pc *probeCompiler) protocol(written string, httpRequest bool, t target, at Pos, what string) string {
	proto := written
	switch {
	case proto == "" && httpRequest:
		proto = plan.HTTP
	case proto == "" && t.protocol != "":
		proto = t.protocol
	case proto == "" && t.Port != 0:
		proto = plan.TCP
	case proto == "":
		proto = plan.ICMP
	}
	switch proto {
	case plan.TCP, plan.UDP, plan.HTTP, plan.ICMP:
	default:
		pc.add(at, "use tcp, udp, http or icmp", "%s: unknown protocol %q", what, written)
		return proto
	}
	if !t.Addr.IsValid() {
		return proto // the target's problem is already reported
	}
	switch {
	case proto == plan.ICMP && t.Port != 0:
		pc.add(at, "drop the port from to, or use tcp, udp or http", "%s: icmp has no ports, but the target %s has one", what, t.Written)
	case proto != plan.ICMP && t.Port == 0:
		pc.add(at, "add the port to the target, e.g. "+t.Written+":8080", "%s: %s needs a port", what, proto)
	case t.protocol == plan.UDP && proto != plan.UDP, t.protocol == plan.TCP && proto == plan.UDP:
		pc.add(at, "use protocol "+t.protocol+", the Service port's", "%s: the Service port is %s, not %s", what, strings.ToUpper(t.protocol), proto)
	}
	if httpRequest && proto != plan.HTTP {
		pc.add(at, "drop protocol or use http", "%s: http request options need protocol http", what)
	}
	return proto
}

func (pc *probeCompiler) duration(s string, dflt time.Duration, at Pos, what string) plan.Duration {
	if s == "" {
		return plan.Duration(dflt)
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 10*time.Millisecond || d > time.Minute {
		pc.add(at, "write a Go duration between 10ms and 1m, e.g. 500ms or 2s", "%s: %q is not a usable duration", what, s)
		return plan.Duration(dflt)
	}
	return plan.Duration(d)
}

// count is the written count, checked, or the default: 1, or with everyBackend the
// fewest tries that make a silent backend a one-in-a-million chance.
func (pc *probeCompiler) count(spec *Probe, e plan.Expect, what string) int {
	backends := len(e.AnsweredBy)
	need := 1
	if e.EveryBackend && backends > 1 {
		need = triesFor(backends)
	}
	switch {
	case !spec.Has("count"):
		return need
	case spec.Count < 1 || spec.Count > maxProbeCount:
		pc.add(spec.At("count"), fmt.Sprintf("use 1 to %d", maxProbeCount), "%s: count %d is out of range", what, spec.Count)
		return need
	case spec.Count < need:
		pc.add(spec.At("count"), fmt.Sprintf("use count: %d or more (or omit count), so a healthy lab fails less than once in a million runs", need),
			"%s: with %d tries and %d backends, everyBackend fails by chance with probability %.2g", what, spec.Count, backends, missProbability(backends, spec.Count))
	}
	return spec.Count
}

// missProbability bounds the chance that some of k equally likely backends never
// answers in n tries: k·(1-1/k)^n (union bound). With 40 tries and 2 backends it is
// 2·2^-40 = 2^-39.
func missProbability(k, n int) float64 {
	return float64(k) * math.Pow(1-1/float64(k), float64(n))
}

// triesFor is the fewest tries that keep missProbability at or below missChance.
func triesFor(k int) int {
	n := 1
	for missProbability(k, n) > missChance {
		n++
	}
	return n
}

// hop resolves one call of a then chain.
func (pc *probeCompiler) hop(spec *ProbeHop, p plan.Probe, what string) plan.Hop {
	h := plan.Hop{HTTPPath: "", Timeout: p.Timeout}
	t, err := pc.ab.resolveTarget(spec.To)
	if err != nil {
		pc.add(spec.At("to"), err.hint, "%s: to: %s", what, err.msg)
	}
	h.To = t.Target
	h.Protocol = pc.protocol(spec.Protocol, spec.HTTP != nil, t, spec.At("protocol"), what)
	if h.Protocol == plan.ICMP && t.Addr.IsValid() {
		pc.add(spec.At("to"), "relayed calls are tcp, udp or http: add a port", "%s: icmp cannot be relayed", what)
	}
	if spec.HTTP != nil {
		h.HTTPPath, h.HTTPHost = spec.HTTP.Path, spec.HTTP.Host
	}
	if spec.Timeout != "" {
		h.Timeout = pc.duration(spec.Timeout, p.Timeout.D(), spec.At("timeout"), what+": timeout")
	}
	x := &spec.Expect
	h.Expect = pc.expect(&Expect{Meta: x.Meta, Reach: x.Reach, AnsweredBy: x.AnsweredBy, EveryBackend: x.EveryBackend,
		SourceSeen: x.SourceSeen, HTTP: x.HTTP}, h.Protocol, t, what)
	if h.Expect.EveryBackend && len(h.Expect.AnsweredBy) > 1 && p.Count < triesFor(len(h.Expect.AnsweredBy)) {
		pc.add(x.At("everyBackend"), fmt.Sprintf("give the probe count: %d or more", triesFor(len(h.Expect.AnsweredBy))),
			"%s: %d tries are too few for everyBackend over %d backends", what, p.Count, len(h.Expect.AnsweredBy))
	}
	return h
}

// hostList checks that every name is a host.
func (pc *probeCompiler) hostList(names []string, at Pos, what string) []string {
	for _, n := range names {
		if !pc.ab.isHost(n) {
			pc.add(at, pc.ab.suggestHost(n), "%s: unknown host %q", what, n)
		}
	}
	return slices.Clone(names)
}
