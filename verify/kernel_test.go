package verify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/labctl/labctl/node"
	"github.com/labctl/labctl/node/nodetest"
	"github.com/labctl/labctl/topo"
	"github.com/labctl/labctl/topo/plan"
	"github.com/labctl/labctl/verify/agent"
)

// labName is the lab's name line, replaced so tests never meet a running lab.
var labName = regexp.MustCompile(`(?m)^name: .*$`)

// upLab compiles a lab file of testdata under a fresh name, builds it, runs the agent
// in-process and removes everything when the test ends, pass or fail.
func upLab(t testing.TB, file string) *plan.Plan {
	t.Helper()
	nodetest.RequireRoot(t)
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "v" + hex.EncodeToString(b)
	lab, err := topo.Parse(file, labName.ReplaceAll(src, []byte("name: "+name)))
	if err != nil {
		t.Fatal(err)
	}
	p, err := topo.Compile(lab, topo.CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := node.Down(p.Instance); err != nil {
			t.Errorf("down: %v", err)
		}
	})
	if _, err := node.Up(context.Background(), p, node.UpOptions{}); err != nil {
		t.Fatalf("up: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- agent.Serve(ctx, agent.ConfigFor(p, node.NetnsDir), func() { close(ready) }) }()
	// Registered after down's cleanup, so it runs first: sockets close before namespaces go.
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("agent: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("agent not ready after 10s")
	}
	return p
}

func runLab(t testing.TB, p *plan.Plan, opts Options) *Report {
	t.Helper()
	k := NewKernel(p)
	defer k.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	return Run(ctx, p, k, opts)
}

// TestEveryExpectationInRealNamespaces runs a passing and a deliberately failing
// probe of every expectation kind; each failure must say what it saw.
func TestEveryExpectationInRealNamespaces(t *testing.T) {
	p := upLab(t, "testdata/kernel-lab.yaml")
	// Every failure traced, not only the first DefaultMaxTraces.
	rep := runLab(t, p, Options{MaxTraces: 100})
	failures := map[string][]string{ // probe -> what its failed checks must say
		"fail: reach":                  {"reach", "1/1 timeout"},
		"fail: refused":                {"reach", "1/1 refused"},
		"fail: answeredBy":             {"answeredBy", "answered by server-a x1 (not allowed: server-a)"},
		"fail: sourceSeen":             {"sourceSeen", "saw 203.0.113.1 (want router/eth2 (192.168.1.5))"},
		"fail: sourceSeen per backend": {"sourceSeen", "none of server-b answered, so no source could be checked (answered by server-a x1)"},
		"fail: sourceSeen any of":      {"sourceSeen", "saw 203.0.113.1 (want one of router/eth1 (192.168.1.1), router/eth2 (192.168.1.5))"},
		"fail: unreachable":            {"reach", "1/1 unreachable"},
		"fail: http body":              {"http body", `body "{`},
		"fail: http forwardedFor":      {"http forwardedFor", `X-Forwarded-For "203.0.113.1"`},
		"fail: everyBackend":           {"everyBackend", "server-b never answered in 21 answers (server-a x21)"},
		"fail: conntrack":              {"conntrack on router", "conntrack on router has only original 203.0.113.1:"},
		"fail: rulesHit":               {"rulesHit on router", "--dport 82 not hit on router; hits there: nat PREROUTING#1 DNAT (1 packets)"},
		"fail: rulesNotHit":            {"rulesNotHit on router", "MASQUERADE hit on router: nat POSTROUTING#1 MASQUERADE (1 packets)"},
		"fail: relay":                  {"then[1] server-b:8080: sourceSeen", "saw 192.168.1.2 (want router/eth2 (192.168.1.5))"},
		"fail: http":                   {"http status", "status 404"},
		"fail: udp":                    {"reach", "1/1 refused"},
		"fail: icmp":                   {"answeredBy", "answered by router x1 (not allowed: router)"},
	}
	seen := map[string]bool{}
	for _, res := range rep.Results {
		seen[res.Probe] = true
		want, isFailure := failures[res.Probe]
		switch {
		case strings.HasPrefix(res.Probe, "pass:") && !res.Pass:
			t.Errorf("%s failed:\n%s", res.Probe, res.Details())
		case isFailure && res.Pass:
			t.Errorf("%s passed, but it must fail:\n%s", res.Probe, res.Details())
		case isFailure:
			if !hasFailedCheck(res, want[0], want[1]) {
				t.Errorf("%s: no failed check %q saying %q:\n%s", res.Probe, want[0], want[1], res.Details())
			}
			if res.Trace == nil {
				t.Errorf("%s failed without a trace", res.Probe)
			}
		}
	}
	for name := range failures {
		if !seen[name] {
			t.Errorf("probe %q did not run", name)
		}
	}
	if rep.Failed != len(failures) || rep.Passed+rep.Failed != len(p.Probes) {
		t.Errorf("report counts %d passed, %d failed of %d probes; want %d failed", rep.Passed, rep.Failed, len(p.Probes), len(failures))
	}
}

func hasFailedCheck(res Result, name, seen string) bool {
	for _, c := range res.Checks {
		if !c.Pass && c.Name == name && strings.Contains(c.Seen, seen) {
			return true
		}
	}
	return false
}

// TestFailedProbeIsTraced: the trace of a failed DNAT probe names the router's DNAT
// rule and translation and who answered.
func TestFailedProbeIsTraced(t *testing.T) {
	p := upLab(t, "testdata/kernel-lab.yaml")
	rep := runLab(t, p, Options{Select: func(n string) bool { return n == "fail: answeredBy" }})
	if len(rep.Results) != 1 || rep.Results[0].Trace == nil {
		t.Fatalf("want one traced result, got %+v", rep.Results)
	}
	text := rep.Results[0].Trace.Text()
	for _, want := range []string{
		"-> 203.0.113.254:80 tcp: answered",
		"router    PREROUTING > DNAT  DNAT 203.0.113.254:80 -> 192.168.1.2:8080",
		"router    POSTROUTING > MASQUERADE  SNAT src 203.0.113.1:",
		"server-a  answered; saw source 192.168.1.1:",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("trace lacks %q:\n%s", want, text)
		}
	}
}

// TestStepsKeepAnEstablishedFlowOnItsOldNAT is the double-DNAT lesson: after the DNAT
// rule changes, the open connection still reaches the old server and a new one the
// new server.
func TestStepsKeepAnEstablishedFlowOnItsOldNAT(t *testing.T) {
	p := upLab(t, "testdata/steps-lab.yaml")
	rep := runLab(t, p, Options{})
	var names []string
	for _, res := range rep.Results {
		names = append(names, res.Name())
		switch {
		case strings.HasPrefix(res.Probe, "fail:"):
			if res.Pass || !hasFailedCheck(res, "answeredBy", "answered by new x1 (not allowed: new)") {
				t.Errorf("%s: want answeredBy failing with new answering:\n%s", res.Name(), res.Details())
			}
		case !res.Pass:
			t.Errorf("%s failed:\n%s", res.Name(), res.Details())
		}
	}
	want := []string{"not in a step", "step 1: first request", "step 2: iptables on router", "step 3: exec on " + "router: test $(iptables-nft-save -t nat | grep -c 192.168.1.6) = 1",
		"step 4: same connection", "step 5: new connection", "step 6: fail: new connection still old", "step 7: sleep 10ms"}
	if strings.Join(names, "\n") != strings.Join(want, "\n") {
		t.Errorf("order:\n%s\nwant:\n%s", strings.Join(names, "\n"), strings.Join(want, "\n"))
	}
}

// TestTraceFlowOfADroppedPacket: a DROP shows as the rule that counted the packet.
func TestTraceFlowOfADroppedPacket(t *testing.T) {
	p := upLab(t, "testdata/kernel-lab.yaml")
	tr, err := TraceFlow(context.Background(), p, "client", "router/eth0:7", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	text := tr.Text()
	for _, want := range []string{"client 203.0.113.1:", "-> 203.0.113.254:7 tcp: timeout", "filter INPUT#2 DROP ("} {
		if !strings.Contains(text, want) {
			t.Errorf("trace lacks %q:\n%s", want, text)
		}
	}
	if _, err := TraceFlow(context.Background(), p, "nobody", "router/eth0:7", "", 0); err == nil || !strings.Contains(err.Error(), `no host "nobody"`) {
		t.Errorf("trace from an unknown host: %v", err)
	}
}

// TestTraceShowsAPlainRouter: a router with no rules (so no conntrack) is still in
// the trace, from its forwarding counter; a host beside the path is not.
func TestTraceShowsAPlainRouter(t *testing.T) {
	p := upLab(t, "testdata/plain-router-lab.yaml")
	tr, err := TraceFlow(context.Background(), p, "client", "server:8080", "", 0)
	if err != nil {
		t.Fatal(err)
	}
	text := tr.Text()
	if !regexp.MustCompile(`(?m)^  plain +forwarded \d+ packets \(no NAT, no rule counted them; its place on the path is not known\)$`).MatchString(text) ||
		!strings.Contains(text, "server    answered; saw source 10.70.1.") {
		t.Errorf("trace does not show the plain router forwarding:\n%s", text)
	}
	if strings.Contains(text, "bystander") {
		t.Errorf("trace lists a host beside the path:\n%s", text)
	}
	if len(tr.Hops) != 1 || tr.Hops[0].Forwarded < 2 {
		t.Errorf("hops %+v, want plain alone, forwarding both ways", tr.Hops)
	}
}

// TestServiceTargetsOfTheClusterLayer runs the probes of topo's cluster test lab:
// ClusterIP (hairpin, with per-backend sourceSeen and rulesHit), UDP DNS, NodePort and
// the load balancer VIP over HTTP to a Pod's TCP port.
func TestServiceTargetsOfTheClusterLayer(t *testing.T) {
	p := upLab(t, "../topo/testdata/labs/probes-cluster.yaml")
	rep := runLab(t, p, Options{})
	if !rep.OK() || rep.Passed != 4 {
		var b strings.Builder
		for _, r := range rep.Results {
			b.WriteString(r.Details())
		}
		t.Errorf("%s\n%s", rep.Summary(), b.String())
	}
}
