package rules

import (
	"testing"
)

// TestProblemsShell checks the problems Parse reports about shell syntax, programs and command options.
func TestProblemsShell(t *testing.T) {
	runProblemCases(t, []problemCase{
		{
			name: "unterminated single quote",
			text: "iptables -A INPUT -m comment --comment 'web -j ACCEPT\niptables -A INPUT -j DROP",
			want: []Problem{
				{Line: 1, Col: 40, Msg: "unterminated single quote",
					Hint: `close it with ' before the end of the command; to write a ' inside a word, quote it as "'"`},
			},
		},
		{
			name: "unterminated double quote",
			text: `iptables -A INPUT -m comment --comment "web -j ACCEPT`,
			want: []Problem{
				{Line: 1, Col: 40, Msg: "unterminated double quote",
					Hint: `close it with " before the end of the command; to write a " inside a word, write \" or quote it as '"'`},
			},
		},
		{
			name: "shell pipe",
			text: "iptables -A INPUT -j ACCEPT | tee log",
			want: []Problem{
				{Line: 1, Col: 29, Msg: `shell operator "|" is not supported`,
					Hint: "labctl reads these lines as iptables commands, not as a shell script: write one plain command per line (only ; and && may join commands)"},
			},
		},
		{
			name: "shell or",
			text: "iptables -C INPUT -j ACCEPT || iptables -A INPUT -j ACCEPT",
			want: []Problem{
				{Line: 1, Col: 29, Msg: `shell operator "||" is not supported`,
					Hint: "labctl reads these lines as iptables commands, not as a shell script: write one plain command per line (only ; and && may join commands)"},
			},
		},
		{
			name: "shell variable",
			text: "iptables -A INPUT -s $ADMIN_NET -j ACCEPT",
			want: []Problem{
				{Line: 1, Col: 22, Msg: "shell variable $ADMIN_NET is not expanded",
					Hint: "write the value itself; labctl reads these lines as iptables commands, not as a shell script"},
			},
		},
		{
			name: "command substitution",
			text: "iptables -A INPUT -s $(cat admin.txt) -j ACCEPT",
			want: []Problem{
				{Line: 1, Col: 22, Msg: "command substitution is not supported",
					Hint: "labctl reads these lines as iptables commands, not as a shell script: write one plain command per line (only ; and && may join commands)"},
			},
		},
		{
			name: "ip6tables",
			text: "ip6tables -A INPUT -j DROP",
			want: []Problem{
				{Line: 1, Col: 1, Msg: "ip6tables writes IPv6 rules; labctl v1 loads IPv4 iptables rules only",
					Hint: "remove the line, or write the IPv4 rule with iptables"},
			},
		},
		{
			name: "nft",
			text: "nft add rule ip filter input drop",
			want: []Problem{
				{Line: 1, Col: 1, Msg: "nft is not supported; labctl v1 loads IPv4 iptables rules only",
					Hint: "write the rule as an iptables command (iptables-nft stores it in nftables for you)"},
			},
		},
		{
			name: "ebtables",
			text: "sudo ebtables -A FORWARD -j DROP",
			want: []Problem{
				{Line: 1, Col: 6, Msg: "ebtables filters bridge or ARP frames; labctl v1 loads IPv4 iptables rules only",
					Hint: "remove the line"},
			},
		},
		{
			name: "iptables-restore",
			text: "iptables-restore < rules.v4",
			want: []Problem{
				{Line: 1, Col: 1, Msg: "iptables-restore is not run here",
					Hint: "paste the restore text itself, starting with a *nat or *filter line, without the command"},
				{Line: 1, Col: 18, Msg: `shell operator "<" is not supported`,
					Hint: "labctl reads these lines as iptables commands, not as a shell script: write one plain command per line (only ; and && may join commands)"},
			},
		},
		{
			name: "unknown program",
			text: "route add default gw 10.0.0.1",
			want: []Problem{
				{Line: 1, Col: 1, Msg: `unknown command "route"`,
					Hint: "start each line with iptables, or write the rules in restore form (starting with *nat or *filter)"},
			},
		},
		{
			name: "restore line in command form",
			text: "iptables -A INPUT -j ACCEPT\nCOMMIT",
			want: []Problem{
				{Line: 2, Col: 1, Msg: `"COMMIT" belongs to restore form, but this text is read as iptables commands`,
					Hint: "restore form must start with its *table line (e.g. *nat) before anything else; do not mix it with iptables commands"},
			},
		},
		{
			name: "no command",
			text: "iptables -s 10.0.0.1 -j DROP",
			want: []Problem{
				{Line: 1, Col: 1, Msg: "no command: iptables needs to be told what to do",
					Hint: "add -A CHAIN to append the rule to a chain (or use -I, -D, -N, -X, -F, -P)"},
			},
		},
		{
			name: "two commands",
			text: "iptables -A INPUT -D INPUT -j DROP",
			want: []Problem{
				{Line: 1, Col: 19, Msg: "two commands in one line: -A and -D",
					Hint: "write one iptables command per line"},
			},
		},
		{
			name: "missing chain name",
			text: "iptables -A -j DROP",
			want: []Problem{
				{Line: 1, Col: 10, Msg: "-A needs a chain name",
					Hint: "write the chain after it, e.g. -A INPUT"},
			},
		},
		{
			name: "missing table name",
			text: "iptables -t -A INPUT -j DROP",
			want: []Problem{
				{Line: 1, Col: 10, Msg: "-t needs a table name",
					Hint: "write the table after it, e.g. -t nat"},
			},
		},
		{
			name: "two tables",
			text: "iptables -t nat -t filter -A INPUT -j DROP",
			want: []Problem{
				{Line: 1, Col: 17, Msg: "two tables in one command: nat and filter",
					Hint: "give the table once"},
			},
		},
		{
			name: "bad rule number",
			text: "iptables -I INPUT first -j DROP",
			want: []Problem{
				{Line: 1, Col: 19, Msg: `rule number "first" is not a whole number from 1 up`,
					Hint: "rules are numbered from 1, the first rule of the chain"},
			},
		},
		{
			name: "replace without number",
			text: "iptables -R INPUT -j DROP",
			want: []Problem{
				{Line: 1, Col: 13, Msg: "-R needs a rule number after the chain",
					Hint: "write the number of the rule to replace, e.g. -R INPUT 1"},
			},
		},
		{
			name: "policy without value",
			text: "iptables -P INPUT",
			want: []Problem{
				{Line: 1, Col: 13, Msg: "-P needs a policy (ACCEPT or DROP)",
					Hint: "write a policy (ACCEPT or DROP) after the chain"},
			},
		},
		{
			name: "listing option",
			text: "iptables -n -A INPUT -j DROP",
			want: []Problem{
				{Line: 1, Col: 10, Msg: "-n only changes how rules are listed",
					Hint: "remove it; it only matters with -L"},
			},
		},
		{
			name: "ipv6 option",
			text: "iptables -6 -A INPUT -j DROP",
			want: []Problem{
				{Line: 1, Col: 10, Msg: "-6 asks for IPv6; labctl v1 loads IPv4 iptables rules only",
					Hint: "remove it; write IPv4 rules"},
			},
		},
		{
			name: "check command",
			text: "iptables -C INPUT -j DROP",
			want: []Problem{
				{Line: 1, Col: 10, Msg: "-C only checks whether a rule exists; it changes nothing",
					Hint: "remove the line, or use -A to add the rule"},
			},
		},
		{
			name: "list command",
			text: "iptables -L INPUT",
			want: []Problem{
				{Line: 1, Col: 10, Msg: "-L only lists rules; it changes nothing",
					Hint: "remove the line; labctl's probes show which rules a packet hits"},
			},
		},
		{
			name: "zero command",
			text: "iptables -Z",
			want: []Problem{
				{Line: 1, Col: 10, Msg: "-Z only zeroes counters",
					Hint: "remove the line; every lab starts with zero counters"},
			},
		},
		{
			name: "help",
			text: "iptables -h",
			want: []Problem{
				{Line: 1, Col: 10, Msg: "-h only prints help or the version",
					Hint: "remove the line"},
			},
		},
		{
			name: "words after -N",
			text: "iptables -N WEB ACCEPT",
			want: []Problem{
				{Line: 1, Col: 17, Msg: `unexpected "ACCEPT" after -N`,
					Hint: "-N takes only the new chain's name"},
			},
		},
		{
			name: "words after -D number",
			text: "iptables -D INPUT 1 -j DROP",
			want: []Problem{
				{Line: 1, Col: 21, Msg: `unexpected "-j" after -D`,
					Hint: "use either -D CHAIN NUMBER or -D CHAIN followed by the rule's options"},
			},
		},
	})
}
