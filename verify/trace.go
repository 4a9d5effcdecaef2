package verify

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/labctl/labctl/node"
	"github.com/labctl/labctl/topo/plan"
	"github.com/labctl/labctl/topo/rules"
)

// Trace is where one try's packets went: every host whose conntrack tracked the flow
// or whose rules counted its packets, in the order of the path, with the NAT each
// applied, and who answered.
type Trace struct {
	From     string         `json:"from"`
	Client   netip.AddrPort `json:"client,omitzero"`
	Target   string         `json:"target"`
	Protocol string         `json:"protocol"`
	Outcome  string         `json:"outcome"`
	Error    string         `json:"error,omitempty"`
	Hops     []TraceHop     `json:"hops"`
	// AnsweredBy and SourceSeen are the answering host and the client address it saw.
	AnsweredBy string `json:"answeredBy,omitempty"`
	SourceSeen string `json:"sourceSeen,omitempty"`
}

// TraceHop is one host on the path.
type TraceHop struct {
	Host string `json:"host"`
	// Rules are the rules that counted the packets, in chain order.
	Rules []TraceRule `json:"rules,omitempty"`
	// Entries are the host's conntrack entries of the flow.
	Entries []string `json:"conntrack,omitempty"`
	// DNAT and SNAT say how the host rewrote the flow ("from -> to"), if it did.
	DNAT string `json:"dnat,omitempty"`
	SNAT string `json:"snat,omitempty"`
	// Forwarded is how many IP datagrams the host forwarded during the try (both
	// directions). A host known only from it (a plain router: no conntrack entry, no
	// rule counted) comes after the hosts placed on the path by conntrack.
	Forwarded uint64 `json:"forwarded,omitempty"`
}

// TraceRule is a rule (or a chain policy) that counted packets of the flow.
type TraceRule struct {
	Table   string `json:"table"`
	Chain   string `json:"chain"`
	Index   int    `json:"index"`
	Target  string `json:"target,omitempty"`
	Rule    string `json:"rule,omitempty"`
	Packets uint64 `json:"packets"`
}

// traceProbe runs one try of p with counters of every host with rules read around it
// and every host's conntrack read after it. Nothing else may run meanwhile.
func traceProbe(ctx context.Context, env Env, lab *plan.Plan, p plan.Probe) Trace {
	p.Count = 1
	var all, withRules []string
	for _, n := range lab.Namespaces {
		if n.Kind == plan.KindNetwork {
			continue
		}
		all = append(all, n.Name)
		if n.Rules != nil && !n.Rules.Empty() {
			withRules = append(withRules, n.Name)
		}
	}
	for _, s := range lab.Steps { // hosts that only get rules in a step
		if s.Rules != nil {
			withRules = appendUnique(withRules, s.Rules.Host)
		}
	}
	p.Expect.RulesHit, p.Expect.RulesNotHit, p.Expect.Conntrack = nil, nil, nil
	var obs Observation
	forwarded := forwardedAround(ctx, env, all, func() { obs = observe(ctx, env, p, withRules, all) })
	tr := Trace{From: p.From, Target: p.To.AddrPort(), Protocol: p.Protocol}
	if obs.Err != nil {
		tr.Error = obs.Err.Error()
		return tr
	}
	try := obs.Tries[0]
	tr.Client, tr.Outcome, tr.Error = try.Client, string(try.Outcome), try.Error
	tr.AnsweredBy = try.Host
	if try.Answer != nil {
		tr.SourceSeen = try.Answer.Remote
	}
	flows := flowEntries(p, obs.Tries, obs.Conntrack)
	start := node.Tuple{Src: try.Client, Dst: netip.AddrPortFrom(p.To.Addr, uint16(p.To.Port))}
	order := pathOrder(start, flows, all)
	for _, h := range all {
		if !slices.Contains(order, h) && len(meaningfulHits(obs.Hits[h])) > 0 {
			order = append(order, h)
		}
	}
	for _, h := range all {
		if !slices.Contains(order, h) && forwarded[h] > 0 {
			order = append(order, h)
		}
	}
	for _, h := range order {
		hop := traceHop(h, flows[h], meaningfulHits(obs.Hits[h]))
		hop.Forwarded = forwarded[h]
		tr.Hops = append(tr.Hops, hop)
	}
	return tr
}

// meaningfulHits drops chain policy hits, which every packet that matched no rule of
// a built-in chain counts (a DROP policy's victims show as a timeout, and the
// conntrack entry of the flow still names the host).
func meaningfulHits(hits []rules.Hit) []rules.Hit {
	var out []rules.Hit
	for _, h := range hits {
		if h.Index == 0 && h.Rule.Args == nil {
			continue
		}
		out = append(out, h)
	}
	return out
}

func traceHop(host string, entries []node.ConntrackEntry, hits []rules.Hit) TraceHop {
	hop := TraceHop{Host: host}
	for _, h := range hits {
		spec := rules.ParseSpec(h.Rule.Args)
		hop.Rules = append(hop.Rules, TraceRule{Table: h.Table, Chain: h.Chain, Index: h.Index, Target: spec.Target, Rule: rules.Join(h.Rule.Args), Packets: h.Packets})
	}
	for _, e := range entries {
		hop.Entries = append(hop.Entries, entryText(e))
		out := translated(e)
		if out.Dst != e.Original.Dst && hop.DNAT == "" {
			hop.DNAT = addrText(e.Original.Dst) + " -> " + addrText(out.Dst)
		}
		if out.Src != e.Original.Src && hop.SNAT == "" {
			hop.SNAT = addrText(e.Original.Src) + " -> " + addrText(out.Src)
		}
	}
	return hop
}

func addrText(ap netip.AddrPort) string {
	if ap.Port() == 0 {
		return ap.Addr().String()
	}
	return ap.String()
}

// Text renders the trace hop by hop, as labctl trace prints it.
func (t Trace) Text() string {
	var b strings.Builder
	client := t.From
	if t.Client.IsValid() {
		client += " " + addrText(t.Client)
	}
	fmt.Fprintf(&b, "%s -> %s %s: %s\n", client, t.Target, t.Protocol, t.Outcome)
	width := len("answered")
	for _, h := range t.Hops {
		width = max(width, len(h.Host))
	}
	line := func(host, text string) { fmt.Fprintf(&b, "  %-*s  %s\n", width, host, text) }
	for _, h := range t.Hops {
		dnat, snat, other := splitRules(h.Rules)
		if dnat != "" || h.DNAT != "" {
			line(h.Host, strings.TrimSpace(dnat+"  "+arrowText("DNAT", h.DNAT)))
		}
		if snat != "" || h.SNAT != "" {
			line(h.Host, strings.TrimSpace(snat+"  "+arrowText("SNAT src", h.SNAT)))
		}
		for _, o := range other {
			line(h.Host, o)
		}
		switch {
		case dnat != "" || snat != "" || len(other) > 0 || h.DNAT != "" || h.SNAT != "":
		case len(h.Entries) == 0 && h.Forwarded > 0:
			line(h.Host, fmt.Sprintf("forwarded %d packets (no NAT, no rule counted them; its place on the path is not known)", h.Forwarded))
		default:
			line(h.Host, "tracked, no NAT")
		}
	}
	switch {
	case t.AnsweredBy != "" && t.SourceSeen != "":
		line(t.AnsweredBy, "answered; saw source "+t.SourceSeen)
	case t.AnsweredBy != "":
		line(t.AnsweredBy, "answered")
	case t.Error != "":
		fmt.Fprintf(&b, "  no answer: %s\n", t.Error)
	}
	return b.String()
}

func arrowText(what, change string) string {
	if change == "" {
		return ""
	}
	return what + " " + change
}

// splitRules groups the nat rules that rewrote the destination (reached from
// PREROUTING or OUTPUT), those that rewrote the source (reached from POSTROUTING or
// INPUT), and the rest (filter verdicts...). The nat groups read "CHAIN > CHAIN >
// TARGET" in the order the packet went: chains are followed from the built-in one
// through the jumps that counted it, not in iptables-save's alphabetical order.
func splitRules(rs []TraceRule) (dnat, snat string, other []string) {
	byChain := map[string][]TraceRule{}
	for _, r := range rs {
		if r.Table == "nat" {
			byChain[r.Chain] = append(byChain[r.Chain], r)
			continue
		}
		other = append(other, fmt.Sprintf("%s %s#%d %s (%d packets)", r.Table, r.Chain, r.Index, r.Target, r.Packets))
	}
	for _, hits := range byChain {
		slices.SortFunc(hits, func(a, b TraceRule) int { return a.Index - b.Index })
	}
	seen := map[string]bool{}
	dst := natPath(byChain, seen, "PREROUTING", "OUTPUT")
	src := natPath(byChain, seen, "POSTROUTING", "INPUT")
	// Chains no counted built-in rule led to (e.g. a rule replaced between the two
	// counter reads): start from those no other counted rule jumps to, and put each
	// path on the side its own targets say.
	targeted := map[string]bool{}
	for _, hits := range byChain {
		for _, r := range hits {
			targeted[r.Target] = true
		}
	}
	for _, c := range sortedChains(byChain) {
		if seen[c] || targeted[c] {
			continue
		}
		path := natPath(byChain, seen, c)
		if slices.Contains(path, "MASQUERADE") || slices.Contains(path, "SNAT") || strings.Contains(c, "POSTR") {
			src = append(src, path...)
		} else {
			dst = append(dst, path...)
		}
	}
	for _, c := range sortedChains(byChain) {
		dst = append(dst, natPath(byChain, seen, c)...) // only loops are left
	}
	return strings.Join(dst, " > "), strings.Join(src, " > "), other
}

// natPath follows, from each root, the chains whose rules counted the packet.
func natPath(byChain map[string][]TraceRule, seen map[string]bool, roots ...string) []string {
	var out []string
	var walk func(chain string)
	walk = func(chain string) {
		if seen[chain] || len(byChain[chain]) == 0 {
			return
		}
		seen[chain] = true
		out = append(out, chain)
		for _, r := range byChain[chain] {
			if _, isChain := byChain[r.Target]; isChain {
				walk(r.Target)
				continue
			}
			switch r.Target {
			case "DNAT", "REDIRECT", "SNAT", "MASQUERADE":
				out = append(out, r.Target)
			}
		}
	}
	for _, root := range roots {
		walk(root)
	}
	return out
}

func sortedChains(byChain map[string][]TraceRule) []string {
	out := make([]string, 0, len(byChain))
	for c := range byChain {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}
