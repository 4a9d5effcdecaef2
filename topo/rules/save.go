package rules

import (
	"errors"
	"fmt"
	"slices"
)

// ParseSave reads the output of iptables-save -c (iptables-save without -c works too)
// into a Ruleset whose rules and built-in chains carry their counters. Rules keep the
// words iptables-save printed, which are normalised: -s 10.0.0.1 reads -s 10.0.0.1/32,
// -p tcp comes before -m tcp, --or-mark reads --set-xmark, and so on. They are not
// checked: the kernel held them.
func ParseSave(dump []byte) (*Ruleset, error) {
	text := string(dump)
	ps := newProblems(nil)
	a := &applier{rs: &Ruleset{}, ps: ps, restore: true, save: true, written: map[Origin]pos{}}
	parseRestoreForm(text, ps, func(c command) {
		if c.op != opAppend && c.op != opDeclare {
			ps.add(c.opAt, "pass iptables-save output as printed: its rules are -A lines and its chains :NAME lines", "%s is not an iptables-save line", c.op)
			return
		}
		a.apply(c)
	})
	list := ps.sorted()
	if len(list) == 0 {
		return a.rs, nil
	}
	errs := make([]error, 0, len(list))
	for _, p := range list {
		msg := fmt.Sprintf("iptables-save output line %d: %s", p.Line, p.Msg)
		if p.Hint != "" {
			msg += " (" + p.Hint + ")"
		}
		errs = append(errs, errors.New(msg))
	}
	return nil, errors.Join(errs...)
}

// Hit is a rule, or a built-in chain's policy, whose counters grew between two dumps.
type Hit struct {
	Table, Chain string
	// Index is the rule's 1-based number in its chain in the later dump, as
	// iptables -L --line-numbers shows it; 0 means the chain's policy, met by packets
	// that reached the end of a built-in chain.
	Index int
	// Rule is the rule as the later dump has it (the iptables-save form); zero for a
	// policy hit.
	Rule Rule
	// Packets and Bytes are how much the counters grew.
	Packets, Bytes uint64
}

// Hits compares two dumps read with ParseSave and returns every rule and policy whose
// counters grew, in the order of after: table, chain, rule. A rule of after is matched
// with the rule of before at the same position in the same table and chain when both
// have the same words, else with the first unmatched rule of that chain with the same
// words (rules were inserted or deleted in between); a rule with no match counts from
// zero. Counters that went down were reset (the rule was replaced or zeroed), and the
// later values count as the growth. Rules compare in their iptables-save form, so
// match Hit.Rule against save output, not against the words a lab author wrote.
func Hits(before, after *Ruleset) []Hit {
	var hits []Hit
	if after == nil {
		return nil
	}
	for _, t := range after.Tables {
		for _, ch := range t.Chains {
			var old *Chain
			if before != nil {
				if bt := before.Lookup(t.Name); bt != nil {
					old = bt.Lookup(ch.Name)
				}
			}
			for i, j := range pairRules(old, ch) {
				r := ch.Rules[i]
				var was Rule
				if j >= 0 {
					was = old.Rules[j]
				}
				if p, b := growth(was.Packets, was.Bytes, r.Packets, r.Bytes); p > 0 || b > 0 {
					hits = append(hits, Hit{Table: t.Name, Chain: ch.Name, Index: i + 1, Rule: r, Packets: p, Bytes: b})
				}
			}
			if !ch.Builtin() {
				continue
			}
			var wasPackets, wasBytes uint64
			if old != nil {
				wasPackets, wasBytes = old.Packets, old.Bytes
			}
			if p, b := growth(wasPackets, wasBytes, ch.Packets, ch.Bytes); p > 0 || b > 0 {
				hits = append(hits, Hit{Table: t.Name, Chain: ch.Name, Packets: p, Bytes: b})
			}
		}
	}
	return hits
}

// pairRules returns, for each rule of after, the index of its rule in before or -1.
func pairRules(before, after *Chain) []int {
	pairs := make([]int, len(after.Rules))
	if before == nil {
		for i := range pairs {
			pairs[i] = -1
		}
		return pairs
	}
	used := make([]bool, len(before.Rules))
	for i, r := range after.Rules {
		pairs[i] = -1
		if i < len(before.Rules) && slices.Equal(before.Rules[i].Args, r.Args) {
			pairs[i], used[i] = i, true
		}
	}
	for i, r := range after.Rules {
		if pairs[i] >= 0 {
			continue
		}
		for j, b := range before.Rules {
			if !used[j] && slices.Equal(b.Args, r.Args) {
				pairs[i], used[j] = j, true
				break
			}
		}
	}
	return pairs
}

// growth is how much counters grew; counters that went down were reset.
func growth(packets0, bytes0, packets1, bytes1 uint64) (uint64, uint64) {
	if packets1 < packets0 || bytes1 < bytes0 {
		return packets1, bytes1
	}
	return packets1 - packets0, bytes1 - bytes0
}
