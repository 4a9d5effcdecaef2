package topo

import (
	"strings"
	"testing"
)

// probeBase is a lab with a one-address host (a), a router with two addresses (r)
// and rules, and a server (b); cases append their probes (from line 10) and steps.
const probeBase = header + `networks: [{name: n, cidr: 10.0.0.0/24}, {name: m, cidr: 10.0.1.0/24}]
hosts:
  - {name: a, interfaces: [n]}
  - {name: r, interfaces: [n, m], iptables: "iptables -t nat -A POSTROUTING -j MASQUERADE"}
  - {name: b, interfaces: [m], servers: [80]}
probes:
`

// TestProbeProblems checks that every reference of a probe or step is checked at
// compile time, with the position of the value that is wrong.
func TestProbeProblems(t *testing.T) {
	cases := []struct {
		name string
		body string
		want []string // "line:col: message prefix"
	}{
		{"unknown from", "  - {name: p, from: x, to: b:80}\n", []string{`10:21: probe "p": from: unknown host "x"`}},
		{"unknown target host", "  - {name: p, from: a, to: bb:80}\n", []string{`10:28: probe "p": to: "bb" is neither an IP nor a host`}},
		{"bad port", "  - {name: p, from: a, to: b:http}\n", []string{`10:28: probe "p": to: port "http" of "b:http" is not a port number`}},
		{"unknown service", "  - {name: p, from: a, to: service/web:80}\n", []string{`10:28: probe "p": to: unknown Service default/web`}},
		{"ambiguous host", "  - {name: p, from: a, to: r:80}\n", []string{`10:28: probe "p": to: host r has several addresses, so "r" does not say which`}},
		{"unknown interface", "  - {name: p, from: a, to: r/eth7:80}\n", []string{`10:28: probe "p": to: host r has no address on "eth7"`}},
		{"icmp with a port", "  - {name: p, from: a, to: b:80, protocol: icmp}\n", []string{`10:44: probe "p": icmp has no ports`}},
		{"tcp without a port", "  - {name: p, from: a, to: b, protocol: tcp}\n", []string{`10:41: probe "p": tcp needs a port`}},
		{"bad reach", "  - {name: p, from: a, to: b:80, expect: {reach: maybe}}\n", []string{`10:50: probe "p": reach "maybe" is not an outcome`}},
		{"answer checks without answers", "  - {name: p, from: a, to: b:80, expect: {reach: refused, answeredBy: b}}\n",
			[]string{`10:71: probe "p": answeredBy checks answers, but reach refused expects none`}},
		{"unknown answering host", "  - {name: p, from: a, to: b:80, expect: {answeredBy: [b, c]}}\n", []string{`10:55: probe "p": answeredBy: unknown host "c"`}},
		{"ambiguous sourceSeen", "  - {name: p, from: a, to: b:80, expect: {sourceSeen: r}}\n",
			[]string{`10:55: probe "p": sourceSeen: host r has several addresses, so "r" does not say which`}},
		{"sourceSeen for a host answeredBy forbids", "  - {name: p, from: a, to: b:80, expect: {answeredBy: b, sourceSeen: {a: r/eth1}}}\n",
			[]string{`10:71: probe "p": sourceSeen names a, which answeredBy does not allow to answer`}},
		{"sourceSeen any of, one unknown", "  - {name: p, from: a, to: b:80, expect: {sourceSeen: [a, rr]}}\n",
			[]string{`10:55: probe "p": sourceSeen[1]: "rr" is neither an IP nor a host`}},
		{"sourceSeen any of, twice the same", "  - {name: p, from: a, to: b:80, expect: {sourceSeen: [a, 10.0.0.1]}}\n",
			[]string{`10:55: probe "p": sourceSeen lists 10.0.0.1 twice`}},
		{"sourceSeen empty list", "  - {name: p, from: a, to: b:80, expect: {sourceSeen: []}}\n",
			[]string{`10:55: probes[0].expect.sourceSeen: empty list`}},
		{"everyBackend with too few tries", "  - {name: p, from: a, to: b:80, count: 5, expect: {answeredBy: [a, b], everyBackend: true}}\n",
			[]string{`10:41: probe "p": with 5 tries and 2 backends, everyBackend fails by chance with probability 0.062`}},
		{"everyBackend without backends", "  - {name: p, from: a, to: b:80, expect: {everyBackend: true}}\n",
			[]string{`10:57: probe "p": everyBackend, but the target has no known backends`}},
		{"http checks on tcp", "  - {name: p, from: a, to: b:80, expect: {http: {status: 200}}}\n", []string{`10:49: probe "p": http checks need protocol http, not tcp`}},
		{"conntrack on an unknown host", "  - {name: p, from: a, to: b:80, expect: {conntrack: [{on: rr, original: \"a -> b:80\"}]}}\n",
			[]string{`10:60: probe "p": conntrack[0]: on: unknown host "rr"`}},
		{"conntrack tuple without arrow", "  - {name: p, from: a, to: b:80, expect: {conntrack: [{on: r, original: b:80}]}}\n",
			[]string{`10:73: probes[0].expect.conntrack[0].original: tuple "b:80": write "SRC -> DST"`}},
		{"rulesHit on a host without rules", "  - {name: p, from: a, to: b:80, expect: {rulesHit: [{on: b, rules: [DNAT]}]}}\n",
			[]string{`10:59: probe "p": rulesHit: host b has no iptables rules`}},
		{"rulesHit pattern naming no rule", "  - {name: p, from: a, to: b:80, expect: {rulesHit: [{on: r, rules: [MASQ]}]}}\n",
			[]string{`10:69: probe "p": rulesHit: "MASQ" names no rule of host r`}},
		{"duplicate probe name", "  - {name: p, from: a, to: b:80}\n  - {name: p, from: a, to: b:80}\n", []string{`11:12: probe name "p" is already used at line 10`}},
		{"session over udp", "  - {name: p, from: a, to: b:80, protocol: udp, session: s}\n", []string{`10:58: probe "p": session needs protocol tcp, not udp`}},
		{"session to another target", "  - {name: p, from: a, to: b:80, session: s}\n  - {name: q, to: a:80, session: s}\n",
			[]string{`11:19: probe "q": session s goes to b:80, not a:80`}},
		{"icmp relay", "  - {name: p, from: a, to: b, then: [b:80]}\n", []string{`10:37: probe "p": an icmp probe cannot have then`}},
		{"unknown step probe", "  - {name: p, from: a, to: b:80}\nsteps: [q]\n", []string{`11:9: steps[0]: unknown probe "q"`}},
		{"step doing two things", "  - {name: p, from: a, to: b:80}\nsteps:\n  - {probe: p, sleep: 1s}\n", []string{`12:5: steps[0]: a step does one thing; this one does 2`}},
		{"step with a bad rule", "  - {name: p, from: a, to: b:80}\nsteps:\n  - iptables:\n      on: r\n      rules: |\n        iptables -t nat -D POSTROUTING -j SNAT\n",
			[]string{`15:25: steps[0]: iptables on r: no rule "-j SNAT" in chain POSTROUTING`}},
		{"step on an unknown host", "  - {name: p, from: a, to: b:80}\nsteps:\n  - exec: {on: x, run: true}\n", []string{`12:16: steps[0]: exec: unknown host "x"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := problemsOf(t, probeBase+c.body)
			for _, w := range c.want {
				if !containsPrefix(got, "lab.yaml:"+w) {
					t.Errorf("missing problem %q in:\n%s", w, strings.Join(got, "\n"))
				}
			}
			if len(got) != len(c.want) {
				t.Errorf("got %d problems, want %d:\n%s", len(got), len(c.want), strings.Join(got, "\n"))
			}
		})
	}
}

// TestRulesHitSeesRulesAddedByASteps: a pattern may name a rule that only a step adds.
func TestRulesHitSeesRulesAddedByASteps(t *testing.T) {
	src := probeBase + "  - {name: p, from: a, to: b:80, expect: {rulesHit: [{on: r, rules: [LATER]}]}}\n" +
		"steps:\n  - iptables: {on: r, rules: \"iptables -t nat -N LATER\"}\n  - p\n"
	lab, err := Parse("lab.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(lab, CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Steps) != 2 || p.Steps[0].Rules == nil || !strings.Contains(p.Steps[0].Rules.Payload, ":LATER - [0:0]") {
		t.Fatalf("step payload lacks the new chain: %+v", p.Steps)
	}
}

// TestSourceSeenAnyOf: a list resolves every name to its address, in order.
func TestSourceSeenAnyOf(t *testing.T) {
	lab, err := Parse("lab.yaml", []byte(probeBase+"  - {name: p, from: a, to: b:80, expect: {sourceSeen: [r/eth1, a]}}\n"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(lab, CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := p.Probes[0].Expect.SourceSeen.String()
	if want := "one of r/eth1 (10.0.1.1), a (10.0.0.1)"; got != want {
		t.Errorf("sourceSeen = %q, want %q", got, want)
	}
}

func TestTriesForEveryBackend(t *testing.T) {
	for _, c := range []struct{ backends, tries int }{{1, 1}, {2, 21}, {3, 37}} {
		if got := triesFor(c.backends); got != c.tries {
			t.Errorf("triesFor(%d) = %d, want %d", c.backends, got, c.tries)
		}
	}
	// The figure the docs quote: 40 tries over 2 backends miss one with chance 2^-39.
	if got, want := missProbability(2, 40), 1.0/(1<<39); got != want {
		t.Errorf("missProbability(2, 40) = %g, want %g", got, want)
	}
}
