package verify

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/labctl/labctl/topo/plan"
	"github.com/labctl/labctl/verify/agent"
)

// Check is one expectation of a probe, judged.
type Check struct {
	// Name is the expectation: reach, answeredBy, everyBackend, sourceSeen, http,
	// conntrack on HOST, rulesHit on HOST, rulesNotHit on HOST; then[N] prefixes
	// those of a relayed call.
	Name     string `json:"name"`
	Expected string `json:"expected"`
	Seen     string `json:"seen"`
	Pass     bool   `json:"pass"`
	// Unchecked: the check needs another machine's kernel state (see machines.go).
	Unchecked bool `json:"unchecked,omitempty"`
}

// Result is a judged probe (or a step that is not a probe).
type Result struct {
	Probe string `json:"probe"`
	// Step is the 1-based step that ran the probe, 0 when it ran before the steps.
	Step     int           `json:"step,omitempty"`
	Line     int           `json:"line,omitempty"`
	Summary  string        `json:"summary"`
	Pass     bool          `json:"pass"`
	Checks   []Check       `json:"checks,omitempty"`
	Tries    int           `json:"tries"`
	Duration time.Duration `json:"durationNs"`
	// Error says why the probe (or step) could not run.
	Error string `json:"error,omitempty"`
	// Trace says where the packets of a failed probe went.
	Trace *Trace `json:"trace,omitempty"`
	// Unchecked: every check made here passed, but some could not be made on this
	// machine (Pass is false). Skipped says why the probe runs on another machine.
	Unchecked bool   `json:"unchecked,omitempty"`
	Skipped   string `json:"skipped,omitempty"`
	// Untraced, for a failed probe not traced (Options.MaxTraces), is the labctl
	// trace command that traces it.
	Untraced string `json:"untraced,omitempty"`
}

// Name is the probe's name, with the step that ran it.
func (r Result) Name() string {
	if r.Step > 0 {
		return fmt.Sprintf("step %d: %s", r.Step, r.Probe)
	}
	return r.Probe
}

// Expected joins the expectations for one-line reports.
func (r Result) Expected() string {
	return joinChecks(r.Checks, func(c Check) string { return c.Expected })
}

// Seen joins what was seen, the failed checks first.
func (r Result) Seen() string {
	if r.Skipped != "" {
		return r.Skipped
	}
	if r.Error != "" {
		return r.Error
	}
	return joinChecks(r.Checks, func(c Check) string { return c.Seen })
}

func joinChecks(cs []Check, text func(Check) string) string {
	var failed, passed []string
	for _, c := range cs {
		if c.Pass {
			passed = append(passed, text(c))
		} else {
			failed = append(failed, text(c))
		}
	}
	return strings.Join(slices.Compact(append(failed, passed...)), "; ")
}

// call is one answered (or failed) call, of the probe itself or of a relayed hop,
// in the shape the answer checks read.
type call struct {
	outcome      agent.Outcome
	host         string
	remote       netip.Addr
	status       int
	body         string
	forwardedFor string
}

func callOf(a agent.Answer) call {
	c := call{outcome: a.Outcome, host: a.Host, status: a.Status, body: string(a.Body), forwardedFor: a.ForwardedFor}
	if c.outcome == "" {
		c.outcome = agent.Answered
	}
	if ap, err := netip.ParseAddrPort(a.Remote); err == nil {
		c.remote = ap.Addr().Unmap()
	}
	return c
}

// Judge compares a probe's observation with its expectations. It is pure.
func Judge(p plan.Probe, obs Observation) Result {
	res := Result{Probe: p.Name, Line: p.Line, Summary: p.Summary(), Tries: len(obs.Tries)}
	if obs.Err != nil {
		res.Error = "could not run: " + obs.Err.Error()
		return res
	}
	calls := make([]call, len(obs.Tries))
	for i, t := range obs.Tries {
		calls[i] = call{outcome: t.Outcome, host: t.Host}
		if t.Answer != nil {
			calls[i] = callOf(*t.Answer)
			calls[i].host = t.Host
		}
	}
	res.Checks = answerChecks("", p.Expect, calls)
	for i, hop := range p.Then {
		hopCalls := make([]call, 0, len(obs.Tries))
		for _, t := range obs.Tries {
			if t.Answer == nil {
				continue
			}
			chain := t.Answer.Chain()
			if len(chain) > i+1 {
				hopCalls = append(hopCalls, callOf(chain[i+1]))
			} else {
				hopCalls = append(hopCalls, call{outcome: "not made"})
			}
		}
		res.Checks = append(res.Checks, answerChecks(fmt.Sprintf("then[%d] %s: ", i+1, hop.To.Written), hop.Expect, hopCalls)...)
	}
	flows := flowEntries(p, obs.Tries, obs.Conntrack)
	for _, c := range p.Expect.Conntrack {
		res.Checks = append(res.Checks, conntrackCheck(c, flows[c.On], p))
	}
	for _, r := range p.Expect.RulesHit {
		res.Checks = append(res.Checks, rulesCheck(r, obs.Hits[r.On], nil, true))
	}
	for _, r := range p.Expect.RulesNotHit {
		res.Checks = append(res.Checks, rulesCheck(r, obs.Hits[r.On], obs.Rules[r.On], false))
	}
	res.Pass = len(res.Checks) > 0
	for _, c := range res.Checks {
		res.Pass = res.Pass && c.Pass
	}
	return res
}

// answerChecks judges reach and the checks of answers over a list of calls.
func answerChecks(prefix string, e plan.Expect, calls []call) []Check {
	out := []Check{reachCheck(prefix, e.Reach, calls)}
	var answered []call
	for _, c := range calls {
		if c.outcome == agent.Answered {
			answered = append(answered, c)
		}
	}
	if e.Reach != plan.ReachAnswered {
		return out
	}
	if len(e.AnsweredBy) > 0 {
		out = append(out, answeredByCheck(prefix, e.AnsweredBy, answered))
	}
	if e.EveryBackend {
		out = append(out, everyBackendCheck(prefix, e.AnsweredBy, answered))
	}
	if e.SourceSeen != nil {
		out = append(out, sourceSeenCheck(prefix, e.SourceSeen, answered))
	}
	if e.HTTP != nil {
		out = append(out, httpChecks(prefix, *e.HTTP, answered)...)
	}
	return out
}

func reachCheck(prefix, reach string, calls []call) Check {
	ch := Check{Name: prefix + "reach", Seen: outcomeCounts(calls), Pass: len(calls) > 0}
	if len(calls) == 0 && prefix != "" {
		// A relay hop is only called when the hop before it answered.
		ch.Expected, ch.Seen = "a call ("+reach+")", "never called: the hop before it did not answer"
		return ch
	}
	switch reach {
	case plan.ReachAnswered:
		ch.Expected = fmt.Sprintf("%d/%d answered", len(calls), len(calls))
	case plan.ReachNone:
		ch.Expected = "no answer"
	default:
		ch.Expected = "every try " + reach
	}
	for _, c := range calls {
		switch reach {
		case plan.ReachAnswered:
			ch.Pass = ch.Pass && c.outcome == agent.Answered
		case plan.ReachNone:
			ch.Pass = ch.Pass && c.outcome != agent.Answered
		default:
			ch.Pass = ch.Pass && string(c.outcome) == reach
		}
	}
	return ch
}

// outcomeCounts says how the calls ended: "40/40 answered", "1/2 answered, 1/2 timeout".
func outcomeCounts(calls []call) string {
	if len(calls) == 0 {
		return "no try ran"
	}
	return countText(func(yield func(string)) {
		for _, c := range calls {
			yield(string(c.outcome))
		}
	}, func(v string, n int) string { return fmt.Sprintf("%d/%d %s", n, len(calls), v) })
}

// countText counts values in the order they first appear and renders each.
func countText(values func(yield func(string)), render func(v string, n int) string) string {
	var order []string
	counts := map[string]int{}
	values(func(v string) {
		if counts[v] == 0 {
			order = append(order, v)
		}
		counts[v]++
	})
	parts := make([]string, len(order))
	for i, v := range order {
		parts[i] = render(v, counts[v])
	}
	return strings.Join(parts, ", ")
}

func answeredByCheck(prefix string, allowed []string, answered []call) Check {
	ch := Check{Name: prefix + "answeredBy", Expected: "answered by " + strings.Join(allowed, " or "), Pass: true}
	var others []string
	for _, c := range answered {
		if !slices.Contains(allowed, c.host) {
			ch.Pass = false
			others = appendUnique(others, orUnknown(c.host))
		}
	}
	ch.Seen = "answered by " + hostCounts(answered)
	if len(answered) == 0 {
		ch.Seen, ch.Pass = "no answer to check", false
	}
	if len(others) > 0 {
		ch.Seen += " (not allowed: " + strings.Join(others, ", ") + ")"
	}
	return ch
}

func everyBackendCheck(prefix string, backends []string, answered []call) Check {
	ch := Check{Name: prefix + "everyBackend", Expected: "each of " + strings.Join(backends, ", ") + " answers", Pass: true}
	var silent []string
	for _, b := range backends {
		if !slices.ContainsFunc(answered, func(c call) bool { return c.host == b }) {
			silent = append(silent, b)
			ch.Pass = false
		}
	}
	ch.Seen = "answered by " + hostCounts(answered)
	if len(silent) > 0 {
		ch.Seen = fmt.Sprintf("%s never answered in %d answers (%s)", strings.Join(silent, ", "), len(answered), hostCounts(answered))
	}
	return ch
}

func hostCounts(answered []call) string {
	if len(answered) == 0 {
		return "nobody"
	}
	return countText(func(yield func(string)) {
		for _, c := range answered {
			yield(orUnknown(c.host))
		}
	}, func(v string, n int) string { return fmt.Sprintf("%s x%d", v, n) })
}

func orUnknown(host string) string {
	if host == "" {
		return "(unknown host)"
	}
	return host
}
