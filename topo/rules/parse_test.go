package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// yamlBlock locates text as a YAML block scalar whose content starts on lab-file line
// 11, indented to column 5.
func yamlBlock(textLine int) (int, int) { return 11 + textLine, 5 }

// loadBase reads a restore-form base ruleset; its first line "# by: NAME" names the
// generator its rules come from.
func loadBase(t *testing.T, name string) *Ruleset {
	t.Helper()
	text := readTestdata(t, name)
	rs, err := ParseSave([]byte(text))
	if err != nil {
		t.Fatalf("base %s: %v", name, err)
	}
	by := strings.TrimSpace(strings.TrimPrefix(strings.SplitN(text, "\n", 2)[0], "# by:"))
	for _, tb := range rs.Tables {
		for _, c := range tb.Chains {
			if !c.Builtin() {
				c.Origin.By = by
			}
			for i := range c.Rules {
				c.Rules[i].Origin.By = by
			}
		}
	}
	return rs
}

// TestParseGolden applies each testdata/parse/NAME.rules on NAME.base (if present) and
// compares the payload, with each line's origin, and the problems with NAME.golden.
func TestParseGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "parse", "*.rules"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no inputs: %v", err)
	}
	for _, input := range inputs {
		name := strings.TrimSuffix(filepath.Base(input), ".rules")
		t.Run(name, func(t *testing.T) {
			var base *Ruleset
			if _, err := os.Stat(filepath.Join("testdata", "parse", name+".base")); err == nil {
				base = loadBase(t, filepath.Join("parse", name+".base"))
			}
			before := ""
			if base != nil {
				before = annotated(base)
			}
			rs, problems := Parse(readTestdata(t, filepath.Join("parse", name+".rules")), yamlBlock, base)
			var b strings.Builder
			b.WriteString(annotated(rs))
			b.WriteString("-- problems --\n")
			for _, p := range problems {
				b.WriteString(p.String() + "\n")
			}
			checkGolden(t, filepath.Join("parse", name+".golden"), b.String())
			if base != nil && annotated(base) != before {
				t.Errorf("Parse changed its base ruleset")
			}
		})
	}
}

// TestSeed003 spells out what the seed's golden file shows: the author's -D removes
// Docker's rule, and the -I puts the replacement first.
func TestSeed003(t *testing.T) {
	base := &Ruleset{}
	base.Append("nat", "POSTROUTING", Origin{By: "docker"}, "-s", "172.7.21.0/24", "!", "-o", "docker0", "-j", "MASQUERADE")
	base.Append("nat", "POSTROUTING", Origin{By: "flannel"}, "-s", "172.7.0.0/16", "-d", "172.7.0.0/16", "-j", "RETURN")
	rs, problems := Parse(readTestdata(t, "parse/seed003.rules"), yamlBlock, base)
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	want := []Rule{
		{Args: strings.Fields("-s 172.7.21.0/24 ! -d 172.7.0.0/16 ! -o docker0 -j MASQUERADE"), Origin: Origin{Line: 13, Col: 5}},
		{Args: strings.Fields("-s 172.7.0.0/16 -d 172.7.0.0/16 -j RETURN"), Origin: Origin{By: "flannel"}},
	}
	if diff := cmp.Diff(want, rs.Lookup("nat").Lookup("POSTROUTING").Rules); diff != "" {
		t.Errorf("POSTROUTING (-want +got):\n%s", diff)
	}
	if got := len(base.Lookup("nat").Lookup("POSTROUTING").Rules); got != 2 {
		t.Errorf("base POSTROUTING has %d rules after Parse, want 2 (Parse must work on a copy)", got)
	}
}

// TestRestoreRoundTrip parses restore text without problems and renders it back as
// written (apart from comments).
func TestRestoreRoundTrip(t *testing.T) {
	text := readTestdata(t, "parse/restore.rules")
	rs, problems := Parse(text, nil, nil)
	if len(problems) > 0 {
		t.Fatalf("problems: %v", problems)
	}
	payload, _ := rs.Render()
	var want []string
	for _, line := range strings.Split(text, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") {
			want = append(want, line)
		}
	}
	if diff := cmp.Diff(want, strings.Split(strings.TrimSuffix(string(payload), "\n"), "\n")); diff != "" {
		t.Errorf("rendered payload (-want +got):\n%s", diff)
	}
}

func TestParseFormAndArgs(t *testing.T) {
	tests := []struct {
		name, text string
		table      string
		chain      string
		want       [][]string
	}{
		{"empty text", "", "filter", "INPUT", nil},
		{"no program name", "-A INPUT -j ACCEPT", "filter", "INPUT", [][]string{{"-j", "ACCEPT"}}},
		{"options in any order", "iptables -s 10.0.0.1 -A INPUT -t filter -j DROP", "filter", "INPUT", [][]string{{"-s", "10.0.0.1", "-j", "DROP"}}},
		{"value that looks like a command", `iptables -A INPUT -m comment --comment -A -j ACCEPT`, "filter", "INPUT", [][]string{{"-m", "comment", "--comment", "-A", "-j", "ACCEPT"}}},
		{"empty argument", `iptables -A INPUT -m comment --comment "" -j ACCEPT`, "filter", "INPUT", [][]string{{"-m", "comment", "--comment", "", "-j", "ACCEPT"}}},
		{"hash inside a word", `iptables -A INPUT -m comment --comment a#b -j ACCEPT # real comment`, "filter", "INPUT", [][]string{{"-m", "comment", "--comment", "a#b", "-j", "ACCEPT"}}},
		{"backslash escapes", `iptables -A INPUT -m comment --comment a\ b\"c -j ACCEPT`, "filter", "INPUT", [][]string{{"-m", "comment", "--comment", `a b"c`, "-j", "ACCEPT"}}},
		{"double quotes keep backslashes before other characters", `iptables -A INPUT -m comment --comment "a\nb\\c" -j ACCEPT`, "filter", "INPUT", [][]string{{"-m", "comment", "--comment", `a\nb\c`, "-j", "ACCEPT"}}},
		{"windows line ends", "iptables -A INPUT -j ACCEPT\r\niptables -A INPUT -j DROP\r\n", "filter", "INPUT", [][]string{{"-j", "ACCEPT"}, {"-j", "DROP"}}},
		{"comment lines before restore form", "# rules\n\n*filter\n-A INPUT -j ACCEPT\nCOMMIT\n", "filter", "INPUT", [][]string{{"-j", "ACCEPT"}}},
		{"restore quotes", "*filter\n-A INPUT -m comment --comment \"a \\\"b\\\" c\\\\\" -j ACCEPT\nCOMMIT", "filter", "INPUT", [][]string{{"-m", "comment", "--comment", `a "b" c\`, "-j", "ACCEPT"}}},
		{"restore backslash outside quotes", "*filter\n-A INPUT -m comment --comment a\\b -j ACCEPT\nCOMMIT", "filter", "INPUT", [][]string{{"-m", "comment", "--comment", `a\b`, "-j", "ACCEPT"}}},
		{"restore counters", "*filter\n[3:180] -A INPUT -j ACCEPT\nCOMMIT", "filter", "INPUT", [][]string{{"-j", "ACCEPT"}}},
		{"delete by equivalent spec", "iptables -A INPUT -s 10.0.0.1/32 -p tcp -m tcp --dport 80 -j ACCEPT\niptables -D INPUT -j ACCEPT --dport 80 --source 10.0.0.1 -p TCP", "filter", "INPUT", nil},
		{"delete first of two equal rules", "iptables -A INPUT -j ACCEPT -m comment --comment one\niptables -A INPUT -j DROP\niptables -A INPUT -j ACCEPT -m comment --comment one\niptables -D INPUT -j ACCEPT -m comment --comment one", "filter", "INPUT", [][]string{{"-j", "DROP"}, {"-j", "ACCEPT", "-m", "comment", "--comment", "one"}}},
		{"flush all", "iptables -A INPUT -j ACCEPT\niptables -A OUTPUT -j ACCEPT\niptables -F", "filter", "OUTPUT", nil},
		{"delete all user chains", "iptables -N A\niptables -N B\niptables -X\niptables -N A", "filter", "A", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rs, problems := Parse(tt.text, nil, nil)
			if len(problems) > 0 {
				t.Fatalf("problems: %v", problems)
			}
			var got [][]string
			if tb := rs.Lookup(tt.table); tb != nil {
				if c := tb.Lookup(tt.chain); c != nil {
					for _, r := range c.Rules {
						got = append(got, r.Args)
					}
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("rules of %s %s (-want +got):\n%s", tt.table, tt.chain, diff)
			}
		})
	}
}

// TestLocator checks that origins and problems map through the locator, counting
// columns in characters, also on continued lines.
func TestLocator(t *testing.T) {
	text := "iptables -A INPUT -m comment --comment \"é\" -j ACCEPT\n" +
		"iptables -A INPUT \\\n  -m comment --comment \"ü\" -j NOPE\n"
	rs, problems := Parse(text, yamlBlock, nil)
	want := []Problem{{Line: 13, Col: 35, Msg: "unknown target NOPE: no such target or chain in table filter",
		Hint: "declare it first with iptables -N NOPE, or use a target such as ACCEPT, DROP, RETURN, DNAT, SNAT or MASQUERADE"}}
	if diff := cmp.Diff(want, problems); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
	var origins []Origin
	for _, r := range rs.Lookup("filter").Lookup("INPUT").Rules {
		origins = append(origins, r.Origin)
	}
	if diff := cmp.Diff([]Origin{{Line: 11, Col: 5}, {Line: 12, Col: 5}}, origins); diff != "" {
		t.Errorf("origins (-want +got):\n%s", diff)
	}
}
