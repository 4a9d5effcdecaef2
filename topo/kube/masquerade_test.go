package kube

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/labctl/labctl/topo/rules"
)

const kubePostroutingJump = `-m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING`

// withMasquerade adds cfg's rules to a node's kube-proxy rules, as the lab compiler does.
func withMasquerade(t *testing.T, cfg MasqueradeConfig) *rules.Ruleset {
	t.Helper()
	rs := generate(t, nil, nil, realNodeConfig("node-1"))
	if err := AddMasqueradeRules(rs, cfg); err != nil {
		t.Fatal(err)
	}
	return rs
}

func TestMasqueradeFlannel(t *testing.T) {
	rs := withMasquerade(t, MasqueradeConfig{Mode: MasqueradeFlannel, PodCIDR: "10.244.1.0/24", ClusterCIDR: "10.244.0.0/16"})
	wantPostrouting := []string{kubePostroutingJump, `-m comment --comment "flanneld masq" -j FLANNEL-POSTRTG`}
	if diff := cmp.Diff(wantPostrouting, chainRules(t, rs, "nat", "POSTROUTING")); diff != "" {
		t.Errorf("POSTROUTING (-want +got):\n%s", diff)
	}
	wantChain := []string{
		`-m mark --mark 0x4000/0x4000 -m comment --comment "flanneld masq" -j RETURN`,
		`-s 10.244.1.0/24 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j RETURN`,
		`-s 10.244.0.0/16 -d 10.244.1.0/24 -m comment --comment "flanneld masq" -j RETURN`,
		`! -s 10.244.0.0/16 -d 10.244.1.0/24 -m comment --comment "flanneld masq" -j RETURN`,
		`-s 10.244.0.0/16 ! -d 224.0.0.0/4 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully`,
		`! -s 10.244.0.0/16 -d 10.244.0.0/16 -m comment --comment "flanneld masq" -j MASQUERADE --random-fully`,
	}
	if diff := cmp.Diff(wantChain, chainRules(t, rs, "nat", "FLANNEL-POSTRTG")); diff != "" {
		t.Errorf("FLANNEL-POSTRTG (-want +got):\n%s", diff)
	}
	forward := chainRules(t, rs, "filter", "FORWARD")
	if last := forward[len(forward)-1]; last != `-m comment --comment "flanneld forward" -j FLANNEL-FWD` {
		t.Errorf("FORWARD ends with %q, want flannel's jump after kube-proxy's", last)
	}
	wantFwd := []string{
		`-s 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT`,
		`-d 10.244.0.0/16 -m comment --comment "flanneld forward" -j ACCEPT`,
	}
	if diff := cmp.Diff(wantFwd, chainRules(t, rs, "filter", "FLANNEL-FWD")); diff != "" {
		t.Errorf("FLANNEL-FWD (-want +got):\n%s", diff)
	}
	for _, r := range lookupChain(rs, "nat", "FLANNEL-POSTRTG").Rules {
		if r.Origin.By != "flannel" {
			t.Errorf("origin %v, want flannel", r.Origin)
		}
	}

	rs = withMasquerade(t, MasqueradeConfig{Mode: MasqueradeFlannel, PodCIDR: "10.244.1.0/24", ClusterCIDR: "10.244.0.0/16",
		RandomFully: new(false), FlannelForwardRules: new(false)})
	if got := rulesMatching(t, rs, "nat", "FLANNEL-POSTRTG", "random-fully"); len(got) != 0 {
		t.Errorf("--random-fully despite RandomFully=false: %q", got)
	}
	if lookupChain(rs, "filter", "FLANNEL-FWD") != nil {
		t.Error("FLANNEL-FWD despite FlannelForwardRules=false")
	}
}

func TestMasqueradeDocker(t *testing.T) {
	rs := withMasquerade(t, MasqueradeConfig{Mode: MasqueradeDockerDefault, PodCIDR: "172.7.21.0/24"})
	want := []string{kubePostroutingJump, "-s 172.7.21.0/24 ! -o docker0 -j MASQUERADE"}
	if diff := cmp.Diff(want, chainRules(t, rs, "nat", "POSTROUTING")); diff != "" {
		t.Errorf("docker-default POSTROUTING (-want +got):\n%s", diff)
	}

	// The tutorial inserts its rule with -I: first, even before kube-proxy's jump.
	rs = withMasquerade(t, MasqueradeConfig{Mode: MasqueradeDockerOptimized, PodCIDR: "172.7.21.0/24", ClusterCIDR: "172.7.0.0/16"})
	want = []string{"-s 172.7.21.0/24 ! -d 172.7.0.0/16 ! -o docker0 -j MASQUERADE", kubePostroutingJump}
	if diff := cmp.Diff(want, chainRules(t, rs, "nat", "POSTROUTING")); diff != "" {
		t.Errorf("docker-optimized POSTROUTING (-want +got):\n%s", diff)
	}
	if o := lookupChain(rs, "nat", "POSTROUTING").Rules[0].Origin; o.By != "docker" {
		t.Errorf("origin %v, want docker", o)
	}

	rs = withMasquerade(t, MasqueradeConfig{Mode: MasqueradeDockerDefault, PodCIDR: "10.244.1.0/24", Bridge: "cni0"})
	if got := chainRules(t, rs, "nat", "POSTROUTING")[1]; got != "-s 10.244.1.0/24 ! -o cni0 -j MASQUERADE" {
		t.Errorf("bridge cni0: %q", got)
	}
}

func TestMasqueradeIPMasqAgent(t *testing.T) {
	rs := withMasquerade(t, MasqueradeConfig{Mode: MasqueradeIPMasqAgent})
	wantPostrouting := []string{kubePostroutingJump,
		`-m comment --comment "ip-masq-agent: ensure nat POSTROUTING directs all non-LOCAL destination traffic to our custom IP-MASQ-AGENT chain" -m addrtype ! --dst-type LOCAL -j IP-MASQ-AGENT`}
	if diff := cmp.Diff(wantPostrouting, chainRules(t, rs, "nat", "POSTROUTING")); diff != "" {
		t.Errorf("POSTROUTING (-want +got):\n%s", diff)
	}
	nonMasq := `-m comment --comment "ip-masq-agent: local traffic is not subject to MASQUERADE" -d `
	wantChain := []string{
		nonMasq + "169.254.0.0/16 -j RETURN",
		nonMasq + "10.0.0.0/8 -j RETURN",
		nonMasq + "172.16.0.0/12 -j RETURN",
		nonMasq + "192.168.0.0/16 -j RETURN",
		`-m comment --comment "ip-masq-agent: outbound traffic is subject to MASQUERADE (must be last in chain)" -j MASQUERADE --random-fully`,
	}
	if diff := cmp.Diff(wantChain, chainRules(t, rs, "nat", "IP-MASQ-AGENT")); diff != "" {
		t.Errorf("IP-MASQ-AGENT defaults (-want +got):\n%s", diff)
	}

	rs = withMasquerade(t, MasqueradeConfig{Mode: MasqueradeIPMasqAgent, NonMasqueradeCIDRs: []string{"10.244.0.0/16"},
		MasqLinkLocal: true, RandomFully: new(false)})
	// --random-fully=false gives the rule of releases before v2.10.0.
	wantChain = []string{
		nonMasq + "10.244.0.0/16 -j RETURN",
		`-m comment --comment "ip-masq-agent: outbound traffic is subject to MASQUERADE (must be last in chain)" -j MASQUERADE`,
	}
	if diff := cmp.Diff(wantChain, chainRules(t, rs, "nat", "IP-MASQ-AGENT")); diff != "" {
		t.Errorf("IP-MASQ-AGENT configured (-want +got):\n%s", diff)
	}
}

func TestMasqueradeNoneAndErrors(t *testing.T) {
	rs := withMasquerade(t, MasqueradeConfig{Mode: MasqueradeNone})
	if diff := cmp.Diff([]string{kubePostroutingJump}, chainRules(t, rs, "nat", "POSTROUTING")); diff != "" {
		t.Errorf("none (-want +got):\n%s", diff)
	}
	tests := []struct {
		cfg  MasqueradeConfig
		want []string
	}{
		{MasqueradeConfig{Mode: "calico"}, []string{`unknown mode "calico"`}},
		{MasqueradeConfig{Mode: MasqueradeFlannel}, []string{"podCIDR is required", "clusterCIDR is required"}},
		{MasqueradeConfig{Mode: MasqueradeDockerOptimized, PodCIDR: "10.244.1.0/24", ClusterCIDR: "10.244.0.0"}, []string{"clusterCIDR", "not a CIDR"}},
		{MasqueradeConfig{Mode: MasqueradeIPMasqAgent, NonMasqueradeCIDRs: []string{"bogus"}}, []string{"nonMasqueradeCIDRs"}},
	}
	for _, tt := range tests {
		err := AddMasqueradeRules(&rules.Ruleset{}, tt.cfg)
		if err == nil {
			t.Errorf("%+v accepted", tt.cfg)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%+v: error %q does not mention %q", tt.cfg, err, w)
			}
		}
	}
}
