package rules

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that Parse never panics, with and without a base ruleset, and that
// its result is stable: the payload it renders parses back (as restore form) into a
// ruleset that renders the same payload.
func FuzzParse(f *testing.F) {
	inputs, _ := filepath.Glob(filepath.Join("testdata", "parse", "*.rules"))
	for _, input := range inputs {
		text, err := os.ReadFile(input)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(text))
	}
	for _, seed := range []string{
		"iptables -t nat -A PREROUTING -p tcp --dport 80 -j DNAT --to-destination 10.0.0.2:80",
		"iptables -A INPUT -m comment --comment 'a \"quoted\" #text\\' -j ACCEPT; iptables -D INPUT 1",
		"*filter\n:X - [0:0]\n-A INPUT -j X\n-A X -m comment --comment \"a\\\"b\" -j RETURN\nCOMMIT\n",
		"*nat\n:A - [0:0]\n:B - [0:0]\n-A A -j B\n-A B -j A\n-A OUTPUT -j A\nCOMMIT",
		"iptables -N A && iptables -E A B && iptables -A FORWARD -g B && iptables -X B",
	} {
		f.Add(seed)
	}
	base, err := ParseSave([]byte(seedBase))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		Parse(text, nil, base)
		rs, _ := Parse(text, nil, nil)
		payload, _ := rs.Render()
		again, problems := Parse(string(payload), nil, nil)
		repeated, _ := again.Render()
		if string(repeated) != string(payload) {
			t.Fatalf("payload changed when parsed again\nfirst:\n%s\nagain:\n%s\nproblems: %v", payload, repeated, problems)
		}
	})
}

const seedBase = `*nat
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.7.21.0/24 ! -o docker0 -j MASQUERADE
COMMIT
`
