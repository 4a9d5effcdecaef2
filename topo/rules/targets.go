package rules

import (
	"slices"
	"strings"
)

// verdicts are the targets built into iptables itself.
var verdicts = []string{"ACCEPT", "DROP", "RETURN"}

// extensionTargets are the IPv4 target extensions of iptables 1.8 and Linux 6.x.
var extensionTargets = []string{
	"AUDIT", "CHECKSUM", "CLASSIFY", "CONNMARK", "CONNSECMARK", "CT", "DNAT", "DSCP", "ECN",
	"HMARK", "IDLETIMER", "LED", "LOG", "MARK", "MASQUERADE", "NETMAP", "NFLOG", "NFQUEUE",
	"NOTRACK", "RATEEST", "REDIRECT", "REJECT", "SECMARK", "SET", "SNAT", "SYNPROXY",
	"TCPMSS", "TCPOPTSTRIP", "TEE", "TOS", "TPROXY", "TRACE", "TTL",
}

// unusableTargets exist in some iptables, but not for labctl: say why and what instead.
var unusableTargets = map[string][2]string{
	"QUEUE":     {"QUEUE is obsolete and iptables-nft refuses it", "use NFQUEUE"},
	"ULOG":      {"ULOG was removed from Linux", "use NFLOG"},
	"CLUSTERIP": {"CLUSTERIP was removed from Linux 6.3", "spread connections with -m statistic and DNAT instead"},
	"HL":        {"HL works on IPv6 only; " + ipv4Only, "use TTL, its IPv4 form"},
	"DNPT":      {"DNPT works on IPv6 only; " + ipv4Only, "use NETMAP for IPv4"},
	"SNPT":      {"SNPT works on IPv6 only; " + ipv4Only, "use NETMAP for IPv4"},
}

// targetPlaces says where the kernel accepts a target: in which tables (nil: any) and
// from which built-in chains (nil: any), also when reached through user chains. The
// table was recorded from iptables-nft and iptables-legacy on Linux 6.18 (see
// testdata/kernel); where the two differ, labctl takes the stricter one, so a ruleset
// it accepts loads with both.
var targetPlaces = map[string]struct{ tables, chains []string }{
	"DNAT":        {[]string{"nat"}, []string{"PREROUTING", "OUTPUT"}},
	"REDIRECT":    {[]string{"nat"}, []string{"PREROUTING", "OUTPUT"}},
	"SNAT":        {[]string{"nat"}, []string{"POSTROUTING", "INPUT"}},
	"MASQUERADE":  {[]string{"nat"}, []string{"POSTROUTING"}},
	"NETMAP":      {[]string{"nat"}, nil},
	"TPROXY":      {[]string{"mangle"}, []string{"PREROUTING"}},
	"CT":          {[]string{"raw"}, nil},
	"NOTRACK":     {[]string{"raw"}, nil},
	"TRACE":       {[]string{"raw"}, nil},
	"REJECT":      {[]string{"filter"}, []string{"INPUT", "FORWARD", "OUTPUT"}},
	"TTL":         {[]string{"mangle"}, nil},
	"TOS":         {[]string{"mangle"}, nil},
	"DSCP":        {[]string{"mangle"}, nil},
	"ECN":         {[]string{"mangle"}, nil},
	"CHECKSUM":    {[]string{"mangle"}, nil},
	"TCPOPTSTRIP": {[]string{"mangle"}, nil},
	"CONNSECMARK": {[]string{"mangle", "security"}, nil},
	"SECMARK":     {[]string{"mangle", "security"}, nil},
	"CLASSIFY":    {nil, []string{"FORWARD", "OUTPUT", "POSTROUTING"}},
	"SYNPROXY":    {nil, []string{"INPUT", "FORWARD"}},
	"DROP":        {[]string{"raw", "mangle", "filter", "security"}, nil},
}

// knownTarget reports whether name is a target labctl can load (not a chain).
func knownTarget(name string) bool {
	return slices.Contains(verdicts, name) || slices.Contains(extensionTargets, name)
}

// reservedName reports whether iptables refuses name for a chain because a target has it.
func reservedName(name string) bool {
	_, unusable := unusableTargets[name]
	return knownTarget(name) || unusable
}

// targetTableProblem says why target cannot be used in table, or "" if it can.
func targetTableProblem(target, table string) (msg, hint string) {
	place, ok := targetPlaces[target]
	if !ok || place.tables == nil || slices.Contains(place.tables, table) {
		return "", ""
	}
	if target == "DROP" {
		return "the nat table is not for filtering: the kernel refuses DROP there",
			"drop the packet in the filter table instead (e.g. iptables -A FORWARD ... -j DROP)"
	}
	return target + " cannot be used in the " + table + " table",
		target + " works only in the " + orList(place.tables) + " table; write the rule with -t " + place.tables[0]
}

// targetChains lists the built-in chains target may be reached from; nil means any.
func targetChains(target string) []string { return targetPlaces[target].chains }

// orList writes a, b or c.
func orList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// allTargets is every target name, for suggestions.
func allTargets() []string {
	return append(slices.Clone(verdicts), extensionTargets...)
}
