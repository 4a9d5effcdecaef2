package rules

import "testing"

func TestMatchPattern(t *testing.T) {
	dnat := []string{"-d", "203.0.113.254/32", "-p", "tcp", "-m", "comment", "--comment", "web front", "-j", "DNAT", "--to-destination", "192.168.1.2:8080"}
	for _, c := range []struct {
		pattern, chain string
		args           []string
		want           bool
	}{
		{"PREROUTING", "PREROUTING", dnat, true},
		{"PRE*", "PREROUTING", dnat, true},
		{"DNAT", "PREROUTING", dnat, true},
		{"web front", "PREROUTING", dnat, true},
		{"*front", "PREROUTING", dnat, true},
		{"--to-destination 192.168.1.2:8080", "PREROUTING", dnat, true},
		{"-d 203.0.113.254/32 * -j DNAT", "PREROUTING", dnat, true},
		{"-A PREROUTING -d", "PREROUTING", dnat, true},
		{"SNAT", "PREROUTING", dnat, false},
		{"192.168.1.2:8080", "PREROUTING", dnat, false}, // a name pattern: not rule text
		{"--dport 81", "PREROUTING", dnat, false},
		{"KUBE-SEP-*", "KUBE-SEP-ABC", nil, true},
		{"--dport 80", "FORWARD", nil, false}, // a policy has no text
	} {
		if got := MatchPattern(c.pattern, c.chain, c.args); got != c.want {
			t.Errorf("MatchPattern(%q, %q) = %v, want %v", c.pattern, c.chain, got, c.want)
		}
	}
}
