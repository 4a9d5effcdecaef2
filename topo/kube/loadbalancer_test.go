package kube

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/labctl/labctl/topo/rules"
)

var threeNodes = []Node{{"node-1", "192.168.50.11"}, {"node-2", "192.168.50.12"}, {"node-3", "192.168.50.13"}}

func loadBalancerRules(t *testing.T, services []Service, slices []EndpointSlice, cfg LoadBalancerConfig) *rules.Ruleset {
	t.Helper()
	snap, err := NewSnapshot(services, slices)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := snap.LoadBalancerRules(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// clusterLB is seed 002's pipeline: a LoadBalancer service with Cluster policy.
func clusterLB() Service {
	return Service{Namespace: "default", Name: "web", Type: ServiceTypeLoadBalancer, ClusterIP: "10.96.0.10",
		Ports:               []ServicePort{{Name: "http", Port: 80, TargetPort: TargetPortNumber(8080), NodePort: 32001}},
		LoadBalancerIngress: []LoadBalancerIngress{{IP: "203.0.113.10"}}}
}

func TestLoadBalancerDNAT(t *testing.T) {
	eps := slice1("default", "web", "http", 8080, epOn("10.244.3.42", "node-3"))
	rs := loadBalancerRules(t, []Service{clusterLB()}, []EndpointSlice{eps}, LoadBalancerConfig{Mode: LoadBalancerDNAT, Nodes: threeNodes})
	chain := "LB-" + strings.TrimPrefix(ClusterChainName("default/web:http", "tcp"), "KUBE-SVC-")
	wantDispatch := []string{`-m comment --comment "default/web:http loadbalancer" -m tcp -p tcp -d 203.0.113.10 --dport 80 -j ` + chain}
	if diff := cmp.Diff(wantDispatch, chainRules(t, rs, "nat", "LB-SERVICES")); diff != "" {
		t.Errorf("LB-SERVICES (-want +got):\n%s", diff)
	}
	// Cluster policy: every node, spread evenly.
	want := []string{
		`-m comment --comment "default/web:http -> node-1 192.168.50.11:32001" -m statistic --mode random --probability 0.3333333333 -m tcp -p tcp -j DNAT --to-destination 192.168.50.11:32001`,
		`-m comment --comment "default/web:http -> node-2 192.168.50.12:32001" -m statistic --mode random --probability 0.5000000000 -m tcp -p tcp -j DNAT --to-destination 192.168.50.12:32001`,
		`-m comment --comment "default/web:http -> node-3 192.168.50.13:32001" -m tcp -p tcp -j DNAT --to-destination 192.168.50.13:32001`,
	}
	if diff := cmp.Diff(want, chainRules(t, rs, "nat", chain)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", chain, diff)
	}
	for _, from := range []string{"PREROUTING", "OUTPUT"} {
		if got := chainRules(t, rs, "nat", from); !cmp.Equal(got, []string{`-m comment --comment "cloud load balancer VIPs" -j LB-SERVICES`}) {
			t.Errorf("%s = %q", from, got)
		}
	}
	if got := chainRules(t, rs, "nat", "POSTROUTING"); len(got) != 0 {
		t.Errorf("dnat mode rewrites sources: %q", got)
	}
	if o := lookupChain(rs, "nat", chain).Rules[0].Origin; o.By != "loadbalancer" {
		t.Errorf("origin %v", o)
	}
}

func TestLoadBalancerProxyLocalPolicy(t *testing.T) {
	services, endpointSlices := localLB() // endpoints on node-1 and node-2
	rs := loadBalancerRules(t, services, endpointSlices, LoadBalancerConfig{Mode: LoadBalancerProxy, Address: "192.168.50.2", Nodes: threeNodes})
	chain := "LB-" + strings.TrimPrefix(ClusterChainName("default/lb:http", "tcp"), "KUBE-SVC-")
	// Local policy: only the nodes whose health check passes.
	want := []string{
		`-m comment --comment "default/lb:http -> node-1 192.168.50.11:30080" -m statistic --mode random --probability 0.5000000000 -m tcp -p tcp -j DNAT --to-destination 192.168.50.11:30080`,
		`-m comment --comment "default/lb:http -> node-2 192.168.50.12:30080" -m tcp -p tcp -j DNAT --to-destination 192.168.50.12:30080`,
	}
	if diff := cmp.Diff(want, chainRules(t, rs, "nat", chain)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", chain, diff)
	}
	wantSNAT := []string{`-m comment --comment "default/lb:http loadbalancer proxy" -p tcp -m conntrack --ctstate DNAT --ctorigdst 203.0.113.10 --ctorigdstport 80 -j SNAT --to-source 192.168.50.2`}
	if diff := cmp.Diff(wantSNAT, chainRules(t, rs, "nat", "LB-POSTROUTING")); diff != "" {
		t.Errorf("LB-POSTROUTING (-want +got):\n%s", diff)
	}
	if got := chainRules(t, rs, "nat", "POSTROUTING"); len(got) != 1 || !strings.HasSuffix(got[0], "-j LB-POSTROUTING") {
		t.Errorf("POSTROUTING = %q", got)
	}

	// No node has a ready endpoint: fail open to all nodes.
	notReady := slice1("default", "lb", "http", 8080, readyEp("10.244.1.5", "node-1", false))
	rs = loadBalancerRules(t, services, []EndpointSlice{notReady}, LoadBalancerConfig{Mode: LoadBalancerDNAT, Nodes: threeNodes})
	got := chainRules(t, rs, "nat", chain)
	if len(got) != 3 || !strings.Contains(got[0], "failing open") {
		t.Errorf("fail open: %q", got)
	}
}

func TestLoadBalancerErrors(t *testing.T) {
	noNodePort := clusterLB()
	noNodePort.Ports[0].NodePort = 0
	snap, err := NewSnapshot([]Service{noNodePort}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		cfg  LoadBalancerConfig
		want []string
	}{
		{LoadBalancerConfig{Mode: "nat", Nodes: threeNodes}, []string{`unknown mode "nat"`}},
		{LoadBalancerConfig{Mode: LoadBalancerProxy, Nodes: threeNodes}, []string{"proxy mode needs the load balancer's address"}},
		{LoadBalancerConfig{Mode: LoadBalancerDNAT}, []string{"no nodes"}},
		{LoadBalancerConfig{Mode: LoadBalancerDNAT, Nodes: []Node{{"node-1", "x"}}}, []string{`node "node-1"`}},
		{LoadBalancerConfig{Mode: LoadBalancerDNAT, Nodes: threeNodes}, []string{"default/web:http has no nodePort"}},
	}
	for _, tt := range tests {
		_, err := snap.LoadBalancerRules(tt.cfg)
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

// loadBalancerSourceRanges are enforced on the load balancer, per VIP and port: the
// listed sources reach the DNAT chain, the rest stays addressed to the VIP and is
// dropped in filter INPUT, as a cloud firewall drops it.
func TestLoadBalancerSourceRanges(t *testing.T) {
	svc := clusterLB()
	svc.LoadBalancerSourceRanges = []string{"203.0.113.0/28", " 192.0.2.0/24"}
	svc.LoadBalancerIngress = append(svc.LoadBalancerIngress, LoadBalancerIngress{IP: "203.0.113.11"})
	open := Service{Namespace: "default", Name: "open", Type: ServiceTypeLoadBalancer, ClusterIP: "10.96.0.11",
		Ports:               []ServicePort{{Name: "http", Port: 80, NodePort: 32002}},
		LoadBalancerIngress: []LoadBalancerIngress{{IP: "203.0.113.20"}}}
	for _, mode := range []LoadBalancerMode{LoadBalancerDNAT, LoadBalancerProxy} {
		t.Run(string(mode), func(t *testing.T) {
			rs := loadBalancerRules(t, []Service{svc, open}, nil, LoadBalancerConfig{Mode: mode, Address: "192.168.50.2", Nodes: threeNodes})
			hash := strings.TrimPrefix(ClusterChainName("default/web:http", "tcp"), "KUBE-SVC-")
			fw, lb := "LB-FW-"+hash, "LB-"+hash
			if fw != "LB-"+strings.TrimPrefix(FirewallChainName("default/web:http", "tcp"), "KUBE-") {
				t.Errorf("%s does not pair with kube-proxy's %s", fw, FirewallChainName("default/web:http", "tcp"))
			}
			openChain := "LB-" + strings.TrimPrefix(ClusterChainName("default/open:http", "tcp"), "KUBE-SVC-")
			wantDispatch := []string{
				`-m comment --comment "default/open:http loadbalancer" -m tcp -p tcp -d 203.0.113.20 --dport 80 -j ` + openChain,
				`-m comment --comment "default/web:http loadbalancer" -m tcp -p tcp -d 203.0.113.10 --dport 80 -j ` + fw,
				`-m comment --comment "default/web:http loadbalancer" -m tcp -p tcp -d 203.0.113.11 --dport 80 -j ` + fw,
			}
			if diff := cmp.Diff(wantDispatch, chainRules(t, rs, "nat", "LB-SERVICES")); diff != "" {
				t.Errorf("LB-SERVICES (-want +got):\n%s", diff)
			}
			wantFW := []string{
				`-m comment --comment "default/web:http loadbalancer source range" -s 203.0.113.0/28 -j ` + lb,
				`-m comment --comment "default/web:http loadbalancer source range" -s 192.0.2.0/24 -j ` + lb,
				`-m comment --comment "other traffic to default/web:http loadbalancer will be dropped by LB-FIREWALL"`,
			}
			if diff := cmp.Diff(wantFW, chainRules(t, rs, "nat", fw)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", fw, diff)
			}
			wantDrop := []string{
				`-m comment --comment "default/web:http traffic not accepted by ` + fw + `" -m tcp -p tcp -d 203.0.113.10 --dport 80 -j DROP`,
				`-m comment --comment "default/web:http traffic not accepted by ` + fw + `" -m tcp -p tcp -d 203.0.113.11 --dport 80 -j DROP`,
			}
			if diff := cmp.Diff(wantDrop, chainRules(t, rs, "filter", "LB-FIREWALL")); diff != "" {
				t.Errorf("LB-FIREWALL (-want +got):\n%s", diff)
			}
			wantInput := []string{`-m conntrack --ctstate NEW -m comment --comment "cloud load balancer source ranges" -j LB-FIREWALL`}
			if diff := cmp.Diff(wantInput, chainRules(t, rs, "filter", "INPUT")); diff != "" {
				t.Errorf("INPUT (-want +got):\n%s", diff)
			}
			// The DNAT chain itself is the same with or without ranges.
			if got := chainRules(t, rs, "nat", lb); len(got) != 3 {
				t.Errorf("%s: %q", lb, got)
			}
		})
	}
	// Without any source range the load balancer has no filter table at all.
	rs := loadBalancerRules(t, []Service{open}, nil, LoadBalancerConfig{Mode: LoadBalancerDNAT, Nodes: threeNodes})
	if rs.Lookup("filter") != nil {
		payload, _ := rs.Render()
		t.Errorf("filter table without source ranges:\n%s", payload)
	}
}
