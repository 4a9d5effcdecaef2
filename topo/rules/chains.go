package rules

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// maxChainName is the longest chain name iptables accepts.
const maxChainName = 28

func (a *applier) newChain(c command) {
	if !a.checkChainName(c.chain, c.chainAt) {
		return
	}
	if a.chain(c.table, c.chain, false) != nil {
		a.ps.add(c.chainAt, "remove this line; to empty the chain use -F "+c.chain, "chain %s already exists in table %s", c.chain, c.table)
		return
	}
	a.rs.Table(c.table).Chain(c.chain, a.origin(c))
}

// declareChain applies a restore-form chain line the way iptables-restore --noflush
// does: it sets a built-in chain's policy, and creates a user chain or empties it.
func (a *applier) declareChain(c command) {
	if BuiltinChain(c.table, c.chain) {
		ch := a.rs.Table(c.table).Lookup(c.chain)
		if c.value != "-" && a.checkPolicy(c.table, c.chain, c.value, c.valueAt) {
			ch.Policy = c.value
		}
		if a.save {
			ch.Packets, ch.Bytes = c.packets, c.bytes
		}
		return
	}
	if !a.checkChainName(c.chain, c.chainAt) {
		return
	}
	if c.value != "-" {
		hint := fmt.Sprintf("write :%s - [0:0]; only built-in chains have a policy", c.chain)
		if tables := tablesWithBuiltin(c.chain); len(tables) > 0 {
			hint = fmt.Sprintf("the %s table has no built-in chain %s (it is in %s)", c.table, c.chain, orList(tables))
		}
		a.ps.add(c.valueAt, hint, "user chain %s cannot have policy %s", c.chain, c.value)
		return
	}
	if ch := a.chain(c.table, c.chain, false); ch != nil {
		ch.Rules = nil
		return
	}
	a.rs.Table(c.table).Chain(c.chain, a.origin(c))
}

func (a *applier) deleteChain(c command) {
	t := a.rs.Lookup(c.table)
	if c.chain == "" {
		if t == nil {
			return
		}
		for _, ch := range slices.Clone(t.Chains) {
			if !ch.Builtin() && a.deletable(t, ch, c.opAt) {
				t.Chains = slices.DeleteFunc(t.Chains, func(x *Chain) bool { return x == ch })
			}
		}
		return
	}
	ch := a.chain(c.table, c.chain, false)
	switch {
	case ch == nil:
		a.missingChain(c.table, c.chain, c.chainAt)
	case BuiltinChain(c.table, c.chain):
		a.ps.add(c.chainAt, "built-in chains always exist; to remove their rules use -F "+c.chain, "cannot delete built-in chain %s", c.chain)
	case a.deletable(t, ch, c.chainAt):
		t.Chains = slices.DeleteFunc(t.Chains, func(x *Chain) bool { return x == ch })
	}
}

// deletable reports whether the kernel lets a user chain go: nothing may jump to it
// and it must be empty.
func (a *applier) deletable(t *Table, ch *Chain, at pos) bool {
	for _, from := range t.Chains {
		for _, r := range from.Rules {
			if _, target, _ := findTarget(r.Args); target == ch.Name {
				a.ps.add(at, fmt.Sprintf("delete the rules that jump to it first, e.g. -D %s %s", from.Name, r.Spec()),
					"chain %s is still used by rule %q in chain %s%s", ch.Name, r.Spec(), from.Name, originNote(r.Origin))
				return false
			}
		}
	}
	if len(ch.Rules) > 0 {
		a.ps.add(at, "empty it first with -F "+ch.Name, "chain %s still has %s", ch.Name, plural(len(ch.Rules), "rule"))
		return false
	}
	return true
}

func (a *applier) flush(c command) {
	if c.chain == "" {
		if t := a.rs.Lookup(c.table); t != nil {
			for _, ch := range t.Chains {
				ch.Rules = nil
			}
		}
		return
	}
	ch := a.chain(c.table, c.chain, false)
	if ch == nil {
		a.missingChain(c.table, c.chain, c.chainAt)
		return
	}
	ch.Rules = nil
}

func (a *applier) setPolicy(c command) {
	ch := a.chain(c.table, c.chain, false)
	switch {
	case ch == nil:
		a.missingChain(c.table, c.chain, c.chainAt)
	case !BuiltinChain(c.table, c.chain):
		a.ps.add(c.chainAt, fmt.Sprintf("a user chain returns to the chain that jumped to it; end it with a rule such as -A %s -j DROP instead", c.chain),
			"%s is a user chain; only built-in chains have a policy", c.chain)
	case a.checkPolicy(c.table, c.chain, c.value, c.valueAt):
		a.rs.Table(c.table).Lookup(c.chain).Policy = c.value
	}
}

func (a *applier) checkPolicy(table, chain, policy string, at pos) bool {
	switch {
	case policy == "ACCEPT" || policy == "DROP" && table != "nat":
		return true
	case policy == "DROP":
		a.ps.add(at, "set the policy in the filter table instead", "the nat table is not for filtering: the kernel refuses a DROP policy there")
	case strings.EqualFold(policy, "ACCEPT") || strings.EqualFold(policy, "DROP"):
		a.ps.add(at, "write it in capitals: "+strings.ToUpper(policy), "policy %q is not ACCEPT or DROP", policy)
	case policy == "REJECT":
		a.ps.add(at, fmt.Sprintf("keep the policy ACCEPT and end the chain with a rule -A %s -j REJECT", chain), "policy %q is not ACCEPT or DROP", policy)
	default:
		a.ps.add(at, "a policy is ACCEPT or DROP", "policy %q is not ACCEPT or DROP", policy)
	}
	return false
}

func (a *applier) renameChain(c command) {
	ch := a.chain(c.table, c.chain, false)
	switch {
	case ch == nil:
		a.missingChain(c.table, c.chain, c.chainAt)
		return
	case BuiltinChain(c.table, c.chain):
		a.ps.add(c.chainAt, "only user chains can be renamed", "cannot rename built-in chain %s", c.chain)
		return
	case !a.checkChainName(c.value, c.valueAt):
		return
	case a.chain(c.table, c.value, false) != nil:
		a.ps.add(c.valueAt, "choose a name no chain of the table has", "chain %s already exists in table %s", c.value, c.table)
		return
	}
	// The kernel links jumps to chains, not names: after a rename, jumps lead to the new name.
	for _, from := range a.rs.Lookup(c.table).Chains {
		for k, r := range from.Rules {
			if i, target, _ := findTarget(r.Args); target == c.chain {
				args := slices.Clone(r.Args)
				if name, _, inline := longOption(args[i]); inline {
					args[i] = name + "=" + c.value
				} else {
					args[i+1] = c.value
				}
				from.Rules[k].Args = args
			}
		}
	}
	ch.Name = c.value
}

// checkChainName reports a name iptables refuses for a new chain, or that a restore
// payload could not carry.
func (a *applier) checkChainName(name string, at pos) bool {
	bad := strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) || r == '"' || r == '\'' })
	switch {
	case name == "":
		a.ps.add(at, "give the chain a name", "empty chain name")
	case len(name) > maxChainName:
		a.ps.add(at, "shorten it", "chain name %s is %d characters long; iptables allows at most %d", name, len(name), maxChainName)
	case name[0] == '-' || name[0] == '!':
		a.ps.add(at, "start it with a letter", "chain name %q cannot start with %q", name, name[:1])
	case bad >= 0:
		a.ps.add(at, "use letters, digits, - and _", "chain name %q contains %q", name, []rune(name[bad:])[0])
	case reservedName(name):
		a.ps.add(at, "choose another name, e.g. MY-"+name, "chain name %s is taken by the %s target", name, name)
	default:
		return true
	}
	return false
}
