package rules

import (
	"testing"
)

// TestProblemsChains checks the problems Parse reports about tables, chains, policies and rule positions.
func TestProblemsChains(t *testing.T) {
	runProblemCases(t, []problemCase{
		{
			name: "unknown table",
			text: "iptables -t nta -A PREROUTING -j DROP",
			want: []Problem{
				{Line: 1, Col: 13, Msg: `unknown table "nta"`,
					Hint: "iptables has the tables filter, nat, mangle, raw and security"},
			},
		},
		{
			name: "unknown table in restore form",
			text: "*filters\n-A INPUT -j DROP\nCOMMIT",
			want: []Problem{
				{Line: 1, Col: 2, Msg: `unknown table "filters"`,
					Hint: "did you mean filter? iptables has the tables filter, nat, mangle, raw and security"},
			},
		},
		{
			name: "chain does not exist",
			text: "iptables -A WEB -j DROP",
			want: []Problem{
				{Line: 1, Col: 13, Msg: "chain WEB does not exist in table filter",
					Hint: "declare it first with iptables -N WEB"},
			},
		},
		{
			name: "chain does not exist in nat",
			text: "iptables -t nat -A WEB -j DNAT --to-destination 10.0.0.1",
			want: []Problem{
				{Line: 1, Col: 20, Msg: "chain WEB does not exist in table nat",
					Hint: "declare it first with iptables -t nat -N WEB"},
			},
		},
		{
			name: "forgot -t nat",
			text: "iptables -A POSTROUTING -j MASQUERADE",
			want: []Problem{
				{Line: 1, Col: 13, Msg: "chain POSTROUTING does not exist in table filter",
					Hint: "did you forget -t nat? POSTROUTING is a chain of the nat or mangle table"},
			},
		},
		{
			name: "nat has no FORWARD",
			text: "*nat\n-A FORWARD -j ACCEPT\nCOMMIT",
			want: []Problem{
				{Line: 2, Col: 4, Msg: "chain FORWARD does not exist in table nat",
					Hint: "the nat table has no FORWARD chain (its built-in chains are PREROUTING, INPUT, OUTPUT, POSTROUTING); FORWARD is in filter, mangle or security"},
			},
		},
		{
			name: "user chain of another table",
			text: "iptables -N WEB\niptables -t nat -A WEB -j RETURN",
			want: []Problem{
				{Line: 2, Col: 20, Msg: "chain WEB does not exist in table nat",
					Hint: "WEB is a chain of the filter table, not of nat; declare it first with iptables -t nat -N WEB"},
			},
		},
		{
			name: "chain name case",
			text: "iptables -A input -j DROP",
			want: []Problem{
				{Line: 1, Col: 13, Msg: "chain input does not exist in table filter",
					Hint: "chain names are case-sensitive: did you mean INPUT?"},
			},
		},
		{
			name: "new chain exists",
			text: "iptables -N WEB\niptables -N WEB",
			want: []Problem{
				{Line: 2, Col: 13, Msg: "chain WEB already exists in table filter",
					Hint: "remove this line; to empty the chain use -F WEB"},
			},
		},
		{
			name: "new chain is built-in",
			text: "iptables -N INPUT",
			want: []Problem{
				{Line: 1, Col: 13, Msg: "chain INPUT already exists in table filter",
					Hint: "remove this line; to empty the chain use -F INPUT"},
			},
		},
		{
			name: "chain name is a target",
			text: "iptables -N DNAT",
			want: []Problem{
				{Line: 1, Col: 13, Msg: "chain name DNAT is taken by the DNAT target",
					Hint: "choose another name, e.g. MY-DNAT"},
			},
		},
		{
			name: "chain name too long",
			text: "iptables -N THIS-NAME-IS-FAR-TOO-LONG-FOR-IT",
			want: []Problem{
				{Line: 1, Col: 13, Msg: "chain name THIS-NAME-IS-FAR-TOO-LONG-FOR-IT is 32 characters long; iptables allows at most 28",
					Hint: "shorten it"},
			},
		},
		{
			name: "chain name starts with !",
			text: "iptables -N '!WEB'",
			want: []Problem{
				{Line: 1, Col: 13, Msg: `chain name "!WEB" cannot start with "!"`,
					Hint: "start it with a letter"},
			},
		},
		{
			name: "chain name with blank",
			text: "iptables -N 'MY WEB'",
			want: []Problem{
				{Line: 1, Col: 13, Msg: `chain name "MY WEB" contains ' '`,
					Hint: "use letters, digits, - and _"},
			},
		},
		{
			name: "delete built-in chain",
			text: "iptables -t nat -X POSTROUTING",
			want: []Problem{
				{Line: 1, Col: 20, Msg: "cannot delete built-in chain POSTROUTING",
					Hint: "built-in chains always exist; to remove their rules use -F POSTROUTING"},
			},
		},
		{
			name: "delete chain still used",
			text: "iptables -N WEB\niptables -A INPUT -j WEB\niptables -X WEB",
			want: []Problem{
				{Line: 3, Col: 13, Msg: `chain WEB is still used by rule "-j WEB" in chain INPUT (line 2)`,
					Hint: "delete the rules that jump to it first, e.g. -D INPUT -j WEB"},
			},
		},
		{
			name: "delete chain with rules",
			text: "iptables -N WEB\niptables -A WEB -j ACCEPT\niptables -X WEB",
			want: []Problem{
				{Line: 3, Col: 13, Msg: "chain WEB still has a rule",
					Hint: "empty it first with -F WEB"},
			},
		},
		{
			name: "delete missing chain",
			text: "iptables -X WEB",
			want: []Problem{
				{Line: 1, Col: 13, Msg: "chain WEB does not exist in table filter",
					Hint: "declare it first with iptables -N WEB"},
			},
		},
		{
			name: "delete all chains, one used",
			text: "iptables -N WEB\niptables -N DB\niptables -A INPUT -j WEB\niptables -X\niptables -N DB",
			want: []Problem{
				{Line: 4, Col: 10, Msg: `chain WEB is still used by rule "-j WEB" in chain INPUT (line 3)`,
					Hint: "delete the rules that jump to it first, e.g. -D INPUT -j WEB"},
			},
		},
		{
			name: "rename built-in chain",
			text: "iptables -E INPUT MY-INPUT",
			want: []Problem{
				{Line: 1, Col: 13, Msg: "cannot rename built-in chain INPUT",
					Hint: "only user chains can be renamed"},
			},
		},
		{
			name: "rename to existing",
			text: "iptables -N A\niptables -N B\niptables -E A B",
			want: []Problem{
				{Line: 3, Col: 15, Msg: "chain B already exists in table filter",
					Hint: "choose a name no chain of the table has"},
			},
		},
		{
			name: "policy on user chain",
			text: "iptables -N WEB\niptables -P WEB DROP",
			want: []Problem{
				{Line: 2, Col: 13, Msg: "WEB is a user chain; only built-in chains have a policy",
					Hint: "a user chain returns to the chain that jumped to it; end it with a rule such as -A WEB -j DROP instead"},
			},
		},
		{
			name: "policy RETURN",
			text: "iptables -P INPUT RETURN",
			want: []Problem{
				{Line: 1, Col: 19, Msg: `policy "RETURN" is not ACCEPT or DROP`,
					Hint: "a policy is ACCEPT or DROP"},
			},
		},
		{
			name: "policy lower case",
			text: "iptables -P FORWARD drop",
			want: []Problem{
				{Line: 1, Col: 21, Msg: `policy "drop" is not ACCEPT or DROP`,
					Hint: "write it in capitals: DROP"},
			},
		},
		{
			name: "policy REJECT",
			text: "iptables -P INPUT REJECT",
			want: []Problem{
				{Line: 1, Col: 19, Msg: `policy "REJECT" is not ACCEPT or DROP`,
					Hint: "keep the policy ACCEPT and end the chain with a rule -A INPUT -j REJECT"},
			},
		},
		{
			name: "policy DROP in nat",
			text: "iptables -t nat -P PREROUTING DROP",
			want: []Problem{
				{Line: 1, Col: 31, Msg: "the nat table is not for filtering: the kernel refuses a DROP policy there",
					Hint: "set the policy in the filter table instead"},
			},
		},
		{
			name: "policy on missing chain",
			text: "iptables -t nat -P FORWARD ACCEPT",
			want: []Problem{
				{Line: 1, Col: 20, Msg: "chain FORWARD does not exist in table nat",
					Hint: "the nat table has no FORWARD chain (its built-in chains are PREROUTING, INPUT, OUTPUT, POSTROUTING); FORWARD is in filter, mangle or security"},
			},
		},
		{
			name: "insert out of range",
			text: "iptables -A INPUT -j ACCEPT\niptables -I INPUT 3 -j DROP",
			want: []Problem{
				{Line: 2, Col: 19, Msg: "cannot insert at position 3: chain INPUT has a rule",
					Hint: "rules of INPUT are numbered 1 to 1 at this point"},
			},
		},
		{
			name: "insert into empty chain",
			text: "iptables -I INPUT 2 -j DROP",
			want: []Problem{
				{Line: 1, Col: 19, Msg: "cannot insert at position 2: chain INPUT has no rules",
					Hint: "chain INPUT is empty at this point; leave the number out to insert at the top"},
			},
		},
		{
			name: "replace out of range",
			text: "iptables -A INPUT -j ACCEPT\niptables -R INPUT 2 -j DROP",
			want: []Problem{
				{Line: 2, Col: 19, Msg: "cannot replace rule 2: chain INPUT has a rule",
					Hint: "rules of INPUT are numbered 1 to 1 at this point"},
			},
		},
		{
			name: "delete number out of range",
			text: "iptables -D INPUT 1",
			want: []Problem{
				{Line: 1, Col: 19, Msg: "cannot delete rule 1: chain INPUT has no rules",
					Hint: "chain INPUT is empty at this point; nothing to delete: remove the line"},
			},
		},
		{
			name: "delete missing rule",
			text: "iptables -A INPUT -p tcp --dport 22 -j ACCEPT\niptables -A INPUT -p tcp --dport 80 -j ACCEPT\niptables -D INPUT -p tcp --dport 443 -j ACCEPT",
			want: []Problem{
				{Line: 3, Col: 10, Msg: `no rule "-p tcp --dport 443 -j ACCEPT" in chain INPUT of table filter to delete`,
					Hint: `the closest rule in INPUT is "-p tcp --dport 22 -j ACCEPT" (line 1)`},
			},
		},
		{
			name: "delete from empty chain",
			text: "iptables -D INPUT -j ACCEPT",
			want: []Problem{
				{Line: 1, Col: 10, Msg: `no rule "-j ACCEPT" in chain INPUT of table filter to delete`,
					Hint: "chain INPUT has no rules at this point; -D deletes a rule that an earlier line or a generator wrote"},
			},
		},
		{
			name: "delete rule of another chain",
			text: "iptables -A INPUT -s 10.0.0.0/8 -j DROP\niptables -D FORWARD -s 10.0.0.0/8 -j DROP",
			want: []Problem{
				{Line: 2, Col: 10, Msg: `no rule "-s 10.0.0.0/8 -j DROP" in chain FORWARD of table filter to delete`,
					Hint: "that rule is in chain INPUT of table filter (line 1)"},
			},
		},
		{
			name: "delete with matches reordered",
			text: "iptables -A INPUT -m conntrack --ctstate NEW -m comment --comment new -j ACCEPT\niptables -D INPUT -m comment --comment new -m conntrack --ctstate NEW -j ACCEPT",
			want: []Problem{
				{Line: 2, Col: 10, Msg: `no rule "-m comment --comment new -m conntrack --ctstate NEW -j ACCEPT" in chain INPUT of table filter to delete`,
					Hint: `the closest rule in INPUT is "-m conntrack --ctstate NEW -m comment --comment new -j ACCEPT" (line 1); it has the same options in another order: write them in that order`},
			},
		},
		{
			name: "delete a generated rule that is not there",
			text: "iptables -t nat -D POSTROUTING -s 172.7.21.0/24 -o docker0 -j MASQUERADE",
			base: "*nat\n-A POSTROUTING -s 172.7.21.0/24 ! -o docker0 -j MASQUERADE\nCOMMIT",
			want: []Problem{
				{Line: 1, Col: 17, Msg: `no rule "-s 172.7.21.0/24 -o docker0 -j MASQUERADE" in chain POSTROUTING of table nat to delete`,
					Hint: `the closest rule in POSTROUTING is "-s 172.7.21.0/24 ! -o docker0 -j MASQUERADE" (generator)`},
			},
		},
	})
}
