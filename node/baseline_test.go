package node

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/labctl/labctl/node/nodetest"
	"github.com/labctl/labctl/topo/plan"
)

// sysctlsOf reads keys from a fake /proc/sys.
func sysctlsOf(values map[string]string) func(string) string {
	return func(key string) string { return values[key] }
}

var (
	forwardOff   = plan.Sysctl{Key: "net.ipv4.ip_forward", Value: "0"}
	forwardOn    = plan.Sysctl{Key: "net.ipv4.ip_forward", Value: "1"}
	rpResets     = []plan.Sysctl{{Key: "net.ipv4.conf.all.rp_filter", Value: "0"}, {Key: "net.ipv4.conf.default.rp_filter", Value: "0"}}
	ipv6Off      = []plan.Sysctl{{Key: "net.ipv6.conf.all.disable_ipv6", Value: "1"}, {Key: "net.ipv6.conf.default.disable_ipv6", Value: "1"}}
	quietMachine = map[string]string{
		"net.ipv4.conf.all.rp_filter": "0", "net.ipv4.conf.default.rp_filter": "0",
		"net.ipv4.ip_forward": "0", "net.ipv4.conf.default.forwarding": "0",
	}
)

// TestInheritResets: whatever a new namespace inherits from the machine (a Docker host
// forwards, distributions turn rp_filter on) is reset to the lab's starting point.
func TestInheritResets(t *testing.T) {
	with := func(changes map[string]string) map[string]string {
		m := map[string]string{}
		for k, v := range quietMachine {
			m[k] = v
		}
		for k, v := range changes {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name    string
		machine map[string]string
		want    []plan.Sysctl
	}{
		{"nothing to undo", quietMachine, nil},
		{"docker host forwards", with(map[string]string{"net.ipv4.ip_forward": "1", "net.ipv4.conf.default.forwarding": "1"}), []plan.Sysctl{forwardOff}},
		{"only the default forwards", with(map[string]string{"net.ipv4.conf.default.forwarding": "1"}), []plan.Sysctl{{Key: "net.ipv4.conf.default.forwarding", Value: "0"}}},
		{"strict rp_filter", with(map[string]string{"net.ipv4.conf.all.rp_filter": "1"}), rpResets},
		{"unreadable", map[string]string{}, append(append([]plan.Sysctl{}, rpResets...), forwardOff)},
	}
	for _, c := range cases {
		if diff := cmp.Diff(c.want, inheritResets(sysctlsOf(c.machine))); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
}

// TestBaselineSysctls: a namespace that does not set ip_forward gets it off; one that
// sets it keeps its own value, written last.
func TestBaselineSysctls(t *testing.T) {
	resets := inheritResets(sysctlsOf(map[string]string{"net.ipv4.ip_forward": "1"}))
	got := baselineSysctls(resets, false, nil)
	want := append(append(append([]plan.Sysctl{}, rpResets...), forwardOff), ipv6Off...)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("plain host (-want +got):\n%s", diff)
	}
	got = baselineSysctls(resets, true, []plan.Sysctl{forwardOn})
	want = append(append([]plan.Sysctl{}, rpResets...), forwardOn)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("forwarding host with IPv6 (-want +got):\n%s", diff)
	}
}

// TestBridgeSysctlWithoutModule: without br_netfilter (no /proc/sys/net/bridge), a
// net.bridge.* key set to 0 is what already happens and is skipped; set to 1 it is a
// missing requirement, said as such.
func TestBridgeSysctlWithoutModule(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "net/ipv4"), 0o755); err != nil {
		t.Fatal(err)
	}
	fwd := filepath.Join(dir, "net/ipv4/ip_forward")
	if err := os.WriteFile(fwd, []byte("1"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := procSys
	procSys = dir + "/"
	t.Cleanup(func() { procSys = old })

	off := plan.Sysctl{Key: "net.bridge.bridge-nf-call-iptables", Value: "0"}
	if err := writeSysctls([]plan.Sysctl{off, forwardOff}); err != nil {
		t.Fatalf("bridge-nf-call-iptables=0 without the module: %v", err)
	}
	if got, _ := os.ReadFile(fwd); string(got) != "0" {
		t.Errorf("ip_forward after the skipped key: %q, want 0", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "net/bridge")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("writeSysctls created the missing key: %v", err)
	}
	on := plan.Sysctl{Key: "net.bridge.bridge-nf-call-iptables", Value: "1"}
	var missing MissingError
	if err := writeSysctls([]plan.Sysctl{on}); !errors.As(err, &missing) || missing.How != "load it with modprobe br_netfilter" {
		t.Errorf("bridge-nf-call-iptables=1 without the module: %v, want a MissingError naming modprobe", err)
	}
	if err := writeSysctls([]plan.Sysctl{{Key: "net.ipv4.nosuchkey", Value: "0"}}); err == nil {
		t.Error("an unknown key other than net.bridge.* was accepted")
	}
}

// TestBaselineResetsInheritedForwarding plays, in a scratch namespace, what a Docker
// host hands down (ip_forward and default forwarding on, rp_filter strict): baseline
// must leave a plain host with forwarding off everywhere and a forwarding host on.
// The root namespace's own values are never touched.
func TestBaselineResetsInheritedForwarding(t *testing.T) {
	nodetest.RequireRoot(t)
	inherited := []plan.Sysctl{forwardOn, {Key: "net.ipv4.conf.default.forwarding", Value: "1"}, {Key: "net.ipv4.conf.all.rp_filter", Value: "1"}}
	for _, c := range []struct {
		name  string
		early []plan.Sysctl
		want  string
	}{{"plain host", nil, "0"}, {"forwarding host", []plan.Sysctl{forwardOn}, "1"}} {
		got := make(chan map[string]string, 1)
		errc := make(chan error, 1)
		go func() {
			// Never unlocked: Go discards the thread, and the scratch namespace with it.
			runtime.LockOSThread()
			if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
				errc <- err
				return
			}
			if err := writeSysctls(inherited); err != nil {
				errc <- err
				return
			}
			b := &build{plan: &plan.Plan{}}
			if err := b.baseline(c.early); err != nil {
				errc <- err
				return
			}
			got <- map[string]string{
				"ip_forward":         readSysctl("net.ipv4.ip_forward"),
				"default forwarding": readSysctl("net.ipv4.conf.default.forwarding"),
				"rp_filter":          readSysctl("net.ipv4.conf.all.rp_filter"),
			}
		}()
		select {
		case err := <-errc:
			t.Fatalf("%s: %v", c.name, err)
		case m := <-got:
			want := map[string]string{"ip_forward": c.want, "default forwarding": c.want, "rp_filter": "0"}
			if diff := cmp.Diff(want, m); diff != "" {
				t.Errorf("%s: sysctls after baseline (-want +got):\n%s", c.name, diff)
			}
		}
	}
}

// TestForwardingStartsOff: after up, only the host with forwarding: true forwards,
// whatever the machine's own ip_forward is.
func TestForwardingStartsOff(t *testing.T) {
	nodetest.RequireRoot(t)
	p := compileLab(t, basicLab)
	upForTest(t, p)
	for _, c := range []struct{ host, want string }{{"client", "0"}, {"server", "0"}, {"internet", "0"}, {"router", "1"}} {
		for _, key := range []string{"net.ipv4.ip_forward", "net.ipv4.conf.default.forwarding", "net.ipv4.conf.eth0.forwarding"} {
			if c.host == "internet" && key == "net.ipv4.conf.eth0.forwarding" {
				continue
			}
			var got string
			if err := InNetns(p.Namespace(c.host).NetNS, func() error { got = readSysctl(key); return nil }); err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("%s: %s = %q, want %s", c.host, key, got, c.want)
			}
		}
	}
}
