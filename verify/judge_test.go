package verify

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/labctl/labctl/node"
	"github.com/labctl/labctl/topo/plan"
	"github.com/labctl/labctl/topo/rules"
	"github.com/labctl/labctl/verify/agent"
)

// Judging needs no kernel: these observations are made up.

var (
	vip      = netip.MustParseAddr("10.96.0.10")
	web0     = netip.MustParseAddr("10.244.1.2")
	web1     = netip.MustParseAddr("10.244.2.2")
	cni0     = netip.MustParseAddr("10.244.1.1")
	clientAP = netip.MustParseAddrPort("10.244.1.2:40000")
)

func serviceProbe(e plan.Expect) plan.Probe {
	if e.Reach == "" {
		e.Reach = plan.ReachAnswered
	}
	return plan.Probe{Name: "web-0 reaches its own Service", From: "web-0", Protocol: plan.TCP, Count: 2,
		To: plan.Target{Written: "service/web:80", Addr: vip, Port: 80}, Expect: e}
}

// answered is a try answered by host, which saw the client as seen.
func answered(host string, seen netip.Addr, local netip.Addr) Try {
	a := agent.Answer{Host: host, Remote: netip.AddrPortFrom(seen, 40000).String(), Local: netip.AddrPortFrom(local, 8080).String(), Outcome: agent.Answered}
	return Try{Outcome: agent.Answered, Host: host, Client: clientAP, Answer: &a}
}

func failedCheck(t *testing.T, res Result, name string) Check {
	t.Helper()
	for _, c := range res.Checks {
		if c.Name == name {
			if c.Pass {
				t.Errorf("check %s passed, want it failed: %+v", name, c)
			}
			return c
		}
	}
	t.Fatalf("no check %s in %+v", name, res.Checks)
	return Check{}
}

func TestJudgeHairpin(t *testing.T) {
	p := serviceProbe(plan.Expect{AnsweredBy: []string{"web-0", "web-1"}, EveryBackend: true,
		SourceSeen: &plan.SourceSeen{ByHost: map[string]plan.NamedAddr{"web-0": {Name: "node-1/cni0", Addr: cni0}, "web-1": {Name: "web-0", Addr: web0}}}})
	good := Observation{Tries: []Try{answered("web-0", cni0, web0), answered("web-1", web0, web1)}}
	if res := Judge(p, good); !res.Pass {
		t.Fatalf("hairpin observation judged failed:\n%s", res.Details())
	}
	// Without hairpin masquerade the Pod sees itself; and web-1 never answered.
	bad := Observation{Tries: []Try{answered("web-0", web0, web0), answered("web-0", web0, web0)}}
	res := Judge(p, bad)
	if res.Pass {
		t.Fatal("bad observation judged passed")
	}
	if c := failedCheck(t, res, "sourceSeen"); c.Seen != "web-0 saw 10.244.1.2 (want node-1/cni0 (10.244.1.1)); web-1 never answered" {
		t.Errorf("sourceSeen seen = %q", c.Seen)
	}
	if c := failedCheck(t, res, "everyBackend"); c.Seen != "web-1 never answered in 2 answers (web-0 x2)" {
		t.Errorf("everyBackend seen = %q", c.Seen)
	}
}

// TestJudgeSourceSeenPerBackend: a per-backend expectation whose backends never
// answered has nothing to check, so it fails; one that was partly checked says which
// backends stayed silent.
func TestJudgeSourceSeenPerBackend(t *testing.T) {
	p := serviceProbe(plan.Expect{
		SourceSeen: &plan.SourceSeen{ByHost: map[string]plan.NamedAddr{"web-0": {Name: "node-1/cni0", Addr: cni0}, "web-1": {Name: "web-0", Addr: web0}}}})
	other := answered("web-2", web0, web1)
	res := Judge(p, Observation{Tries: []Try{other, other}})
	if c := failedCheck(t, res, "sourceSeen"); c.Seen != "none of web-0, web-1 answered, so no source could be checked (answered by web-2 x2)" {
		t.Errorf("sourceSeen seen = %q", c.Seen)
	}
	if res.Pass {
		t.Error("a probe whose sourceSeen checked nothing passed")
	}
	res = Judge(p, Observation{Tries: []Try{answered("web-0", cni0, web0), other}})
	if !res.Pass {
		t.Fatalf("web-0 saw the bridge as expected, yet:\n%s", res.Details())
	}
	if c := res.Checks[1]; c.Seen != "web-0 saw 10.244.1.1; web-1 never answered" {
		t.Errorf("sourceSeen seen = %q", c.Seen)
	}
}

// TestJudgeSourceSeenAnyOf: every answer must show one of the listed sources.
func TestJudgeSourceSeenAnyOf(t *testing.T) {
	node2 := netip.MustParseAddr("192.168.50.12")
	p := serviceProbe(plan.Expect{SourceSeen: &plan.SourceSeen{AnyOf: []plan.NamedAddr{{Name: "node-1/cni0", Addr: cni0}, {Name: "node-2", Addr: node2}}}})
	if res := Judge(p, Observation{Tries: []Try{answered("web-0", cni0, web0), answered("web-0", node2, web0)}}); !res.Pass {
		t.Fatalf("both sources are listed, yet:\n%s", res.Details())
	}
	res := Judge(p, Observation{Tries: []Try{answered("web-0", cni0, web0), answered("web-0", web1, web0)}})
	c := failedCheck(t, res, "sourceSeen")
	if want := "saw 10.244.2.2 (want one of node-1/cni0 (10.244.1.1), node-2 (192.168.50.12))"; c.Seen != want {
		t.Errorf("sourceSeen seen = %q, want %q", c.Seen, want)
	}
	if want := "source seen one of node-1/cni0 (10.244.1.1), node-2 (192.168.50.12)"; c.Expected != want {
		t.Errorf("sourceSeen expected = %q, want %q", c.Expected, want)
	}
}

func TestJudgeReach(t *testing.T) {
	refused := Try{Outcome: agent.Refused, Error: "connection refused"}
	timeout := Try{Outcome: agent.Timeout}
	for _, c := range []struct {
		reach string
		tries []Try
		pass  bool
		seen  string
	}{
		{plan.ReachAnswered, []Try{answered("web-0", web0, web0), timeout}, false, "1/2 answered, 1/2 timeout"},
		{plan.ReachNone, []Try{refused, timeout}, true, "1/2 refused, 1/2 timeout"},
		{plan.ReachNone, []Try{refused, answered("web-0", web0, web0)}, false, "1/2 refused, 1/2 answered"},
		{"refused", []Try{refused, refused}, true, "2/2 refused"},
		{"refused", []Try{refused, timeout}, false, "1/2 refused, 1/2 timeout"},
		{"timeout", nil, false, "no try ran"},
	} {
		res := Judge(serviceProbe(plan.Expect{Reach: c.reach}), Observation{Tries: c.tries})
		if res.Pass != c.pass || res.Checks[0].Seen != c.seen {
			t.Errorf("reach %s over %v: pass %v seen %q; want %v %q", c.reach, c.tries, res.Pass, res.Checks[0].Seen, c.pass, c.seen)
		}
	}
}

func TestJudgeHTTPAndRelay(t *testing.T) {
	p := serviceProbe(plan.Expect{HTTP: &plan.HTTPExpect{Status: 200, BodyContains: "web-1",
		ForwardedFor: &plan.NamedAddr{Name: "client", Addr: netip.MustParseAddr("203.0.113.10")}}})
	p.Protocol, p.Count = plan.HTTP, 1
	p.Then = []plan.Hop{{To: plan.Target{Written: "service/db:5432"}, Protocol: plan.TCP, Expect: plan.Expect{Reach: plan.ReachAnswered, AnsweredBy: []string{"db-0"}}}}
	try := answered("web-1", web0, web1)
	try.Answer.Status, try.Answer.Body, try.Answer.ForwardedFor = 503, []byte(`{"host":"web-1"}`), "198.51.100.1"
	try.Answer.Hops = []agent.Answer{{Host: "db-1", Outcome: agent.Answered}}
	res := Judge(p, Observation{Tries: []Try{try}})
	if c := failedCheck(t, res, "http status"); c.Seen != "status 503" {
		t.Errorf("http status seen %q", c.Seen)
	}
	if c := failedCheck(t, res, "http forwardedFor"); c.Seen != `X-Forwarded-For "198.51.100.1"` {
		t.Errorf("forwardedFor seen %q", c.Seen)
	}
	if c := failedCheck(t, res, "then[1] service/db:5432: answeredBy"); c.Seen != "answered by db-1 x1 (not allowed: db-1)" {
		t.Errorf("relay seen %q", c.Seen)
	}
	for _, c := range res.Checks {
		if c.Name == "http body" && !c.Pass {
			t.Errorf("body check failed: %+v", c)
		}
	}
	// A relay that never happened because the first call failed.
	res = Judge(p, Observation{Tries: []Try{{Outcome: agent.Timeout}}})
	for _, c := range res.Checks {
		if strings.HasPrefix(c.Name, "then[1]") && c.Pass {
			t.Errorf("relay check %s passed without any call", c.Name)
		}
	}
}

func TestJudgeConntrackFollowsTheFlow(t *testing.T) {
	p := serviceProbe(plan.Expect{Conntrack: []plan.ConntrackExpect{{On: "node-1",
		Original: plan.TupleMatch{Dst: plan.AddrMatch{Addr: vip, Port: 80}},
		Reply:    plan.TupleMatch{Src: plan.AddrMatch{Addr: web1, Port: 8080}}}}})
	p.Count = 1
	try := answered("web-1", web0, web1)
	mine := node.ConntrackEntry{Proto: 6,
		Original: node.Tuple{Src: clientAP, Dst: netip.AddrPortFrom(vip, 80)},
		Reply:    node.Tuple{Src: netip.AddrPortFrom(web1, 8080), Dst: clientAP}}
	// The same service, another client port: an earlier probe's entry.
	stale := mine
	stale.Original.Src = netip.MustParseAddrPort("10.244.1.2:39999")
	stale.Reply.Dst = stale.Original.Src
	if res := Judge(p, Observation{Tries: []Try{try}, Conntrack: map[string][]node.ConntrackEntry{"node-1": {stale, mine}}}); !res.Pass {
		t.Errorf("matching entry not found:\n%s", res.Details())
	}
	res := Judge(p, Observation{Tries: []Try{try}, Conntrack: map[string][]node.ConntrackEntry{"node-1": {stale}}})
	if c := failedCheck(t, res, "conntrack on node-1"); !strings.HasPrefix(c.Seen, "no conntrack entry of this probe's flows on node-1") {
		t.Errorf("a stale entry was taken for the probe's: %q", c.Seen)
	}
}

func TestJudgeRuleCounters(t *testing.T) {
	masq := rules.Rule{Args: []string{"-m", "comment", "--comment", "kubernetes service traffic requiring SNAT", "-j", "MASQUERADE"}}
	sep := rules.Rule{Args: []string{"-p", "tcp", "-j", "DNAT", "--to-destination", "10.244.2.2:8080"}}
	hits := []rules.Hit{
		{Table: "nat", Chain: "KUBE-SEP-ABC", Index: 1, Rule: sep, Packets: 1},
		{Table: "nat", Chain: "KUBE-POSTROUTING", Index: 2, Rule: masq, Packets: 1},
	}
	p := serviceProbe(plan.Expect{
		RulesHit:    []plan.RulesExpect{{On: "node-1", Patterns: []string{"KUBE-SEP-*", "MASQUERADE", "*requiring SNAT", "--to-destination 10.244.2.2:8080"}}},
		RulesNotHit: []plan.RulesExpect{{On: "node-1", Patterns: []string{"KUBE-MARK-DROP"}}},
	})
	obs := Observation{Tries: []Try{answered("web-1", cni0, web1), answered("web-1", cni0, web1)}, Hits: map[string][]rules.Hit{"node-1": hits}}
	if res := Judge(p, obs); !res.Pass {
		t.Errorf("rule counters judged failed:\n%s", res.Details())
	}
	p.Expect.RulesNotHit[0].Patterns = []string{"KUBE-SEP-*"}
	if c := failedCheck(t, Judge(p, obs), "rulesNotHit on node-1"); c.Seen != "KUBE-SEP-* hit on node-1: nat KUBE-SEP-ABC#1 DNAT (1 packets)" {
		t.Errorf("rulesNotHit seen %q", c.Seen)
	}
}

func TestJudgeReportsAProbeThatCouldNotRun(t *testing.T) {
	res := Judge(serviceProbe(plan.Expect{}), Observation{Err: errString("host web-0: open namespace: no such file")})
	if res.Pass || !strings.Contains(res.Error, "could not run: host web-0") {
		t.Errorf("got %+v", res)
	}
}

type errString string

func (e errString) Error() string { return string(e) }

// TestTraceFollowsJumps: nat chains print in the order the packet took them, whatever
// order iptables-save lists them in; flannel's chain reached from POSTROUTING counts
// as source NAT.
func TestTraceFollowsJumps(t *testing.T) {
	hits := []TraceRule{
		{Table: "nat", Chain: "FLANNEL-POSTRTG", Index: 1, Target: "RETURN"},
		{Table: "nat", Chain: "KUBE-MARK-MASQ", Index: 1, Target: "MARK"},
		{Table: "nat", Chain: "KUBE-POSTROUTING", Index: 3, Target: "MASQUERADE"},
		{Table: "nat", Chain: "KUBE-SEP-A", Index: 1, Target: "KUBE-MARK-MASQ"},
		{Table: "nat", Chain: "KUBE-SEP-A", Index: 2, Target: "DNAT"},
		{Table: "nat", Chain: "KUBE-SERVICES", Index: 4, Target: "KUBE-SVC-B"},
		{Table: "nat", Chain: "KUBE-SVC-B", Index: 2, Target: "KUBE-SEP-A"},
		{Table: "nat", Chain: "OUTPUT", Index: 1, Target: "KUBE-SERVICES"},
		{Table: "nat", Chain: "POSTROUTING", Index: 1, Target: "KUBE-POSTROUTING"},
		{Table: "nat", Chain: "POSTROUTING", Index: 2, Target: "FLANNEL-POSTRTG"},
		{Table: "filter", Chain: "FORWARD", Index: 1, Target: "ACCEPT", Packets: 2},
	}
	dnat, snat, other := splitRules(hits)
	if want := "OUTPUT > KUBE-SERVICES > KUBE-SVC-B > KUBE-SEP-A > KUBE-MARK-MASQ > DNAT"; dnat != want {
		t.Errorf("dnat path:\n got %s\nwant %s", dnat, want)
	}
	if want := "POSTROUTING > KUBE-POSTROUTING > MASQUERADE > FLANNEL-POSTRTG"; snat != want {
		t.Errorf("snat path:\n got %s\nwant %s", snat, want)
	}
	if len(other) != 1 || other[0] != "filter FORWARD#1 ACCEPT (2 packets)" {
		t.Errorf("other: %q", other)
	}
}

// TestRulesNotHitNamingNothingFails: a rulesNotHit pattern that matches no rule of the
// host (a typo) must fail instead of passing vacuously.
func TestRulesNotHitNamingNothingFails(t *testing.T) {
	rs := &rules.Ruleset{}
	rs.Append("nat", "POSTROUTING", rules.Origin{}, "-o", "eth0", "-j", "MASQUERADE")
	want := plan.RulesExpect{On: "router", Patterns: []string{"-j MASQUERAD -o eth0"}}
	if c := rulesCheck(want, nil, rs, false); c.Pass || !strings.Contains(c.Seen, "names no rule on router") {
		t.Errorf("typo pattern: %+v", c)
	}
	want.Patterns = []string{"MASQUERADE"}
	if c := rulesCheck(want, nil, rs, false); !c.Pass {
		t.Errorf("existing rule not hit: %+v", c)
	}
}
