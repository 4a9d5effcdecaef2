package rules

import (
	"net/netip"
	"slices"
	"strings"
)

// RuleSpec is a rule's arguments split the way probes match rules: by target, by
// comment, or by the rest of the rule text.
type RuleSpec struct {
	// Target is the value of -j, or of -g when Goto is set; empty for a rule without a
	// target, which only counts packets.
	Target string
	Goto   bool
	// Comment is the text of the rule's first -m comment --comment.
	Comment string
	// Rest is the arguments in their order without the target pair (-j X) and without
	// the first comment (-m comment --comment TEXT). Target options such as
	// --to-destination stay.
	Rest []string
}

// ParseSpec splits rule arguments (as in Rule.Args) into target, comment and the rest.
func ParseSpec(args []string) RuleSpec {
	var s RuleSpec
	drop := make([]bool, len(args))
	if i, name, isGoto := findTarget(args); i >= 0 {
		s.Target, s.Goto = name, isGoto
		drop[i] = true
		if !strings.Contains(args[i], "=") {
			drop[i+1] = true
		}
	}
	for i := 0; i < len(args); i++ {
		if args[i] == "--comment" && i+1 < len(args) {
			s.Comment = args[i+1]
			drop[i], drop[i+1] = true, true
			if i >= 2 && args[i-1] == "comment" && (args[i-2] == "-m" || args[i-2] == "--match") {
				drop[i-2], drop[i-1] = true, true
			}
			break
		}
		i += valueCount(args[i])
	}
	for i, a := range args {
		if !drop[i] {
			s.Rest = append(s.Rest, a)
		}
	}
	return s
}

// findTarget returns the index of a rule's first -j or -g word (-1 if none), the
// target it names and whether it is a goto.
func findTarget(args []string) (int, string, bool) {
	for i := 0; i < len(args); i++ {
		name, inline, hasInline := longOption(args[i])
		switch {
		case name == "-j" || name == "--jump" || name == "-g" || name == "--goto":
			isGoto := name == "-g" || name == "--goto"
			if hasInline {
				return i, inline, isGoto
			}
			if i+1 < len(args) {
				return i, args[i+1], isGoto
			}
			return -1, "", false
		}
		i += valueCount(args[i])
	}
	return -1, "", false
}

// optionAliases maps long spellings to the short ones iptables-save prints.
var optionAliases = map[string]string{
	"--source": "-s", "--src": "-s", "--destination": "-d", "--dst": "-d",
	"--protocol": "-p", "--in-interface": "-i", "--out-interface": "-o",
	"--jump": "-j", "--goto": "-g", "--match": "-m", "--fragment": "-f",
	"--set-counters": "-c", "--destination-port": "--dport", "--source-port": "--sport",
	"--destination-ports": "--dports", "--source-ports": "--sports",
}

var protocolNumbers = map[string]string{
	"1": "icmp", "6": "tcp", "17": "udp", "33": "dccp", "132": "sctp", "136": "udplite", "0": "all",
}

// canonical rewrites rule arguments into the form iptables compares when it looks for
// the rule to delete: long options become short, -s 10.0.0.1 becomes 10.0.0.1/32,
// -p TCP becomes tcp, the header fields (-s -d -p -i -o -f) compare in any order, a
// -m tcp after -p tcp is dropped, and the target with its options goes last. Matches
// keep their order, as they do in the kernel.
func canonical(args []string) []string {
	var header, matches, target []string
	proto, inTarget := "", false
	for i := 0; i < len(args); i++ {
		negated := args[i] == "!" && i+1 < len(args)
		if negated {
			i++
		}
		word := args[i]
		n := valueCount(word)
		if alias, ok := optionAliases[word]; ok {
			word = alias
		}
		values := args[i+1 : min(i+1+n, len(args))]
		i += n
		item := []string{word}
		if negated {
			item = []string{"!", word}
		}
		switch word {
		case "-s", "-d", "-p", "-i", "-o", "-f":
			value := strings.Join(values, " ")
			if word == "-p" {
				value = strings.ToLower(value)
				value = cmpOr(protocolNumbers[value], value)
				proto = value
			} else if word == "-s" || word == "-d" {
				value = canonicalAddress(value)
			}
			header = append(header, strings.Join(append(item, value), " "))
			inTarget = false
			continue
		case "-m":
			inTarget = false
			if !negated && len(values) == 1 && proto != "" && strings.ToLower(values[0]) == proto {
				continue
			}
		case "-j", "-g":
			inTarget = true
		default:
			// A match option after the target still belongs to its match.
			inTarget = inTarget && protocolNeeds[word] == nil
		}
		if inTarget {
			target = append(append(target, item...), values...)
		} else {
			matches = append(append(matches, item...), values...)
		}
	}
	slices.Sort(header)
	return slices.Concat(header, matches, target)
}

func canonicalAddress(s string) string {
	if p, err := netip.ParsePrefix(s); err == nil && p.Addr().Is4() {
		return p.Masked().String()
	}
	if a, err := netip.ParseAddr(s); err == nil && a.Is4() {
		return a.String() + "/32"
	}
	return s
}

// sameRule reports whether iptables would take a and b for the same rule.
func sameRule(a, b []string) bool { return slices.Equal(canonical(a), canonical(b)) }

// closestRule returns the index of the rule whose arguments differ least from args
// (counted in words), or -1 for an empty chain.
func closestRule(rules []Rule, args []string) int {
	want := canonical(args)
	best, bestDistance := -1, 0
	for i, r := range rules {
		if d := wordDistance(want, canonical(r.Args)); best < 0 || d < bestDistance {
			best, bestDistance = i, d
		}
	}
	return best
}

// wordDistance is the edit distance between two word lists.
func wordDistance(a, b []string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
