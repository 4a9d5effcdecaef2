package verify

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/labctl/labctl/topo/plan"
	"github.com/labctl/labctl/verify/agent"
)

// Only the first DefaultMaxTraces failures are traced; the others say how to trace
// them, and the report says how many were not.
func TestRunTracesOnlyTheFirstFailures(t *testing.T) {
	f := newFake()
	p := scenario()
	p.Steps = nil
	for i := range 8 {
		f.fail[fmt.Sprintf("c%d", i)] = agent.Timeout
	}
	p.Probes[7].To = plan.Target{Written: "service/web:80", Addr: netip.MustParseAddr("10.96.0.10"), Port: 80}
	rep := Run(context.Background(), p, f, Options{})
	if rep.Failed != 8 || rep.Untraced != 8-DefaultMaxTraces {
		t.Fatalf("%d failed, %d untraced; want 8 and %d", rep.Failed, rep.Untraced, 8-DefaultMaxTraces)
	}
	for i, res := range rep.Results[:8] {
		traced := i < DefaultMaxTraces
		if (res.Trace != nil) != traced || (res.Untraced == "") != traced {
			t.Errorf("%s: trace %v, untraced %q; want traced %v", res.Probe, res.Trace != nil, res.Untraced, traced)
		}
		sends := map[bool]int{true: 2, false: 1}[traced] // a trace sends the probe once more
		if n := countOf(f.log, "send "+res.Probe); n != sends {
			t.Errorf("%s sent %d times, want %d", res.Probe, n, sends)
		}
	}
	if got, want := rep.Results[7].Untraced, "labctl trace lab client service/web:80 --proto tcp"; got != want {
		t.Errorf("untraced c7: %q, want %q", got, want)
	}
	if d := rep.Results[7].Details(); !strings.Contains(d, "not traced") || !strings.Contains(d, "labctl trace lab client service/web:80") {
		t.Errorf("details of c7 do not say how to trace it:\n%s", d)
	}
	if s := rep.Summary(); !strings.Contains(s, "3 failures not traced") {
		t.Errorf("summary: %s", s)
	}
	// Asked for, every failure is traced.
	rep = Run(context.Background(), p, newFakeFailing(8), Options{MaxTraces: 8})
	if rep.Untraced != 0 {
		t.Errorf("MaxTraces 8: %d untraced", rep.Untraced)
	}
}

func newFakeFailing(n int) *fakeEnv {
	f := newFake()
	for i := range n {
		f.fail[fmt.Sprintf("c%d", i)] = agent.Timeout
	}
	return f
}

func countOf(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

func TestTraceCommandQuotes(t *testing.T) {
	p := plan.Probe{From: "client", To: plan.Target{Addr: netip.MustParseAddr("fd00::1"), Port: 80}, Protocol: plan.TCP}
	if got, want := traceCommand("lab", p), "labctl trace lab client '[fd00::1]:80' --proto tcp"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
