package rules

import (
	"fmt"
	"slices"
	"strings"
)

// finish checks the final ruleset, where the kernel checks it when the payload loads:
// every jump leads somewhere, every target is used in a table and from built-in chains
// that allow it, and no chain jumps back into itself.
func (a *applier) finish() {
	for _, t := range a.rs.Tables {
		for _, ch := range t.Chains {
			for _, r := range ch.Rules {
				if at, mine := a.written[r.Origin]; mine && r.Origin.By == "" {
					a.checkTarget(t, r, at)
				}
			}
		}
		a.checkReach(t)
	}
}

func (a *applier) checkTarget(t *Table, r Rule, at pos) {
	_, target, _ := findTarget(r.Args)
	if target == "" {
		return
	}
	if knownTarget(target) {
		if msg, hint := targetTableProblem(target, t.Name); msg != "" {
			a.ps.add(at, hint, "%s", msg)
		}
		return
	}
	if why, ok := unusableTargets[target]; ok {
		a.ps.add(at, why[1], "%s", why[0])
		return
	}
	if ch := t.Lookup(target); ch != nil {
		if ch.Builtin() {
			a.ps.add(at, "jump to a user chain instead (create one with -N)", "cannot jump to built-in chain %s", target)
		}
		return
	}
	a.ps.add(at, a.targetHint(t, target), "unknown target %s: no such target or chain in table %s", target, t.Name)
}

// targetHint guesses what an unknown target was meant to be.
func (a *applier) targetHint(t *Table, target string) string {
	if guess := closestName(target, allTargets()); guess != "" && strings.EqualFold(guess, target) {
		return "targets are written in capitals: " + guess
	}
	for _, other := range a.rs.Tables {
		if c := other.Lookup(target); c != nil && other != t && !c.Builtin() {
			return fmt.Sprintf("%s is a chain of the %s table; a rule can only jump to chains of its own table", target, other.Name)
		}
	}
	var names []string
	for _, c := range t.Chains {
		if !c.Builtin() {
			names = append(names, c.Name)
		}
	}
	if guess := closestName(target, append(names, allTargets()...)); guess != "" {
		return "did you mean " + guess + "?"
	}
	return a.declareAdvice(t.Name, target) + ", or use a target such as ACCEPT, DROP, RETURN, DNAT, SNAT or MASQUERADE"
}

// jump is a rule that jumps from one chain to another.
type jump struct {
	from  *Chain
	index int
}

// checkReach walks the chains reachable from each built-in chain, like the kernel does
// when a table loads: a target may only be reached from the built-in chains it allows,
// and no jump may lead back into a chain on the way. A problem is reported on the
// author's rule: the rule with the target, else a jump on the way to it.
func (a *applier) checkReach(t *Table) {
	reported := map[string]bool{}
	report := func(key string, at pos, hint, format string, args ...any) {
		if !reported[key] {
			reported[key] = true
			a.ps.add(at, hint, format, args...)
		}
	}
	for _, hook := range t.Chains {
		if !hook.Builtin() {
			continue
		}
		visited := map[*Chain]bool{hook: true}
		var walk func(ch *Chain, path []jump)
		walk = func(ch *Chain, path []jump) {
			for i, r := range ch.Rules {
				_, target, _ := findTarget(r.Args)
				misplaced, _ := targetTableProblem(target, t.Name)
				if allowed := targetChains(target); misplaced == "" && allowed != nil && !slices.Contains(allowed, hook.Name) {
					a.reportPlace(t, hook, ch, i, path, allowed, report)
				}
				next := t.Lookup(target)
				if next == nil || next.Builtin() {
					continue
				}
				here := append(slices.Clip(path), jump{ch, i})
				if k := slices.IndexFunc(here, func(j jump) bool { return j.from == next }); k >= 0 {
					a.reportLoop(here[k:], report)
					continue
				}
				if !visited[next] {
					visited[next] = true
					walk(next, here)
				}
			}
		}
		walk(hook, nil)
	}
}

type reporter func(key string, at pos, hint, format string, args ...any)

// reportPlace reports a target reached from a built-in chain that it does not allow.
func (a *applier) reportPlace(t *Table, hook, ch *Chain, index int, path []jump, allowed []string, report reporter) {
	r := ch.Rules[index]
	_, target, _ := findTarget(r.Args)
	hint := fmt.Sprintf("%s works only from %s%s", target, orList(allowed), placeAdvice(target))
	if at, mine := a.written[r.Origin]; mine {
		key := fmt.Sprintf("place %s %s %d %s", t.Name, ch.Name, index, hook.Name)
		if ch == hook {
			report(key, at, hint, "%s cannot be used in chain %s", target, ch.Name)
		} else {
			report(key, at, hint, "%s in chain %s cannot be used there: %s is reached from %s", target, ch.Name, ch.Name, hook.Name)
		}
		return
	}
	for _, j := range path {
		jr := j.from.Rules[j.index]
		if at, mine := a.written[jr.Origin]; mine {
			key := fmt.Sprintf("place-via %s %s %d %s", t.Name, j.from.Name, j.index, target)
			report(key, at, hint+"; jump to "+ch.Name+" only from there",
				"chain %s, reached through this jump from %s, has a %s rule%s", ch.Name, hook.Name, target, originNote(r.Origin))
			return
		}
	}
}

// reportLoop reports jumps that lead back into a chain on their own way.
func (a *applier) reportLoop(cycle []jump, report reporter) {
	names := make([]string, 0, len(cycle)+1)
	for _, j := range cycle {
		names = append(names, j.from.Name)
	}
	names = append(names, cycle[0].from.Name)
	sorted := slices.Clone(names[:len(cycle)])
	slices.Sort(sorted)
	for _, j := range cycle {
		if at, mine := a.written[j.from.Rules[j.index].Origin]; mine {
			report("loop "+strings.Join(sorted, " "), at, "the kernel refuses chains that jump back into themselves; remove one of these jumps",
				"jump loop: %s", strings.Join(names, " -> "))
			return
		}
	}
}

// placeAdvice explains the usual confusion behind a misplaced NAT target.
func placeAdvice(target string) string {
	switch target {
	case "DNAT", "REDIRECT":
		return ": destination NAT happens before routing (PREROUTING) or for local packets (OUTPUT)"
	case "SNAT", "MASQUERADE":
		return ": source NAT happens as packets leave (POSTROUTING)"
	}
	return ""
}
