package rules

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSpec(t *testing.T) {
	tests := []struct {
		rule string
		want RuleSpec
	}{
		{"", RuleSpec{}},
		{"-p tcp -m tcp --dport 80", RuleSpec{Rest: strings.Fields("-p tcp -m tcp --dport 80")}},
		{"-s 10.0.0.0/8 -j ACCEPT", RuleSpec{Target: "ACCEPT", Rest: strings.Fields("-s 10.0.0.0/8")}},
		{"-o eth0 -g LAB-OUT", RuleSpec{Target: "LAB-OUT", Goto: true, Rest: strings.Fields("-o eth0")}},
		{"--jump=DROP", RuleSpec{Target: "DROP"}},
		{
			`-d 10.96.0.10/32 -p tcp -m comment --comment "default/nginx cluster IP" -m tcp --dport 80 -j KUBE-SVC-NGINX`,
			RuleSpec{Target: "KUBE-SVC-NGINX", Comment: "default/nginx cluster IP", Rest: strings.Fields("-d 10.96.0.10/32 -p tcp -m tcp --dport 80")},
		},
		{
			`-p tcp -j DNAT --to-destination 10.0.0.2:80 -m comment --comment web`,
			RuleSpec{Target: "DNAT", Comment: "web", Rest: strings.Fields("-p tcp --to-destination 10.0.0.2:80")},
		},
		{
			// A comment that reads like an option is still the comment, and only the first
			// comment is taken out.
			`-m comment --comment -j -m comment --comment second -j RETURN`,
			RuleSpec{Target: "RETURN", Comment: "-j", Rest: strings.Fields("-m comment --comment second")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.rule, func(t *testing.T) {
			args := splitRestoreLine(t, tt.rule)
			if diff := cmp.Diff(tt.want, ParseSpec(args)); diff != "" {
				t.Errorf("ParseSpec (-want +got):\n%s", diff)
			}
		})
	}
}

func TestSameRule(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"-s 10.0.0.1 -j ACCEPT", "-s 10.0.0.1/32 -j ACCEPT", true},
		{"-s 10.0.0.5/24 -j ACCEPT", "--source 10.0.0.0/24 --jump ACCEPT", true},
		{"-p TCP --dport 80 -j ACCEPT", "-p tcp -m tcp --destination-port 80 -j ACCEPT", true},
		{"-p 6 --dport 80 -j ACCEPT", "-p tcp --dport 80 -j ACCEPT", true},
		{"-s 10.0.0.0/8 ! -o docker0 -j MASQUERADE", "! -o docker0 -s 10.0.0.0/8 -j MASQUERADE", true},
		{"-j ACCEPT -p tcp --dport 22", "-p tcp --dport 22 -j ACCEPT", true},
		{"-j DNAT --to-destination 10.0.0.1 -p tcp", "-p tcp -j DNAT --to-destination 10.0.0.1", true},
		{"-s 10.0.0.0/8 ! -o docker0 -j MASQUERADE", "-s 10.0.0.0/8 -o docker0 -j MASQUERADE", false},
		{"-m conntrack --ctstate NEW -m comment --comment x -j ACCEPT", "-m comment --comment x -m conntrack --ctstate NEW -j ACCEPT", false},
		{"-s 10.0.0.1 -j ACCEPT", "-s 10.0.0.2 -j ACCEPT", false},
		{"-j ACCEPT", "-j ACCEPT -m comment --comment x", false},
	}
	for _, tt := range tests {
		if got := sameRule(strings.Fields(tt.a), strings.Fields(tt.b)); got != tt.want {
			t.Errorf("sameRule(%q, %q) = %v, want %v (canonical forms %q and %q)", tt.a, tt.b, got, tt.want, canonical(strings.Fields(tt.a)), canonical(strings.Fields(tt.b)))
		}
	}
}

// splitRestoreLine splits a rule the way a restore payload line is split.
func splitRestoreLine(t *testing.T, line string) []string {
	t.Helper()
	ps := newProblems(nil)
	tokens, ok := restoreTokens(line, pos{}, ps)
	if !ok || len(ps.list) > 0 {
		t.Fatalf("cannot split %q: %v", line, ps.list)
	}
	var words []string
	for _, tok := range tokens {
		words = append(words, tok.text)
	}
	return words
}
