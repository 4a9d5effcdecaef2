package verify

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labctl/labctl/node"
	"github.com/labctl/labctl/topo/plan"
	"github.com/labctl/labctl/topo/rules"
	"github.com/labctl/labctl/verify/agent"
)

// fakeEnv answers every probe as server, or fails it with failOutcome for probes
// named in fail; it records what ran and how many probes were in flight at once.
type fakeEnv struct {
	mu        sync.Mutex
	log       []string
	inFlight  int
	overlap   map[string]int // probe -> most other probes in flight while it ran
	fail      map[string]agent.Outcome
	loadErr   error
	countered []string
	// counterReads makes rule X's counter grow between two reads.
	counterReads int
}

var _ Env = (*fakeEnv)(nil)

func (f *fakeEnv) Send(_ context.Context, p plan.Probe) Try {
	f.mu.Lock()
	f.inFlight++
	f.log = append(f.log, "send "+p.Name)
	f.overlap[p.Name] = max(f.overlap[p.Name], f.inFlight-1)
	f.mu.Unlock()
	time.Sleep(2 * time.Millisecond) // long enough for concurrent probes to meet
	f.mu.Lock()
	f.overlap[p.Name] = max(f.overlap[p.Name], f.inFlight-1)
	f.inFlight--
	f.mu.Unlock()
	if o, ok := f.fail[p.Name]; ok {
		return Try{Outcome: o, Error: string(o)}
	}
	a := agent.Answer{Host: "server", Remote: "10.0.0.1:1000", Local: "10.0.0.2:80"}
	return Try{Outcome: agent.Answered, Host: "server", Answer: &a, Client: netip.MustParseAddrPort("10.0.0.1:1000")}
}

func (f *fakeEnv) Conntrack(context.Context, string) ([]node.ConntrackEntry, error) { return nil, nil }

func (f *fakeEnv) Counters(_ context.Context, host string) (*rules.Ruleset, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.countered = appendUnique(f.countered, host)
	f.counterReads++
	rs := &rules.Ruleset{}
	rs.Append("nat", "X", rules.Origin{}, "-j", "ACCEPT")
	rs.Table("nat").Lookup("X").Rules[0].Packets = uint64(f.counterReads) // grows with every read
	return rs, nil
}

func (f *fakeEnv) LoadRules(_ context.Context, host string, _ []byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, "rules "+host)
	return f.loadErr
}

func (f *fakeEnv) Exec(_ context.Context, host, command string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.log = append(f.log, "exec "+host)
	return "", nil
}

func newFake() *fakeEnv { return &fakeEnv{overlap: map[string]int{}, fail: map[string]agent.Outcome{}} }

func scenario() *plan.Plan {
	probe := func(name string, e plan.Expect) plan.Probe {
		e.Reach = cmpOr(e.Reach, plan.ReachAnswered)
		return plan.Probe{Name: name, From: "client", To: plan.Target{Addr: netip.MustParseAddr("10.0.0.2"), Port: 80}, Protocol: plan.TCP, Count: 1, Expect: e}
	}
	p := &plan.Plan{Instance: "lab", Namespaces: []*plan.Namespace{{Name: "client", Kind: plan.KindHost}, {Name: "router", Kind: plan.KindHost}, {Name: "server", Kind: plan.KindHost}}}
	for i := range 8 {
		p.Probes = append(p.Probes, probe(fmt.Sprintf("c%d", i), plan.Expect{}))
	}
	p.Probes = append(p.Probes,
		probe("counted", plan.Expect{RulesHit: []plan.RulesExpect{{On: "router", Patterns: []string{"X"}}}}),
		probe("s1", plan.Expect{}), probe("s2", plan.Expect{}))
	p.Steps = []plan.Step{{Probe: "s1"}, {Rules: &plan.RulesStep{Host: "router", Payload: "*nat\nCOMMIT\n"}}, {Exec: &plan.ExecStep{Host: "router", Run: "true"}}, {Probe: "s2"}, {Probe: "s1"}}
	return p
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestRunOrderAndIsolation(t *testing.T) {
	f := newFake()
	rep := Run(context.Background(), scenario(), f, Options{Workers: 4})
	if !rep.OK() || rep.Passed != 14 {
		t.Fatalf("report: %d passed, %d failed: %+v", rep.Passed, rep.Failed, rep.Results)
	}
	var names []string
	for _, r := range rep.Results {
		names = append(names, r.Name())
	}
	want := "c0 c1 c2 c3 c4 c5 c6 c7 counted | step 1: s1 | step 2: iptables on router | step 3: exec on router: true | step 4: s2 | step 5: s1"
	if got := strings.Join(names, " | "); strings.Replace(got, " | ", " ", 8) != want {
		t.Errorf("results in order:\n%s\nwant\n%s", got, want)
	}
	// The scenario runs in order after every probe not in a step.
	tail := f.log[len(f.log)-5:]
	if strings.Join(tail, ",") != "send s1,rules router,exec router,send s2,send s1" {
		t.Errorf("scenario ran as %v", tail)
	}
	for _, alone := range []string{"counted", "s1", "s2"} {
		if f.overlap[alone] != 0 {
			t.Errorf("%s ran while %d other probes were in flight", alone, f.overlap[alone])
		}
	}
	concurrent := 0
	for i := range 8 {
		concurrent = max(concurrent, f.overlap[fmt.Sprintf("c%d", i)])
	}
	if concurrent == 0 || concurrent > 3 {
		t.Errorf("plain probes overlapped with at most %d others; want 1..3 with 4 workers", concurrent)
	}
}

func TestRunTracesFailuresAndSelects(t *testing.T) {
	f := newFake()
	f.fail["c3"] = agent.Timeout
	p := scenario()
	p.Namespaces[1].Rules = &rules.Ruleset{}
	p.Namespaces[1].Rules.Append("nat", "PREROUTING", rules.Origin{}, "-j", "ACCEPT")
	rep := Run(context.Background(), p, f, Options{Select: func(n string) bool { return n == "c3" || n == "s2" }})
	var names []string
	for _, r := range rep.Results {
		names = append(names, r.Name())
	}
	if got := strings.Join(names, ","); got != "c3,step 2: iptables on router,step 3: exec on router: true,step 4: s2" {
		t.Errorf("selected run: %s", got)
	}
	if rep.Failed != 1 || rep.Results[0].Trace == nil {
		t.Fatalf("want c3 failed and traced: %+v", rep.Results[0])
	}
	if rep.Results[0].Trace.Outcome != "timeout" || !slices.Contains(f.countered, "router") {
		t.Errorf("trace %+v; counters read on %v, want router's", rep.Results[0].Trace, f.countered)
	}
	if n := strings.Count(strings.Join(f.log, ","), "send c3"); n != 2 {
		t.Errorf("c3 sent %d times, want 2 (the probe and its trace)", n)
	}
}

func TestRunReportsAFailedStep(t *testing.T) {
	f := newFake()
	f.loadErr = errors.New("iptables-restore refused payload line 3")
	rep := Run(context.Background(), scenario(), f, Options{})
	var step Result
	for _, r := range rep.Results {
		if r.Step == 2 {
			step = r
		}
	}
	if step.Pass || !strings.Contains(step.Error, "step failed: iptables-restore refused payload line 3") || rep.OK() {
		t.Errorf("failed rules step: %+v", step)
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep := Run(ctx, scenario(), newFake(), Options{})
	if rep.OK() || rep.Results[len(rep.Results)-1].Probe != "run" {
		t.Errorf("cancelled run: %+v", rep.Results)
	}
}
