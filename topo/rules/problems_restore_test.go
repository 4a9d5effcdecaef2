package rules

import (
	"testing"
)

// TestProblemsRestore checks the problems Parse reports about restore-form syntax.
func TestProblemsRestore(t *testing.T) {
	runProblemCases(t, []problemCase{
		{
			name: "restore without COMMIT",
			text: "*filter\n-A INPUT -j ACCEPT",
			want: []Problem{
				{Line: 1, Col: 1, Msg: "table filter has no COMMIT",
					Hint: "end each table with a line COMMIT"},
			},
		},
		{
			name: "restore table without COMMIT before the next",
			text: "*filter\n-A INPUT -j ACCEPT\n*nat\n-A PREROUTING -j RETURN\nCOMMIT",
			want: []Problem{
				{Line: 1, Col: 1, Msg: "table filter has no COMMIT",
					Hint: "end each table with a line COMMIT"},
			},
		},
		{
			name: "COMMIT without table",
			text: "*filter\nCOMMIT\nCOMMIT",
			want: []Problem{
				{Line: 3, Col: 1, Msg: "COMMIT without a table",
					Hint: "start the table with a line such as *nat before its rules"},
			},
		},
		{
			name: "rule outside a table",
			text: "*filter\nCOMMIT\n-A INPUT -j ACCEPT",
			want: []Problem{
				{Line: 3, Col: 1, Msg: "line outside a table",
					Hint: "start the block with a table line such as *filter or *nat and end it with COMMIT"},
			},
		},
		{
			name: "-t in restore form",
			text: "*filter\n-t nat -A PREROUTING -j RETURN\nCOMMIT",
			want: []Problem{
				{Line: 2, Col: 1, Msg: "-t cannot be used in restore form",
					Hint: "put the rule under the table's *filter line instead"},
			},
		},
		{
			name: "iptables command in restore form",
			text: "*filter\niptables -A INPUT -j ACCEPT\nCOMMIT",
			want: []Problem{
				{Line: 2, Col: 1, Msg: "iptables command inside restore form",
					Hint: "in restore form write the rule without the command and the table (-A CHAIN ...); or write every line as an iptables command and drop the *table and COMMIT lines"},
			},
		},
		{
			name: "unreadable restore line",
			text: "*filter\nINPUT -j ACCEPT\nCOMMIT",
			want: []Problem{
				{Line: 2, Col: 1, Msg: `cannot read "INPUT"`,
					Hint: "restore form has table lines (*nat), chain lines (:NAME POLICY [0:0]), rule lines (-A CHAIN ...) and COMMIT"},
			},
		},
		{
			name: "comment after a restore rule",
			text: "*filter\n-A INPUT -j ACCEPT # allow all\nCOMMIT",
			want: []Problem{
				{Line: 2, Col: 20, Msg: "iptables has no comments after a rule",
					Hint: `put the comment on a line of its own, or use -m comment --comment "TEXT"`},
			},
		},
		{
			name: "hash inside a restore rule is a plain character",
			text: "*filter\n-A INPUT -m comment --comment #1 -j ACCEPT\nCOMMIT",
		},
		{
			name: "single quotes in restore form",
			text: "*filter\n-A INPUT -m comment --comment 'allow all' -j ACCEPT\nCOMMIT",
			want: []Problem{
				{Line: 2, Col: 31, Msg: "iptables-restore does not understand single quotes",
					Hint: "use double quotes: iptables-restore keeps single quotes as part of the word"},
			},
		},
		{
			name: "unterminated quote in restore form",
			text: "*filter\n-A INPUT -m comment --comment \"allow all -j ACCEPT\nCOMMIT",
			want: []Problem{
				{Line: 2, Col: 31, Msg: "unterminated double quote",
					Hint: `close it on the same line; to write a quote inside quotes, use \"`},
			},
		},
		{
			name: "closing quote ends the word in restore form",
			text: "*filter\n-A INPUT -m comment --comment \"allow\"all -j ACCEPT\nCOMMIT",
			want: []Problem{
				{Line: 2, Col: 38, Msg: `unexpected "all" in the rule`,
					Hint: "every value belongs to an option (e.g. -s 10.0.0.0/8); look for a missing option or an extra space"},
			},
		},
		{
			name: "chain line without policy",
			text: "*filter\n:WEB\nCOMMIT",
			want: []Problem{
				{Line: 2, Col: 1, Msg: "chain line without a policy",
					Hint: "write :WEB - [0:0] for a user chain, or :INPUT ACCEPT [0:0] for a built-in chain"},
			},
		},
		{
			name: "chain line without name",
			text: "*filter\n: - [0:0]\nCOMMIT",
			want: []Problem{
				{Line: 2, Col: 1, Msg: "chain line without a chain name",
					Hint: "write the name right after the colon, e.g. :MY-CHAIN - [0:0]"},
			},
		},
		{
			name: "chain line with bad counters",
			text: "*filter\n:WEB - [0]\nCOMMIT",
			want: []Problem{
				{Line: 2, Col: 8, Msg: `cannot read counters "[0]"`,
					Hint: "write counters as [packets:bytes], e.g. [0:0]"},
			},
		},
		{
			name: "chain line with extra words",
			text: "*filter\n:WEB - [0:0] x\nCOMMIT",
			want: []Problem{
				{Line: 2, Col: 14, Msg: `unexpected "x"`,
					Hint: "a chain line has a name, a policy and counters"},
			},
		},
		{
			name: "user chain with a policy",
			text: "*filter\n:WEB ACCEPT [0:0]\nCOMMIT",
			want: []Problem{
				{Line: 2, Col: 6, Msg: "user chain WEB cannot have policy ACCEPT",
					Hint: "write :WEB - [0:0]; only built-in chains have a policy"},
			},
		},
		{
			name: "rule with bad counters",
			text: "*filter\n[x:0] -A INPUT -j ACCEPT\nCOMMIT",
			want: []Problem{
				{Line: 2, Col: 1, Msg: `cannot read counters "[x:0]"`,
					Hint: "write counters as [packets:bytes], e.g. [0:0]"},
			},
		},
		{
			name: "words after the table name",
			text: "*filter now\nCOMMIT",
			want: []Problem{
				{Line: 1, Col: 9, Msg: `unexpected "now" after the table name`,
					Hint: "write the table name alone on its line, e.g. *nat"},
			},
		},
	})
}
