package rules

import (
	"fmt"
	"strings"
)

// Parse applies rules a lab author wrote by hand to a copy of base (which may be nil)
// and returns the result with every problem found, ordered by position.
//
// The text is in one of two forms. If its first line that is neither blank nor a #
// comment starts with *, it is iptables-restore text (*nat, :CHAIN POLICY [0:0],
// -A CHAIN ..., COMMIT); otherwise it is iptables command lines, as tutorials write
// them (iptables -t nat -A POSTROUTING ...), tokenized like a shell would.
//
// Restore text is applied like iptables-restore --noflush applies it, the way
// kube-proxy loads its rules: a *table line does not empty the table, so the base
// rules stay; a chain line for an existing user chain empties that chain; a chain
// line for a built-in chain sets its policy unless the policy is "-".
//
// Commands apply in order, so -D finds a rule of base or of an earlier line; a rule to
// delete is found the way iptables finds it, by its options, where long and short
// spellings, -s 10.0.0.1 and 10.0.0.1/32, and the order of -s -d -p -i -o are the
// same. Rules keep their words exactly as written, minus the command and the chain.
// Jumps, targets and the chains a target is used from are checked once all lines are
// applied, against the final ruleset. Every rule the text creates gets the lab-file
// position of its line from loc (nil: the text is the file); a problem found in base
// rules alone is not reported, a problem a line of the text causes is.
func Parse(text string, loc Locator, base *Ruleset) (*Ruleset, []Problem) {
	rs := &Ruleset{}
	if base != nil {
		rs = base.Clone()
	}
	ps := newProblems(loc)
	a := &applier{rs: rs, ps: ps, written: map[Origin]pos{}}
	if restoreForm(text) {
		a.restore = true
		parseRestoreForm(text, ps, a.apply)
	} else {
		parseCommandForm(text, ps, a.apply)
	}
	a.finish()
	return rs, ps.sorted()
}

// restoreForm reports whether text is iptables-restore text: its first line that is
// neither blank nor a comment starts with *.
func restoreForm(text string) bool {
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			return strings.HasPrefix(line, "*")
		}
	}
	return false
}

var tableNames = []string{"filter", "nat", "mangle", "raw", "security"}

// checkTable reports a table iptables does not have.
func checkTable(name string, at pos, ps *problems) bool {
	if KnownTable(name) {
		return true
	}
	hint := "iptables has the tables filter, nat, mangle, raw and security"
	if guess := closestName(name, tableNames); guess != "" {
		hint = fmt.Sprintf("did you mean %s? %s", guess, hint)
	}
	ps.add(at, hint, "unknown table %q", name)
	return false
}

// closestName returns the candidate equal to name but for case, or else one a typo
// away (one letter for short names, two for longer ones); "" if there is none.
func closestName(name string, candidates []string) string {
	limit := 1
	if len(name) > 6 {
		limit = 2
	}
	best, bestDistance := "", limit+1
	for _, c := range candidates {
		if strings.EqualFold(c, name) {
			return c
		}
		if d := wordDistance(strings.Split(name, ""), strings.Split(c, "")); d < bestDistance {
			best, bestDistance = c, d
		}
	}
	return best
}

// tablesWithBuiltin lists the tables that have name as a built-in chain.
func tablesWithBuiltin(name string) []string {
	var out []string
	for _, t := range tableNames {
		if BuiltinChain(t, name) {
			out = append(out, t)
		}
	}
	return out
}
