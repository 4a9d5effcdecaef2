package kube

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestBuiltinJumps(t *testing.T) {
	rs := generate(t, nil, nil, realNodeConfig("node-1"))
	builtins := func(table string, chains ...string) map[string][]string {
		out := map[string][]string{}
		for _, c := range chains {
			out[c] = chainRules(t, rs, table, c)
		}
		return out
	}
	// The reference's iptables-save of a fresh node: the last jump ensured comes first.
	wantFilter := map[string][]string{
		"INPUT": {
			"-j KUBE-FIREWALL",
			`-m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL`,
			`-m comment --comment "kubernetes health check service ports" -j KUBE-NODEPORTS`,
			`-m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES`,
		},
		"FORWARD": {
			`-m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL`,
			`-m comment --comment "kubernetes forwarding rules" -j KUBE-FORWARD`,
			`-m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`,
			`-m conntrack --ctstate NEW -m comment --comment "kubernetes externally-visible service portals" -j KUBE-EXTERNAL-SERVICES`,
		},
		"OUTPUT": {
			"-j KUBE-FIREWALL",
			`-m conntrack --ctstate NEW -m comment --comment "kubernetes load balancer firewall" -j KUBE-PROXY-FIREWALL`,
			`-m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES`,
		},
	}
	if diff := cmp.Diff(wantFilter, builtins("filter", "INPUT", "FORWARD", "OUTPUT")); diff != "" {
		t.Errorf("filter jumps (-want +got):\n%s", diff)
	}
	wantNat := map[string][]string{
		"PREROUTING":  {`-m comment --comment "kubernetes service portals" -j KUBE-SERVICES`},
		"INPUT":       nil,
		"OUTPUT":      {`-m comment --comment "kubernetes service portals" -j KUBE-SERVICES`},
		"POSTROUTING": {`-m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING`},
	}
	if diff := cmp.Diff(wantNat, builtins("nat", "PREROUTING", "INPUT", "OUTPUT", "POSTROUTING")); diff != "" {
		t.Errorf("nat jumps (-want +got):\n%s", diff)
	}

	// With the kubelet first, its KUBE-FIREWALL jumps end up below kube-proxy's.
	cfg := realNodeConfig("node-1")
	cfg.KubeletFirewallFirst = true
	rs = generate(t, nil, nil, cfg)
	for _, c := range []string{"INPUT", "OUTPUT"} {
		got := chainRules(t, rs, "filter", c)
		if got[len(got)-1] != "-j KUBE-FIREWALL" || strings.Contains(got[0], "KUBE-FIREWALL") {
			t.Errorf("kubelet first: %s = %q, want -j KUBE-FIREWALL last", c, got)
		}
	}
	for _, table := range []string{"mangle", "filter", "nat"} {
		if lookupChain(rs, table, chainCanary) == nil {
			t.Errorf("%s: no %s chain", table, chainCanary)
		}
	}
}

func TestRealNodeDefaults(t *testing.T) {
	rs := generate(t, []Service{webService()}, []EndpointSlice{slice1("default", "web", "http", 8080, epOn("10.244.1.5", "node-1"))}, realNodeConfig("node-1"))
	want := []string{
		"-m mark ! --mark 0x00004000/0x00004000 -j RETURN",
		"-j MARK --xor-mark 0x00004000",
		`-m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully`,
	}
	if diff := cmp.Diff(want, chainRules(t, rs, "nat", chainPostrouting)); diff != "" {
		t.Errorf("KUBE-POSTROUTING (-want +got):\n%s", diff)
	}
	if got := chainRules(t, rs, "nat", chainMarkMasq); !cmp.Equal(got, []string{"-j MARK --or-mark 0x00004000"}) {
		t.Errorf("KUBE-MARK-MASQ = %q", got)
	}
	if got := chainRules(t, rs, "filter", chainForward)[0]; got != "-m conntrack --ctstate INVALID -j DROP" {
		t.Errorf("INVALID rule %q has no business with nfacct on a real node", got)
	}
	for _, tc := range rs.Tables {
		for _, c := range tc.Chains {
			for _, r := range c.Rules {
				if r.Origin.By != "kube-proxy" {
					t.Errorf("%s/%s: rule %q has origin %v", tc.Name, c.Name, r.Spec(), r.Origin)
				}
			}
		}
	}
}

func TestConfigVariants(t *testing.T) {
	services := []Service{
		webService(),
		{Namespace: "default", Name: "np", Type: ServiceTypeNodePort, ClusterIP: "10.96.0.11",
			Ports: []ServicePort{{Name: "http", Port: 80, NodePort: 30080}}},
	}
	endpointSlices := []EndpointSlice{
		slice1("default", "web", "http", 8080, epOn("10.244.1.5", "node-1")),
		slice1("default", "np", "http", 80, epOn("10.244.2.5", "node-2")),
	}
	svc := ClusterChainName("default/web:http", ProtocolTCP)
	tests := []struct {
		name   string
		change func(*Config)
		table  string
		chain  string
		want   []string // rules containing match
		match  string
	}{
		{"masqueradeAll", func(c *Config) { c.MasqueradeAll = true }, "nat", svc,
			[]string{`-m comment --comment "default/web:http cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 80 -j KUBE-MARK-MASQ`}, "KUBE-MARK-MASQ"},
		{"bridge", func(c *Config) { c.DetectLocalMode, c.DetectLocal = DetectLocalBridgeInterface, "cni0" }, "nat", svc,
			[]string{`-m comment --comment "default/web:http cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 80 ! -i cni0 -j KUBE-MARK-MASQ`}, "KUBE-MARK-MASQ"},
		{"prefix", func(c *Config) { c.DetectLocalMode, c.DetectLocal = DetectLocalInterfaceNamePrefix, "veth" }, "nat", svc,
			[]string{`-m comment --comment "default/web:http cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 80 ! -i veth+ -j KUBE-MARK-MASQ`}, "KUBE-MARK-MASQ"},
		{"node CIDR", func(c *Config) { c.DetectLocalMode, c.DetectLocal = DetectLocalNodeCIDR, "10.244.1.0/24" }, "nat", svc,
			[]string{`-m comment --comment "default/web:http cluster IP" -m tcp -p tcp -d 10.96.0.10 --dport 80 ! -s 10.244.1.0/24 -j KUBE-MARK-MASQ`}, "KUBE-MARK-MASQ"},
		{"no detection", func(c *Config) { c.DetectLocalMode = DetectLocalNone }, "nat", svc, nil, "KUBE-MARK-MASQ"},
		{"no localhost NodePorts", func(c *Config) { c.LocalhostNodePorts = new(false) }, "nat", chainServices,
			[]string{`-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS`}, "NOTE"},
		{"no localhost NodePorts: no localnet block", func(c *Config) { c.LocalhostNodePorts = new(false) }, "filter", chainKubeletFirewall, nil, ""},
		{"nodePortAddresses", func(c *Config) { c.NodePortAddresses = []string{"192.168.50.0/24"} }, "nat", chainServices,
			[]string{`-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -d 192.168.50.11 -j KUBE-NODEPORTS`}, "NOTE"},
		{"nodePortAddresses primary and loopback", func(c *Config) { c.NodePortAddresses = []string{"primary", "127.0.0.0/8"} }, "nat", chainServices,
			[]string{
				`-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -d 127.0.0.1 -j KUBE-NODEPORTS`,
				`-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -d 192.168.50.11 -j KUBE-NODEPORTS`,
			}, "NOTE"},
		{"tcp liberal", func(c *Config) { c.ConntrackTCPLiberal = true }, "filter", chainForward, nil, "INVALID"},
		{"no random-fully", func(c *Config) { c.RandomFully = new(false) }, "nat", chainPostrouting,
			[]string{`-m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE`}, "MASQUERADE"},
		{"nfacct", func(c *Config) { c.NFAcctCounters = true }, "nat", chainNodePorts,
			[]string{"-m comment --comment default/np:http -m tcp -p tcp -d 127.0.0.0/8 --dport 30080 -m nfacct --nfacct-name localhost_nps_accepted_pkts -j " + ExternalChainName("default/np:http", ProtocolTCP)}, "nfacct"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := realNodeConfig("node-1")
			tt.change(&cfg)
			rs := generate(t, services, endpointSlices, cfg)
			if diff := cmp.Diff(tt.want, rulesMatching(t, rs, tt.table, tt.chain, tt.match)); diff != "" {
				t.Errorf("%s/%s rules matching %q (-want +got):\n%s", tt.table, tt.chain, tt.match, diff)
			}
		})
	}
}

func TestConfigErrors(t *testing.T) {
	snap, err := NewSnapshot(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = snap.KubeProxyRules(Config{NodeIPs: []string{"300.1.1.1"}, DetectLocalMode: "Magic", NodePortAddresses: []string{"x"}})
	if err == nil {
		t.Fatal("bad config accepted")
	}
	for _, want := range []string{"node name is empty", `"300.1.1.1" is not an IP address`, `unknown detect-local mode "Magic"`, "nodePortAddresses"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestSnapshotErrorsAndSkips(t *testing.T) {
	services := []Service{
		{Namespace: "a", Name: "headless", ClusterIP: "None", Ports: []ServicePort{{Port: 80}}},
		{Namespace: "a", Name: "v6", ClusterIP: "fd00::10", Ports: []ServicePort{{Port: 80}}},
		{Namespace: "a", Name: "bad-ip", ClusterIP: "10.96.0.300", Ports: []ServicePort{{Port: 80}}},
		{Namespace: "a", Name: "bad-port", ClusterIP: "10.96.0.1", Ports: []ServicePort{{Port: 0}}},
		{Namespace: "a", Name: "bad-proto", ClusterIP: "10.96.0.2", Ports: []ServicePort{{Port: 80, Protocol: "ICMP"}}},
		{Namespace: "a", Name: "bad-range", ClusterIP: "10.96.0.3", Ports: []ServicePort{{Port: 80}}, LoadBalancerSourceRanges: []string{"10.0.0.0/33"}},
		{Namespace: "a", Name: "dup", ClusterIP: "10.96.0.4", Ports: []ServicePort{{Port: 80}}},
		{Namespace: "a", Name: "dup", ClusterIP: "10.96.0.5", Ports: []ServicePort{{Port: 80}}},
		{Namespace: "a", Name: "policy", ClusterIP: "10.96.0.6", Ports: []ServicePort{{Port: 80}}, ExternalTrafficPolicy: "local"},
		{Namespace: "a", Name: "unnamed", ClusterIP: "10.96.0.7", Ports: []ServicePort{{Port: 80}, {Port: 81}}},
		{Namespace: "a", Name: "same-name", ClusterIP: "10.96.0.8", Ports: []ServicePort{{Name: "p", Port: 80}, {Name: "p", Port: 81}}},
		{Namespace: "a", Name: "alias", Type: ServiceTypeExternalName, Ports: []ServicePort{{Port: 80}}},
	}
	_, err := NewSnapshot(services, nil)
	if err == nil {
		t.Fatal("bad services accepted")
	}
	for _, want := range []string{"a/bad-ip: clusterIP", "a/bad-port", "a/bad-proto", "a/bad-range", "a/dup: defined twice",
		`a/policy: externalTrafficPolicy "local" is not one of`, "a/unnamed: ports need names", `a/same-name: port name "p" is used twice`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	for _, unwanted := range []string{"headless", "v6", "alias"} {
		if strings.Contains(err.Error(), unwanted) {
			t.Errorf("error %q mentions %s, which kube-proxy ignores", err, unwanted)
		}
	}
}

// TestLargeClusterMode checks that above 1000 endpoints kube-proxy drops the comments of
// endpoint rules (and only those).
func TestLargeClusterMode(t *testing.T) {
	var eps []Endpoint
	for i := range 1001 {
		eps = append(eps, ep(fmt.Sprintf("10.244.%d.%d", i/250, i%250+1)))
	}
	rs := generate(t, []Service{webService()}, []EndpointSlice{slice1("default", "web", "http", 8080, eps...)}, realNodeConfig("node-1"))
	svc := chainRules(t, rs, "nat", ClusterChainName("default/web:http", ProtocolTCP))
	if !strings.Contains(svc[0], "cluster IP") || strings.Contains(svc[1], "comment") {
		t.Errorf("large cluster: SVC rules %q / %q", svc[0], svc[1])
	}
	sep := chainRules(t, rs, "nat", EndpointChainName("default/web:http", ProtocolTCP, "10.244.0.1:8080"))
	if want := []string{"-s 10.244.0.1 -j KUBE-MARK-MASQ", "-m tcp -p tcp -j DNAT --to-destination 10.244.0.1:8080"}; !cmp.Equal(sep, want) {
		t.Errorf("large cluster: SEP rules %q, want %q", sep, want)
	}
}

func TestSysctls(t *testing.T) {
	want := map[string]string{"net.ipv4.conf.all.route_localnet": "1"}
	if got := realNodeConfig("node-1").Sysctls(); !cmp.Equal(got, want) {
		t.Errorf("default: %v, want %v", got, want)
	}
	cfg := realNodeConfig("node-1")
	cfg.NodePortAddresses = []string{"192.168.50.0/24"} // no loopback: no localhost NodePorts
	if got := cfg.Sysctls(); got != nil {
		t.Errorf("without loopback NodePorts: %v", got)
	}
}
