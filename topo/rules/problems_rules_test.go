package rules

import (
	"strings"
	"testing"
)

// TestProblemsRules checks the problems Parse reports about rule arguments, targets and where targets may be used.
func TestProblemsRules(t *testing.T) {
	runProblemCases(t, []problemCase{
		{
			name: "option without value at the end",
			text: "iptables -A INPUT -j ACCEPT -s",
			want: []Problem{
				{Line: 1, Col: 29, Msg: "option -s needs a value",
					Hint: "write its value right after it"},
			},
		},
		{
			name: "option followed by an option",
			text: "iptables -A INPUT -s -j ACCEPT",
			want: []Problem{
				{Line: 1, Col: 19, Msg: `option -s needs a value, but "-j" follows`,
					Hint: "write the value right after the option"},
			},
		},
		{
			name: "intrapositioned negation",
			text: "iptables -A INPUT -s ! 10.0.0.1 -j ACCEPT",
			want: []Problem{
				{Line: 1, Col: 19, Msg: `option -s needs a value, but "!" follows`,
					Hint: "to negate, put ! before the option: ! -s VALUE"},
			},
		},
		{
			name: "stray target word",
			text: "iptables -A INPUT -p tcp --dport 22 ACCEPT",
			want: []Problem{
				{Line: 1, Col: 37, Msg: `unexpected "ACCEPT" in the rule`,
					Hint: "to send packets to ACCEPT, write -j ACCEPT"},
			},
		},
		{
			name: "stray word",
			text: "iptables -A INPUT -s 10.0.0.1 10.0.0.2 -j ACCEPT",
			want: []Problem{
				{Line: 1, Col: 31, Msg: `unexpected "10.0.0.2" in the rule`,
					Hint: "every value belongs to an option (e.g. -s 10.0.0.0/8); look for a missing option or an extra space"},
			},
		},
		{
			name: "unknown option takes its value",
			text: "iptables -A INPUT -m hashlimit --hashlimit-srcmask 24 --hashlimit-above 5/s --hashlimit-name x -j DROP",
		},
		{
			name: "negation without an option",
			text: "iptables -A INPUT -j ACCEPT !",
			want: []Problem{
				{Line: 1, Col: 29, Msg: "! is not followed by an option",
					Hint: "put ! right before the option it negates, e.g. ! -s 10.0.0.0/8"},
			},
		},
		{
			name: "two targets",
			text: "iptables -A INPUT -j LOG -j DROP",
			want: []Problem{
				{Line: 1, Col: 26, Msg: "two targets in one rule: LOG and DROP",
					Hint: "a rule has one target; split it into two rules"},
			},
		},
		{
			name: "port without protocol",
			text: "iptables -A INPUT --dport 22 -j ACCEPT",
			want: []Problem{
				{Line: 1, Col: 19, Msg: "--dport needs a protocol",
					Hint: "add -p tcp or -p udp before it; iptables learns --dport from the protocol"},
			},
		},
		{
			name: "icmp type without protocol",
			text: "iptables -A INPUT -p tcp --icmp-type echo-request -j ACCEPT",
			want: []Problem{
				{Line: 1, Col: 26, Msg: "--icmp-type needs a protocol",
					Hint: "add -p icmp before it; iptables learns --icmp-type from the protocol"},
			},
		},
		{
			name: "ports without multiport",
			text: "iptables -A INPUT -p tcp --dports 80,443 -j ACCEPT",
			want: []Problem{
				{Line: 1, Col: 26, Msg: "--dports needs -m multiport",
					Hint: "add -m multiport before it (or use --dport for one port)"},
			},
		},
		{
			name: "target option before target",
			text: "iptables -t nat -A PREROUTING -p tcp --to-destination 10.0.0.2 -j DNAT",
			want: []Problem{
				{Line: 1, Col: 38, Msg: "--to-destination belongs to the DNAT target",
					Hint: "write it after -j DNAT; target options follow their target"},
			},
		},
		{
			name: "DNAT without address",
			text: "iptables -t nat -A PREROUTING -p tcp --dport 80 -j DNAT",
			want: []Problem{
				{Line: 1, Col: 49, Msg: "DNAT needs --to-destination",
					Hint: "add --to-destination ADDRESS after -j DNAT"},
			},
		},
		{
			name: "to-ports without protocol",
			text: "iptables -t nat -A PREROUTING -j REDIRECT --to-ports 8080",
			want: []Problem{
				{Line: 1, Col: 31, Msg: "--to-ports needs a protocol with ports",
					Hint: "add -p tcp or -p udp to the rule"},
			},
		},
		{
			name: "comment too long",
			text: "iptables -A INPUT -m comment --comment " + strings.Repeat("x", 256) + " -j ACCEPT",
			want: []Problem{
				{Line: 1, Col: 40, Msg: "comment is 256 bytes long; iptables keeps only 255",
					Hint: "shorten the comment; probes that match by comment would not find this rule"},
			},
		},
		{
			name: "line break in an argument",
			text: "iptables -A INPUT -m comment --comment 'two\nlines' -j ACCEPT",
			want: []Problem{
				{Line: 1, Col: 40, Msg: `argument "two\nlines" cannot be loaded`,
					Hint: "keep each argument on one line, without control characters: iptables-restore reads one rule per line"},
			},
		},
		{
			name: "unknown target",
			text: "iptables -A INPUT -j WEB",
			want: []Problem{
				{Line: 1, Col: 22, Msg: "unknown target WEB: no such target or chain in table filter",
					Hint: "declare it first with iptables -N WEB, or use a target such as ACCEPT, DROP, RETURN, DNAT, SNAT or MASQUERADE"},
			},
		},
		{
			name: "lower-case target",
			text: "iptables -A INPUT -j accept",
			want: []Problem{
				{Line: 1, Col: 22, Msg: "unknown target accept: no such target or chain in table filter",
					Hint: "targets are written in capitals: ACCEPT"},
			},
		},
		{
			name: "target is a typo of a chain",
			text: "iptables -N WEB-IN\niptables -A INPUT -j WEB-INN",
			want: []Problem{
				{Line: 2, Col: 22, Msg: "unknown target WEB-INN: no such target or chain in table filter",
					Hint: "did you mean WEB-IN?"},
			},
		},
		{
			name: "target is a chain of another table",
			text: "iptables -t nat -N WEB\niptables -A INPUT -j WEB",
			want: []Problem{
				{Line: 2, Col: 22, Msg: "unknown target WEB: no such target or chain in table filter",
					Hint: "WEB is a chain of the nat table; a rule can only jump to chains of its own table"},
			},
		},
		{
			name: "jump to built-in chain",
			text: "iptables -A FORWARD -j INPUT",
			want: []Problem{
				{Line: 1, Col: 24, Msg: "cannot jump to built-in chain INPUT",
					Hint: "jump to a user chain instead (create one with -N)"},
			},
		},
		{
			name: "obsolete target",
			text: "iptables -A INPUT -j QUEUE",
			want: []Problem{
				{Line: 1, Col: 22, Msg: "QUEUE is obsolete and iptables-nft refuses it",
					Hint: "use NFQUEUE"},
			},
		},
		{
			name: "ipv6 target",
			text: "iptables -t mangle -A POSTROUTING -j HL --hl-set 64",
			want: []Problem{
				{Line: 1, Col: 38, Msg: "HL works on IPv6 only; labctl v1 loads IPv4 iptables rules only",
					Hint: "use TTL, its IPv4 form"},
			},
		},
		{
			name: "target in wrong table",
			text: "iptables -A PREROUTING -t nat -p tcp -j TPROXY --on-port 3128",
			want: []Problem{
				{Line: 1, Col: 41, Msg: "TPROXY cannot be used in the nat table",
					Hint: "TPROXY works only in the mangle table; write the rule with -t mangle"},
			},
		},
		{
			name: "target in wrong table 2",
			text: "iptables -A FORWARD -j MASQUERADE",
			want: []Problem{
				{Line: 1, Col: 24, Msg: "MASQUERADE cannot be used in the filter table",
					Hint: "MASQUERADE works only in the nat table; write the rule with -t nat"},
			},
		},
		{
			name: "DROP in nat",
			text: "iptables -t nat -A PREROUTING -s 10.0.0.0/8 -j DROP",
			want: []Problem{
				{Line: 1, Col: 48, Msg: "the nat table is not for filtering: the kernel refuses DROP there",
					Hint: "drop the packet in the filter table instead (e.g. iptables -A FORWARD ... -j DROP)"},
			},
		},
		{
			name: "MASQUERADE in PREROUTING",
			text: "iptables -t nat -A PREROUTING -j MASQUERADE",
			want: []Problem{
				{Line: 1, Col: 34, Msg: "MASQUERADE cannot be used in chain PREROUTING",
					Hint: "MASQUERADE works only from POSTROUTING: source NAT happens as packets leave (POSTROUTING)"},
			},
		},
		{
			name: "DNAT in POSTROUTING",
			text: "*nat\n-A POSTROUTING -p tcp --dport 80 -j DNAT --to-destination 10.0.0.2\nCOMMIT",
			want: []Problem{
				{Line: 2, Col: 37, Msg: "DNAT cannot be used in chain POSTROUTING",
					Hint: "DNAT works only from PREROUTING or OUTPUT: destination NAT happens before routing (PREROUTING) or for local packets (OUTPUT)"},
			},
		},
		{
			name: "REJECT in raw",
			text: "iptables -t raw -A PREROUTING -j REJECT",
			want: []Problem{
				{Line: 1, Col: 34, Msg: "REJECT cannot be used in the raw table",
					Hint: "REJECT works only in the filter table; write the rule with -t filter"},
			},
		},
		{
			name: "TPROXY in OUTPUT",
			text: "iptables -t mangle -A OUTPUT -p tcp -j TPROXY --on-port 3128",
			want: []Problem{
				{Line: 1, Col: 40, Msg: "TPROXY cannot be used in chain OUTPUT",
					Hint: "TPROXY works only from PREROUTING"},
			},
		},
		{
			name: "SNAT through a user chain",
			text: "iptables -t nat -N LAB\niptables -t nat -A LAB -j SNAT --to-source 10.0.0.1\niptables -t nat -A PREROUTING -j LAB\niptables -t nat -A POSTROUTING -j LAB",
			want: []Problem{
				{Line: 2, Col: 27, Msg: "SNAT in chain LAB cannot be used there: LAB is reached from PREROUTING",
					Hint: "SNAT works only from POSTROUTING or INPUT: source NAT happens as packets leave (POSTROUTING)"},
			},
		},
		{
			name: "author's jump into a generated DNAT chain",
			text: "iptables -t nat -A POSTROUTING -j KUBE-SERVICES",
			base: "*nat\n:KUBE-SERVICES - [0:0]\n-A PREROUTING -j KUBE-SERVICES\n-A KUBE-SERVICES -d 10.96.0.1/32 -p tcp --dport 443 -j DNAT --to-destination 192.168.1.2:6443\nCOMMIT",
			want: []Problem{
				{Line: 1, Col: 35, Msg: "chain KUBE-SERVICES, reached through this jump from POSTROUTING, has a DNAT rule (generator)",
					Hint: "DNAT works only from PREROUTING or OUTPUT: destination NAT happens before routing (PREROUTING) or for local packets (OUTPUT); jump to KUBE-SERVICES only from there"},
			},
		},
		{
			name: "unreached user chain is not checked for chains",
			text: "iptables -t nat -N LAB\niptables -t nat -A LAB -j DNAT --to-destination 10.0.0.1",
		},
		{
			name: "jump loop",
			text: "iptables -N A\niptables -N B\niptables -A A -j B\niptables -A B -g A\niptables -A INPUT -j A",
			want: []Problem{
				{Line: 3, Col: 18, Msg: "jump loop: A -> B -> A",
					Hint: "the kernel refuses chains that jump back into themselves; remove one of these jumps"},
			},
		},
		{
			name: "unreached jump loop is not checked",
			text: "iptables -N A\niptables -N B\niptables -A A -j B\niptables -A B -j A",
		},
	})
}
