package kube

import "github.com/labctl/labctl/topo/rules"

// ruleWriter builds chains and rules directly, without the by-name lookups of
// rules.Ruleset.Append, which are linear in the number of chains: a node of a large lab
// has thousands of KUBE-SEP chains. Rule arguments are copied into shared backing
// arrays (capped per rule, so appending to one rule's Args never touches another's),
// which turns thousands of small allocations per node into a few large ones.
type ruleWriter struct {
	origin rules.Origin
	arena  []string
	line   []string // the rule being assembled by begin/push/end
}

const arenaChunk = 8192

// chain adds an empty user-defined chain to t.
func (w *ruleWriter) chain(t *rules.Table, name string) *rules.Chain {
	c := &rules.Chain{Name: name, Origin: w.origin}
	t.Chains = append(t.Chains, c)
	return c
}

// add appends one rule to c.
func (w *ruleWriter) add(c *rules.Chain, args ...string) {
	w.begin()
	w.push(args...)
	w.end(c)
}

// begin starts assembling a rule whose parts are pushed one group at a time.
func (w *ruleWriter) begin() { w.line = w.line[:0] }

func (w *ruleWriter) push(args ...string) { w.line = append(w.line, args...) }

// end appends the assembled rule to c.
func (w *ruleWriter) end(c *rules.Chain) {
	n := len(w.line)
	if cap(w.arena)-len(w.arena) < n {
		// Start a new chunk; rules already written keep the old one alive.
		w.arena = make([]string, 0, max(arenaChunk, n))
	}
	start := len(w.arena)
	w.arena = append(w.arena, w.line...)
	c.Rules = append(c.Rules, rules.Rule{Args: w.arena[start : start+n : start+n], Origin: w.origin})
}
