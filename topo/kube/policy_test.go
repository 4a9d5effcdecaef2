package kube

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// localLB is a LoadBalancer service with externalTrafficPolicy Local and one endpoint on
// each of node-1 and node-2.
func localLB() ([]Service, []EndpointSlice) {
	svc := Service{Namespace: "default", Name: "lb", Type: ServiceTypeLoadBalancer, ClusterIP: "10.96.0.20",
		ExternalTrafficPolicy: TrafficPolicyLocal, HealthCheckNodePort: 32000,
		Ports:               []ServicePort{{Name: "http", Port: 80, NodePort: 30080}},
		LoadBalancerIngress: []LoadBalancerIngress{{IP: "203.0.113.10"}}}
	eps := slice1("default", "lb", "http", 8080, epOn("10.244.1.5", "node-1"), epOn("10.244.2.5", "node-2"))
	return []Service{svc}, []EndpointSlice{eps}
}

func TestExternalTrafficPolicyLocal(t *testing.T) {
	services, endpointSlices := localLB()
	const spn = "default/lb:http"
	svc, svl, ext := ClusterChainName(spn, "tcp"), LocalChainName(spn, "tcp"), ExternalChainName(spn, "tcp")
	sep1 := EndpointChainName(spn, "tcp", "10.244.1.5:8080")

	rs := generate(t, services, endpointSlices, realNodeConfig("node-1"))
	wantExt := []string{
		`-m comment --comment "pod traffic for default/lb:http external destinations" -s 10.244.0.0/16 -j ` + svc,
		`-m comment --comment "masquerade LOCAL traffic for default/lb:http external destinations" -m addrtype --src-type LOCAL -j KUBE-MARK-MASQ`,
		`-m comment --comment "route LOCAL traffic for default/lb:http external destinations" -m addrtype --src-type LOCAL -j ` + svc,
		"-j " + svl,
	}
	if diff := cmp.Diff(wantExt, chainRules(t, rs, "nat", ext)); diff != "" {
		t.Errorf("node with a local endpoint: %s (-want +got):\n%s", ext, diff)
	}
	wantSvl := []string{`-m comment --comment "default/lb:http -> 10.244.1.5:8080" -j ` + sep1}
	if diff := cmp.Diff(wantSvl, chainRules(t, rs, "nat", svl)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", svl, diff)
	}
	if got := len(chainRules(t, rs, "nat", svc)); got != 3 { // masquerade + 2 endpoints
		t.Errorf("%s has %d rules, want 3", svc, got)
	}
	if got := chainRules(t, rs, "filter", chainExternalServices); len(got) != 0 {
		t.Errorf("node with a local endpoint drops external traffic: %q", got)
	}
	wantHealth := []string{`-m comment --comment "default/lb:http health check node port" -m tcp -p tcp --dport 32000 -j ACCEPT`}
	if diff := cmp.Diff(wantHealth, chainRules(t, rs, "filter", chainNodePorts)); diff != "" {
		t.Errorf("health check (-want +got):\n%s", diff)
	}

	// node-3 has no endpoint: EXT keeps its short-circuits but has no way out, and the
	// filter table drops what is left of external traffic.
	rs = generate(t, services, endpointSlices, Config{NodeName: "node-3", NodeIPs: []string{"192.168.50.13"}, DetectLocal: "10.244.0.0/16"})
	if diff := cmp.Diff(wantExt[:3], chainRules(t, rs, "nat", ext)); diff != "" {
		t.Errorf("node without a local endpoint: %s (-want +got):\n%s", ext, diff)
	}
	if lookupChain(rs, "nat", svl) != nil {
		t.Errorf("node without a local endpoint has %s", svl)
	}
	wantDrops := []string{
		`-m comment --comment "default/lb:http has no local endpoints" -m tcp -p tcp -d 203.0.113.10 --dport 80 -j DROP`,
		`-m comment --comment "default/lb:http has no local endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30080 -j DROP`,
	}
	if diff := cmp.Diff(wantDrops, chainRules(t, rs, "filter", chainExternalServices)); diff != "" {
		t.Errorf("node without a local endpoint: drops (-want +got):\n%s", diff)
	}
}

func TestInternalTrafficPolicyLocal(t *testing.T) {
	dns := Service{Namespace: "default", Name: "dns", ClusterIP: "10.96.0.53", InternalTrafficPolicy: TrafficPolicyLocal,
		Ports: []ServicePort{{Name: "dns", Protocol: ProtocolUDP, Port: 53}}}
	eps := EndpointSlice{Namespace: "default", ServiceName: "dns", Endpoints: []Endpoint{epOn("10.244.1.53", "node-1")},
		Ports: []EndpointPort{{Name: "dns", Protocol: ProtocolUDP, Port: 53}}}
	const spn = "default/dns:dns"
	svl := LocalChainName(spn, ProtocolUDP)

	rs := generate(t, []Service{dns}, []EndpointSlice{eps}, realNodeConfig("node-1"))
	if got := rulesMatching(t, rs, "nat", chainServices, "10.96.0.53"); len(got) != 1 || !strings.HasSuffix(got[0], "-j "+svl) {
		t.Errorf("KUBE-SERVICES does not send the ClusterIP to %s: %q", svl, got)
	}
	wantSvl := []string{
		`-m comment --comment "default/dns:dns cluster IP" -m udp -p udp -d 10.96.0.53 --dport 53 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ`,
		`-m comment --comment "default/dns:dns -> 10.244.1.53:53" -j ` + EndpointChainName(spn, ProtocolUDP, "10.244.1.53:53"),
	}
	if diff := cmp.Diff(wantSvl, chainRules(t, rs, "nat", svl)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", svl, diff)
	}
	if lookupChain(rs, "nat", ClusterChainName(spn, ProtocolUDP)) != nil {
		t.Error("a ClusterIP service with internalTrafficPolicy Local has a KUBE-SVC chain")
	}

	rs = generate(t, []Service{dns}, []EndpointSlice{eps}, realNodeConfig("node-2"))
	want := []string{`-m comment --comment "default/dns:dns has no local endpoints" -m udp -p udp -d 10.96.0.53 --dport 53 -j DROP`}
	if diff := cmp.Diff(want, chainRules(t, rs, "filter", chainServices)); diff != "" {
		t.Errorf("node without a local endpoint (-want +got):\n%s", diff)
	}
	if got := rulesMatching(t, rs, "nat", chainServices, "10.96.0.53"); len(got) != 0 {
		t.Errorf("node without a local endpoint captures the ClusterIP: %q", got)
	}
}

func TestNoEndpointsRejects(t *testing.T) {
	svc := Service{Namespace: "default", Name: "gone", Type: ServiceTypeLoadBalancer, ClusterIP: "10.96.0.30",
		ExternalIPs: []string{"192.168.50.200"}, LoadBalancerIngress: []LoadBalancerIngress{{IP: "203.0.113.30"}},
		Ports: []ServicePort{{Port: 80, NodePort: 30030}}}
	notReady := slice1("default", "gone", "", 80, readyEp("10.244.1.30", "node-1", false))
	rs := generate(t, []Service{svc}, []EndpointSlice{notReady}, realNodeConfig("node-1"))
	want := map[string][]string{
		chainServices: {`-m comment --comment "default/gone has no endpoints" -m tcp -p tcp -d 10.96.0.30 --dport 80 -j REJECT`},
		chainExternalServices: {
			`-m comment --comment "default/gone has no endpoints" -m tcp -p tcp -d 192.168.50.200 --dport 80 -j REJECT`,
			`-m comment --comment "default/gone has no endpoints" -m tcp -p tcp -d 203.0.113.30 --dport 80 -j REJECT`,
			`-m comment --comment "default/gone has no endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30030 -j REJECT`,
		},
	}
	got := map[string][]string{
		chainServices:         chainRules(t, rs, "filter", chainServices),
		chainExternalServices: chainRules(t, rs, "filter", chainExternalServices),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("REJECT rules (-want +got):\n%s", diff)
	}
	for _, c := range lookupChain(rs, "nat", chainServices).Rules {
		if strings.Contains(c.Spec(), "default/gone") {
			t.Errorf("service without endpoints is captured: %s", c.Spec())
		}
	}
}

// TestServingTerminatingFallback: with no ready endpoint anywhere, kube-proxy uses the
// serving, terminating ones rather than black-holing the service.
func TestServingTerminatingFallback(t *testing.T) {
	terminating := Endpoint{Addresses: []string{"10.244.1.6"}, NodeName: "node-1",
		Conditions: EndpointConditions{Ready: new(false), Serving: new(true), Terminating: new(true)}}
	gone := Endpoint{Addresses: []string{"10.244.2.6"}, NodeName: "node-2",
		Conditions: EndpointConditions{Ready: new(false), Serving: new(false), Terminating: new(true)}}
	rs := generate(t, []Service{webService()}, []EndpointSlice{slice1("default", "web", "http", 8080, terminating, gone)}, realNodeConfig("node-2"))
	got := chainRules(t, rs, "nat", ClusterChainName("default/web:http", ProtocolTCP))[1:]
	want := []string{`-m comment --comment "default/web:http -> 10.244.1.6:8080" -j ` + EndpointChainName("default/web:http", ProtocolTCP, "10.244.1.6:8080")}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("fallback (-want +got):\n%s", diff)
	}
}

// TestLocalTerminatingWithRemoteReady: eTP=Local falls back to this node's terminating
// endpoint while Cluster policy uses the ready remote one, so both get SEP chains.
func TestLocalTerminatingWithRemoteReady(t *testing.T) {
	services, _ := localLB()
	local := Endpoint{Addresses: []string{"10.244.1.5"}, NodeName: "node-1",
		Conditions: EndpointConditions{Ready: new(false), Serving: new(true), Terminating: new(true)}}
	eps := slice1("default", "lb", "http", 8080, local, epOn("10.244.2.5", "node-2"))
	rs := generate(t, services, []EndpointSlice{eps}, realNodeConfig("node-1"))
	for _, ip := range []string{"10.244.1.5:8080", "10.244.2.5:8080"} {
		if lookupChain(rs, "nat", EndpointChainName("default/lb:http", "tcp", ip)) == nil {
			t.Errorf("no SEP chain for %s", ip)
		}
	}
	if got := chainRules(t, rs, "nat", LocalChainName("default/lb:http", "tcp")); len(got) != 1 || !strings.Contains(got[0], "10.244.1.5") {
		t.Errorf("SVL = %q, want the terminating local endpoint", got)
	}
}

func TestFirewallAllowsNodeAndSkipsProxyIPMode(t *testing.T) {
	svc := Service{Namespace: "default", Name: "fw", Type: ServiceTypeLoadBalancer, ClusterIP: "10.96.0.40",
		Ports:                    []ServicePort{{Name: "http", Port: 80, NodePort: 30040}},
		LoadBalancerSourceRanges: []string{"192.168.50.0/24"},
		LoadBalancerIngress:      []LoadBalancerIngress{{IP: "203.0.113.40"}, {IP: "203.0.113.41", IPMode: LoadBalancerIPModeProxy}}}
	rs := generate(t, []Service{svc}, []EndpointSlice{slice1("default", "fw", "http", 80, epOn("10.244.1.40", "node-1"))}, realNodeConfig("node-1"))
	const spn = "default/fw:http"
	ext := ExternalChainName(spn, "tcp")
	want := []string{
		`-m comment --comment "default/fw:http loadbalancer IP" -s 192.168.50.0/24 -j ` + ext,
		// The node IP is in the range: its own traffic to the VIP comes from the VIP.
		`-m comment --comment "default/fw:http loadbalancer IP" -s 203.0.113.40 -j ` + ext,
		`-m comment --comment "other traffic to default/fw:http will be dropped by KUBE-PROXY-FIREWALL"`,
	}
	if diff := cmp.Diff(want, chainRules(t, rs, "nat", FirewallChainName(spn, "tcp"))); diff != "" {
		t.Errorf("KUBE-FW (-want +got):\n%s", diff)
	}
	if got := rulesMatching(t, rs, "nat", chainServices, "203.0.113.41"); len(got) != 0 {
		t.Errorf("ipMode Proxy ingress is captured: %q", got)
	}
}
