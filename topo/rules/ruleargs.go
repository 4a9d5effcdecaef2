package rules

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// portProtocols are the protocols whose matches take --dport and --sport.
var portProtocols = []string{"tcp", "udp", "udplite", "sctp", "dccp"}

// protocolNeeds lists options that need a -p before them, with the protocols that do.
var protocolNeeds = map[string][]string{
	"--dport": portProtocols, "--sport": portProtocols,
	"--destination-port": portProtocols, "--source-port": portProtocols,
	"--dports": portProtocols, "--sports": portProtocols, "--ports": portProtocols,
	"--destination-ports": portProtocols, "--source-ports": portProtocols,
	"--tcp-flags": {"tcp"}, "--syn": {"tcp"}, "--tcp-option": {"tcp"},
	"--icmp-type": {"icmp"},
}

// targetOptions lists target options with the targets that own them; they are only
// understood after -j TARGET.
var targetOptions = map[string][]string{
	"--to-destination": {"DNAT"}, "--to-source": {"SNAT"},
	"--to-ports": {"MASQUERADE", "REDIRECT"}, "--reject-with": {"REJECT"},
	"--log-prefix": {"LOG"}, "--log-level": {"LOG"},
}

// requiredOptions lists targets that refuse to load without an option.
var requiredOptions = map[string]string{"DNAT": "--to-destination", "SNAT": "--to-source", "NETMAP": "--to"}

// maxComment is the longest comment the kernel stores; iptables cuts longer ones.
const maxComment = 255

// checkRuleArgs reports what iptables would refuse in a rule before asking the kernel:
// values left out, words that belong to no option, options used before what defines
// them. It returns false if it found a problem: iptables would not add the rule.
func checkRuleArgs(args []string, at []pos, ps *problems) bool {
	before := len(ps.list)
	proto, target, multiport := "", "", false
	// afterUnknown is set after an option labctl does not know: the next plain word
	// may be its value, so it is not reported.
	afterUnknown := false
	for i, word := range args {
		if !loadable(word) {
			ps.add(at[i], "keep each argument on one line, without control characters: iptables-restore reads one rule per line", "argument %q cannot be loaded", word)
			return false
		}
	}
	for i := 0; i < len(args); i++ {
		word := args[i]
		switch {
		case word == "!":
			if i+1 == len(args) || !strings.HasPrefix(args[i+1], "-") {
				ps.add(at[i], "put ! right before the option it negates, e.g. ! -s 10.0.0.0/8", "! is not followed by an option")
			}
			continue
		case strings.HasPrefix(word, "#") && !afterUnknown:
			ps.add(at[i], "put the comment on a line of its own, or use -m comment --comment \"TEXT\"", "iptables has no comments after a rule")
			return false
		case !strings.HasPrefix(word, "-") || word == "-":
			if !afterUnknown {
				hint := "every value belongs to an option (e.g. -s 10.0.0.0/8); look for a missing option or an extra space"
				if knownTarget(word) {
					hint = "to send packets to " + word + ", write -j " + word
				}
				ps.add(at[i], hint, "unexpected %q in the rule", word)
			}
			afterUnknown = false
			continue
		}
		_, known := ruleValueCounts[word]
		afterUnknown = !known
		n := valueCount(word)
		if i+n >= len(args) {
			ps.add(at[i], "write its value right after it", "option %s needs %s", word, plural(n, "value"))
			break
		}
		value := args[i+1 : i+1+n]
		if n > 0 && !freeText[word] && (strings.HasPrefix(value[0], "-") && len(value[0]) > 1 || value[0] == "!") {
			hint := "write the value right after the option"
			if value[0] == "!" {
				hint = "to negate, put ! before the option: ! " + word + " VALUE"
			}
			ps.add(at[i], hint, "option %s needs a value, but %q follows", word, value[0])
			if value[0] == "!" {
				i += n + 1
			}
			continue
		}
		switch word {
		case "-p", "--protocol":
			if i == 0 || args[i-1] != "!" {
				p := strings.ToLower(value[0])
				proto = cmpOr(protocolNumbers[p], p)
			}
		case "-m", "--match":
			multiport = multiport || value[0] == "multiport"
		case "-j", "--jump", "-g", "--goto":
			if target != "" {
				ps.add(at[i], "a rule has one target; split it into two rules", "two targets in one rule: %s and %s", target, value[0])
			}
			target = value[0]
		case "--comment":
			if len(value[0]) > maxComment {
				ps.add(at[i+1], "shorten the comment; probes that match by comment would not find this rule", "comment is %d bytes long; iptables keeps only %d", len(value[0]), maxComment)
			}
		}
		checkOptionContext(word, proto, target, multiport, at[i], ps)
		if n == 1 {
			checkValue(word, value[0], at[i+1], ps)
		}
		i += n
	}
	checkTargetNeeds(args, target, proto, at, ps)
	return len(ps.list) == before
}

// loadable reports whether an argument can be written into a restore payload line.
func loadable(word string) bool {
	return utf8.ValidString(word) && strings.IndexFunc(word, func(r rune) bool { return r != '\t' && unicode.IsControl(r) }) < 0
}

// checkOptionContext reports an option that iptables does not know yet at its place:
// a port before -p tcp, a target option before its -j.
func checkOptionContext(word, proto, target string, multiport bool, at pos, ps *problems) {
	if protos, ok := protocolNeeds[word]; ok && !slices.Contains(protos, proto) {
		example := "-p " + protos[0]
		if len(protos) > 1 {
			example += " or -p " + protos[1]
		}
		ps.add(at, "add "+example+" before it; iptables learns "+word+" from the protocol", "%s needs a protocol", word)
		return
	}
	if strings.HasSuffix(word, "ports") && protocolNeeds[word] != nil && !multiport {
		ps.add(at, "add -m multiport before it (or use --"+strings.TrimSuffix(strings.TrimPrefix(word, "--"), "s")+" for one port)", "%s needs -m multiport", word)
		return
	}
	if owners, ok := targetOptions[word]; ok && !slices.Contains(owners, target) {
		ps.add(at, "write it after -j "+owners[0]+"; target options follow their target", "%s belongs to the %s target", word, orList(owners))
	}
}

// checkTargetNeeds reports options a target cannot do without.
func checkTargetNeeds(args []string, target, proto string, at []pos, ps *problems) {
	i, _, _ := findTarget(args)
	if i < 0 {
		return
	}
	if need, ok := requiredOptions[target]; ok && !slices.Contains(args, need) {
		ps.add(at[i], "add "+need+" ADDRESS after -j "+target, "%s needs %s", target, need)
	}
	if slices.Contains(args, "--to-ports") && !slices.Contains([]string{"tcp", "udp", "sctp", "dccp"}, proto) {
		ps.add(at[i], "add -p tcp or -p udp to the rule", "--to-ports needs a protocol with ports")
	}
}

func plural(n int, noun string) string {
	switch n {
	case 0:
		return "no " + noun + "s"
	case 1:
		return "a " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
