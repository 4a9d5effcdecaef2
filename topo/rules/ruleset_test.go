package rules

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCloneIsDeep(t *testing.T) {
	rs := &Ruleset{}
	rs.Append("nat", "KUBE-SERVICES", Origin{By: "kube-proxy"}, "-j", "RETURN")
	rs.Table("nat").Lookup("KUBE-SERVICES").Rules[0].Packets = 7
	rs.Table("filter").Lookup("FORWARD").Policy = "DROP"
	rs.Table("filter").Lookup("FORWARD").Packets = 3

	clone := rs.Clone()
	if diff := cmp.Diff(rs, clone); diff != "" {
		t.Fatalf("clone differs (-original +clone):\n%s", diff)
	}
	clone.Lookup("nat").Lookup("KUBE-SERVICES").Rules[0].Args[1] = "ACCEPT"
	clone.Lookup("filter").Lookup("FORWARD").Policy = "ACCEPT"
	if got := rs.Lookup("nat").Lookup("KUBE-SERVICES").Rules[0].Args[1]; got != "RETURN" {
		t.Errorf("changing the clone's rule changed the original: %s", got)
	}
	if got := rs.Lookup("filter").Lookup("FORWARD").Policy; got != "DROP" {
		t.Errorf("changing the clone's policy changed the original: %s", got)
	}
	if got := (*Ruleset)(nil).Clone(); got == nil || len(got.Tables) != 0 {
		t.Errorf("nil.Clone() = %v, want an empty ruleset", got)
	}
}
