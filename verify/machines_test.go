package verify

import (
	"bytes"
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/labctl/labctl/topo/plan"
)

// TestShareSkipsAndUnchecks runs machine a's share of a lab: a probe from a host of
// machine b is skipped (never sent), a check on machine b's host is UNCHECKED (the
// probe does not pass, nor fail), a step on machine b's host is not run, and
// everything local is judged as usual.
func TestShareSkipsAndUnchecks(t *testing.T) {
	to := plan.Target{Addr: netip.MustParseAddr("10.0.0.2"), Port: 80}
	probe := func(name, from string, e plan.Expect) plan.Probe {
		e.Reach = plan.ReachAnswered
		return plan.Probe{Name: name, From: from, To: to, Protocol: plan.TCP, Count: 1, Expect: e}
	}
	p := &plan.Plan{Instance: "lab@a", Machine: "a",
		Namespaces: []*plan.Namespace{{Name: "client", Kind: plan.KindHost}, {Name: "router", Kind: plan.KindHost}},
		Elsewhere:  []plan.RemoteHost{{Name: "server", Kind: plan.KindHost, Machine: "b"}, {Name: "far", Kind: plan.KindHost, Machine: "b"}},
		Probes: []plan.Probe{
			probe("local", "client", plan.Expect{AnsweredBy: []string{"server"}}),
			probe("from b", "far", plan.Expect{}),
			probe("needs b", "client", plan.Expect{
				RulesHit:  []plan.RulesExpect{{On: "router", Patterns: []string{"X"}}, {On: "server", Patterns: []string{"Y"}}},
				Conntrack: []plan.ConntrackExpect{{On: "server"}},
			}),
		},
		Steps: []plan.Step{{Exec: &plan.ExecStep{Host: "server", Run: "true"}}},
	}
	f := newFake()
	rep := Run(context.Background(), p, f, Options{NoTrace: true})
	if rep.Passed != 1 || rep.Failed != 0 || rep.Unchecked != 2 || rep.Skipped != 1 || rep.OK() {
		t.Fatalf("passed %d failed %d unchecked %d skipped %d OK %v: %+v", rep.Passed, rep.Failed, rep.Unchecked, rep.Skipped, rep.OK(), rep.Results)
	}
	status := map[string]string{}
	for _, r := range rep.Results {
		status[r.Name()] = r.Status()
	}
	want := map[string]string{"local": "PASS", "from b": "SKIPPED", "needs b": "UNCHECKED", "step 1: exec on server: true": "UNCHECKED"}
	for name, s := range want {
		if status[name] != s {
			t.Errorf("%s: %s, want %s (all: %v)", name, status[name], s, status)
		}
	}
	if slices.Contains(f.log, "send from b") || slices.Contains(f.countered, "server") {
		t.Errorf("machine b's probe was sent or its host's counters read: %v %v", f.log, f.countered)
	}
	if !slices.Contains(f.countered, "router") {
		t.Errorf("the local rulesHit on router was not checked: %v", f.countered)
	}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"????", "not checkable from machine a: server runs on machine b", "verify --machine b runs it", "1 skipped", "2 UNCHECKED"} {
		if !strings.Contains(table.String(), s) {
			t.Errorf("the report does not say %q:\n%s", s, table.String())
		}
	}

	// A local check that fails makes the probe FAIL, unchecked checks or not.
	p.Probes[2].Expect.AnsweredBy = []string{"nobody"}
	rep = Run(context.Background(), p, newFake(), Options{NoTrace: true, Select: func(n string) bool { return n == "needs b" }})
	if rep.Failed != 1 || rep.Results[0].Status() != "FAIL" {
		t.Errorf("a failed local check with unchecked ones: %+v", rep.Results)
	}
}
