package rules

import (
	"fmt"
	"slices"
	"strings"
)

// applier applies commands to a ruleset, checking each against the state so far.
type applier struct {
	rs      *Ruleset
	ps      *problems
	restore bool
	// save reads iptables-save output: counters are kept, rules are not checked.
	save bool
	// written maps the origin of every rule the text created to the position of its
	// target, so end checks tell the author's rules from the base rules.
	written map[Origin]pos
}

func (a *applier) apply(c command) {
	if !checkTable(c.table, c.tableAt, a.ps) {
		return
	}
	switch c.op {
	case opAppend, opInsert, opReplace:
		a.addRule(c)
	case opDelete:
		a.deleteRule(c)
	case opNew:
		a.newChain(c)
	case opDeclare:
		a.declareChain(c)
	case opDelChn:
		a.deleteChain(c)
	case opFlush:
		a.flush(c)
	case opPolicy:
		a.setPolicy(c)
	case opRename:
		a.renameChain(c)
	}
}

// origin is the lab-file position of a command; a dump has none.
func (a *applier) origin(c command) Origin {
	if a.save {
		return Origin{}
	}
	return a.ps.origin(c.at)
}

// chain returns the named chain as it is at this point, or nil. Built-in chains always
// exist: with create, their table is added to the ruleset; without, a detached empty
// chain stands in for a table the ruleset does not have yet.
func (a *applier) chain(table, name string, create bool) *Chain {
	if t := a.rs.Lookup(table); t != nil {
		if c := t.Lookup(name); c != nil {
			return c
		}
	}
	if !BuiltinChain(table, name) {
		return nil
	}
	if create {
		return a.rs.Table(table).Lookup(name)
	}
	return &Chain{Name: name, Policy: "ACCEPT"}
}

func (a *applier) addRule(c command) {
	ch := a.chain(c.table, c.chain, true)
	if ch == nil {
		a.missingChain(c.table, c.chain, c.chainAt)
		return
	}
	if !a.save && !checkRuleArgs(c.args, c.argAt, a.ps) {
		return
	}
	r := Rule{Args: slices.Clone(c.args), Origin: a.origin(c)}
	if a.save {
		r.Packets, r.Bytes = c.packets, c.bytes
	}
	switch c.op {
	case opAppend:
		ch.Rules = append(ch.Rules, r)
	case opInsert:
		position := max(c.num, 1)
		if position > len(ch.Rules)+1 {
			a.ps.add(c.numAt, numberHint(ch, "leave the number out to insert at the top"),
				"cannot insert at position %d: chain %s has %s", position, ch.Name, plural(len(ch.Rules), "rule"))
			return
		}
		ch.Rules = slices.Insert(ch.Rules, position-1, r)
	case opReplace:
		if c.num > len(ch.Rules) {
			a.ps.add(c.numAt, numberHint(ch, "use -A to add the rule"), "cannot replace rule %d: chain %s has %s", c.num, ch.Name, plural(len(ch.Rules), "rule"))
			return
		}
		ch.Rules[c.num-1] = r
	}
	at := c.at
	if i, _, _ := findTarget(c.args); i >= 0 {
		at = c.argAt[min(i+1, len(c.argAt)-1)]
	}
	a.written[r.Origin] = at
}

func (a *applier) deleteRule(c command) {
	ch := a.chain(c.table, c.chain, false)
	if ch == nil {
		a.missingChain(c.table, c.chain, c.chainAt)
		return
	}
	if c.num > 0 {
		if c.num > len(ch.Rules) {
			a.ps.add(c.numAt, numberHint(ch, "nothing to delete: remove the line"), "cannot delete rule %d: chain %s has %s", c.num, ch.Name, plural(len(ch.Rules), "rule"))
			return
		}
		ch.Rules = slices.Delete(ch.Rules, c.num-1, c.num)
		return
	}
	for i, r := range ch.Rules {
		if sameRule(r.Args, c.args) {
			ch.Rules = slices.Delete(ch.Rules, i, i+1)
			return
		}
	}
	a.ps.add(c.opAt, a.closestHint(c, ch), "no rule %q in chain %s of table %s to delete", Join(c.args), ch.Name, c.table)
}

// closestHint helps find the rule a -D meant: the same rule elsewhere, or the closest
// rule of the chain.
func (a *applier) closestHint(c command, ch *Chain) string {
	for _, t := range a.rs.Tables {
		for _, other := range t.Chains {
			if other == ch {
				continue
			}
			for _, r := range other.Rules {
				if sameRule(r.Args, c.args) {
					return fmt.Sprintf("that rule is in chain %s of table %s%s", other.Name, t.Name, originNote(r.Origin))
				}
			}
		}
	}
	i := closestRule(ch.Rules, c.args)
	if i < 0 {
		return fmt.Sprintf("chain %s has no rules at this point; -D deletes a rule that an earlier line or a generator wrote", ch.Name)
	}
	r := ch.Rules[i]
	hint := fmt.Sprintf("the closest rule in %s is %q%s", ch.Name, r.Spec(), originNote(r.Origin))
	if sameWords(r.Args, c.args) {
		hint += "; it has the same options in another order: write them in that order"
	}
	return hint
}

// originNote says where a rule comes from, as " (line 3)" or " (docker)"; "" if unknown.
func originNote(o Origin) string {
	if o == (Origin{}) {
		return ""
	}
	return " (" + o.String() + ")"
}

func sameWords(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// numberHint says which rule numbers a chain has at this point.
func numberHint(ch *Chain, ifEmpty string) string {
	if len(ch.Rules) == 0 {
		return fmt.Sprintf("chain %s is empty at this point; %s", ch.Name, ifEmpty)
	}
	return fmt.Sprintf("rules of %s are numbered 1 to %d at this point", ch.Name, len(ch.Rules))
}

// missingChain reports a chain that does not exist, guessing what the author meant.
func (a *applier) missingChain(table, name string, at pos) {
	msg := fmt.Sprintf("chain %s does not exist in table %s", name, table)
	if builtinIn := tablesWithBuiltin(name); len(builtinIn) > 0 {
		want := builtinIn[0]
		if slices.Contains(builtinIn, "nat") {
			want = "nat"
		}
		hint := fmt.Sprintf("the %s table has no %s chain (its built-in chains are %s); %s is in %s",
			table, name, strings.Join(builtinChains[table], ", "), name, orList(builtinIn))
		if table == "filter" && !a.restore {
			hint = fmt.Sprintf("did you forget -t %s? %s is a chain of the %s table", want, name, orList(builtinIn))
		}
		a.ps.add(at, hint, "%s", msg)
		return
	}
	for _, t := range a.rs.Tables {
		if c := t.Lookup(name); c != nil && t.Name != table {
			a.ps.add(at, fmt.Sprintf("%s is a chain of the %s table, not of %s; %s", name, t.Name, table, a.declareAdvice(table, name)), "%s", msg)
			return
		}
	}
	var names []string
	if t := a.rs.Lookup(table); t != nil {
		for _, c := range t.Chains {
			names = append(names, c.Name)
		}
	}
	if guess := closestName(name, append(names, builtinChains[table]...)); guess != "" {
		a.ps.add(at, "chain names are case-sensitive: did you mean "+guess+"?", "%s", msg)
		return
	}
	a.ps.add(at, a.declareAdvice(table, name), "%s", msg)
}

// declareAdvice says how to create a user chain in the text's form.
func (a *applier) declareAdvice(table, name string) string {
	if a.restore {
		return fmt.Sprintf("declare it first with a line :%s - [0:0] after *%s", name, table)
	}
	if table == "filter" {
		return "declare it first with iptables -N " + name
	}
	return fmt.Sprintf("declare it first with iptables -t %s -N %s", table, name)
}
