package node

import "testing"

// TestStatusHasCapabilities reads CapEff as /proc/self/status shows it: a privileged
// process has every capability, Docker's default set (a80425fb) lacks CAP_NET_ADMIN
// and CAP_SYS_ADMIN.
func TestStatusHasCapabilities(t *testing.T) {
	status := func(eff string) string {
		return "Name:\tlabctl\nCapInh:\t0000000000000000\nCapPrm:\t" + eff + "\nCapEff:\t" + eff + "\nCapBnd:\t000001ffffffffff\n"
	}
	cases := []struct {
		name, status string
		want         bool
	}{
		{"privileged", status("000001ffffffffff"), true},
		{"docker default", status("00000000a80425fb"), false},
		{"NET_ADMIN only", status("0000000000001000"), false},
		{"NET_ADMIN and SYS_ADMIN", status("0000000000201000"), true},
		{"unreadable", "Name:\tlabctl\n", true},
	}
	for _, c := range cases {
		if got := statusHasCapabilities(c.status, capNetAdmin, capSysAdmin); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}
