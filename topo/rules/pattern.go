package rules

import "strings"

// IsTextPattern reports whether a rule pattern is a piece of rule text (it has a
// blank or starts with -), rather than a name of a chain, target or comment.
func IsTextPattern(pattern string) bool {
	return strings.ContainsAny(pattern, " \t") || strings.HasPrefix(pattern, "-")
}

// MatchPattern reports whether a rule of chain with the given arguments (nil for the
// chain itself, e.g. its policy) matches a pattern as probes write them, where * stands
// for any text: the pattern matches the chain's name, the rule's target (-j, -g) or its
// comment; a text pattern (see IsTextPattern) also matches when the rule's
// iptables-save line ("-A CHAIN ARGS") contains it.
func MatchPattern(pattern, chain string, args []string) bool {
	if glob(pattern, chain) {
		return true
	}
	if args == nil {
		return false
	}
	spec := ParseSpec(args)
	if (spec.Target != "" && glob(pattern, spec.Target)) || (spec.Comment != "" && glob(pattern, spec.Comment)) {
		return true
	}
	return IsTextPattern(pattern) && glob("*"+strings.TrimSpace(pattern)+"*", "-A "+chain+" "+Join(args))
}

// glob matches s against pattern, in which * stands for any text (also / and blanks,
// which comments such as "default/web:http" contain).
func glob(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, mid := range parts[1 : len(parts)-1] {
		i := strings.Index(s, mid)
		if i < 0 {
			return false
		}
		s = s[i+len(mid):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}
