package rules

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseSave reads real iptables-save -c output (testdata/save, recorded by gen.sh)
// and compares it, rendered with its counters, with the golden file.
func TestParseSave(t *testing.T) {
	for _, name := range []string{"nft-before", "nft-after", "legacy-before", "legacy-after"} {
		t.Run(name, func(t *testing.T) {
			rs, err := ParseSave([]byte(readTestdata(t, "save/"+name+".txt")))
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "save/"+name+".golden", withCounters(rs))
		})
	}
}

// TestHitsFromDumps diffs the dumps taken before and after real traffic. Between the
// two, gen.sh inserted a rule at the top of INPUT, so the rules below it moved.
func TestHitsFromDumps(t *testing.T) {
	for _, backend := range []string{"nft", "legacy"} {
		t.Run(backend, func(t *testing.T) {
			before, err := ParseSave([]byte(readTestdata(t, "save/"+backend+"-before.txt")))
			if err != nil {
				t.Fatal(err)
			}
			after, err := ParseSave([]byte(readTestdata(t, "save/"+backend+"-after.txt")))
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			for _, h := range Hits(before, after) {
				what := "policy " + after.Lookup(h.Table).Lookup(h.Chain).Policy
				if h.Index > 0 {
					what = fmt.Sprintf("rule %d: %s", h.Index, h.Rule.Spec())
				}
				fmt.Fprintf(&b, "%s %s %s: +%d packets, +%d bytes\n", h.Table, h.Chain, what, h.Packets, h.Bytes)
			}
			// Both backends see the same traffic; the golden file is shared.
			checkGolden(t, "save/hits.golden", b.String())
		})
	}
}

func TestHits(t *testing.T) {
	rule := func(spec string, packets, bytes uint64) Rule {
		return Rule{Args: strings.Fields(spec), Packets: packets, Bytes: bytes}
	}
	before := &Ruleset{}
	input := before.Table("filter").Lookup("INPUT")
	input.Rules = []Rule{rule("-p icmp -j ACCEPT", 5, 500), rule("-p tcp -j ACCEPT", 10, 1000), rule("-j LOG", 7, 700)}
	input.Packets, input.Bytes = 3, 300

	after := before.Clone()
	input = after.Lookup("filter").Lookup("INPUT")
	input.Rules = []Rule{
		rule("-p udp -j DROP", 2, 200),     // new: counts from zero
		rule("-p icmp -j ACCEPT", 5, 500),  // moved down, unchanged: no hit
		rule("-p tcp -j ACCEPT", 12, 1300), // moved down, grew
		rule("-j LOG", 1, 60),              // counters went down: reset
	}
	input.Packets, input.Bytes = 4, 350
	after.Append("nat", "OUTPUT", Origin{}, "-j", "RETURN") // new table, no counters: no hit

	want := []Hit{
		{Table: "filter", Chain: "INPUT", Index: 1, Rule: rule("-p udp -j DROP", 2, 200), Packets: 2, Bytes: 200},
		{Table: "filter", Chain: "INPUT", Index: 3, Rule: rule("-p tcp -j ACCEPT", 12, 1300), Packets: 2, Bytes: 300},
		{Table: "filter", Chain: "INPUT", Index: 4, Rule: rule("-j LOG", 1, 60), Packets: 1, Bytes: 60},
		{Table: "filter", Chain: "INPUT", Packets: 1, Bytes: 50},
	}
	if diff := cmp.Diff(want, Hits(before, after)); diff != "" {
		t.Errorf("Hits (-want +got):\n%s", diff)
	}
	if got := Hits(nil, after); len(got) != 5 {
		t.Errorf("Hits(nil, after) = %d hits, want the 4 rules and the policy that have counts", len(got))
	}
	if got := Hits(after, after); len(got) != 0 {
		t.Errorf("Hits(after, after) = %v, want none", got)
	}
}

func TestParseSaveErrors(t *testing.T) {
	tests := []struct{ name, dump, want string }{
		{"no COMMIT", "*filter\n[0:0] -A INPUT -j ACCEPT\n", "iptables-save output line 1: table filter has no COMMIT (end each table with a line COMMIT)"},
		{"bad counters", "*filter\n:INPUT ACCEPT [x:0]\nCOMMIT\n", `iptables-save output line 2: cannot read counters "[x:0]" (write counters as [packets:bytes], e.g. [0:0])`},
		{"unknown chain", "*filter\n[0:0] -A NOPE -j ACCEPT\nCOMMIT\n", "iptables-save output line 2: chain NOPE does not exist in table filter (declare it first with a line :NOPE - [0:0] after *filter)"},
		{"not a save line", "*filter\n-D INPUT -j ACCEPT\nCOMMIT\n", "iptables-save output line 2: -D is not an iptables-save line (pass iptables-save output as printed: its rules are -A lines and its chains :NAME lines)"},
		{"two errors", "*nat\n-A X\n*bogus\nCOMMIT\n", "iptables-save output line 1: table nat has no COMMIT (end each table with a line COMMIT)\n" +
			"iptables-save output line 2: chain X does not exist in table nat (declare it first with a line :X - [0:0] after *nat)\n" +
			"iptables-save output line 3: unknown table \"bogus\" (iptables has the tables filter, nat, mangle, raw and security)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := ParseSave([]byte(tt.dump))
			if err == nil || err.Error() != tt.want {
				t.Errorf("ParseSave error = %v, want %q", err, tt.want)
			}
			if rs != nil {
				t.Errorf("ParseSave returned a ruleset with its error")
			}
		})
	}
}
