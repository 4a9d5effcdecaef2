package kube

import (
	"testing"

	"github.com/labctl/labctl/topo/rules"
)

// The scenarios are complete node rulesets, kube-proxy plus Pod masquerade, or load
// balancer hosts. They are the golden files (golden_test.go), which node/iptables'
// kernel test loads into a real kernel, so every configuration knob that changes the
// rule text is exercised by at least one of them.

// workshop is a three-node cluster using every kind of service.
func workshop() ([]Service, []Pod, []EndpointSlice) {
	http := []ContainerPort{{Name: "http", Port: 8080}}
	services := []Service{
		{Namespace: "default", Name: "web", ClusterIP: "10.96.0.10", Selector: map[string]string{"app": "web"},
			Ports: []ServicePort{{Name: "http", Port: 80, TargetPort: TargetPortNumber(8080)}}},
		{Namespace: "default", Name: "web-np", Type: ServiceTypeNodePort, ClusterIP: "10.96.0.11", Selector: map[string]string{"app": "web"},
			Ports: []ServicePort{{Name: "http", Port: 80, TargetPort: TargetPortName("http"), NodePort: 30080}}},
		{Namespace: "default", Name: "web-lb", Type: ServiceTypeLoadBalancer, ClusterIP: "10.96.0.12", Selector: map[string]string{"app": "web"},
			ExternalTrafficPolicy: TrafficPolicyLocal, HealthCheckNodePort: 32001,
			SessionAffinity: SessionAffinityClientIP, SessionAffinityTimeoutSeconds: 600,
			LoadBalancerSourceRanges: []string{"203.0.113.0/24", "192.168.50.0/24"},
			LoadBalancerIngress:      []LoadBalancerIngress{{IP: "203.0.113.10"}},
			Ports:                    []ServicePort{{Name: "http", Port: 80, TargetPort: TargetPortNumber(8080), NodePort: 30081}}},
		{Namespace: "default", Name: "web-ext", ClusterIP: "10.96.0.13", Selector: map[string]string{"app": "web"},
			ExternalIPs: []string{"192.168.50.100"},
			Ports:       []ServicePort{{Name: "https", Port: 443, TargetPort: TargetPortNumber(8080)}}},
		{Namespace: "kube-system", Name: "kube-dns", ClusterIP: "10.96.0.53", Selector: map[string]string{"k8s-app": "kube-dns"},
			Ports: []ServicePort{{Name: "dns", Protocol: ProtocolUDP, Port: 53}, {Name: "dns-tcp", Protocol: ProtocolTCP, Port: 53}}},
		{Namespace: "default", Name: "agent", ClusterIP: "10.96.0.60", Selector: map[string]string{"app": "agent"},
			InternalTrafficPolicy: TrafficPolicyLocal, Ports: []ServicePort{{Port: 9000}}},
		{Namespace: "default", Name: "sctp", ClusterIP: "10.96.0.70", Selector: map[string]string{"app": "sctp"},
			Ports: []ServicePort{{Name: "sig", Protocol: ProtocolSCTP, Port: 3868}}},
		{Namespace: "default", Name: "empty", ClusterIP: "10.96.0.99", Selector: map[string]string{"app": "nothing"},
			Ports: []ServicePort{{Port: 80}}},
		{Namespace: "default", Name: "external-db", ClusterIP: "10.96.0.30", Ports: []ServicePort{{Name: "pg", Port: 5432}}},
	}
	pods := []Pod{
		{Namespace: "default", Name: "web-0", Labels: map[string]string{"app": "web"}, IP: "10.244.1.10", NodeName: "node-1", Ready: true, Ports: http},
		{Namespace: "default", Name: "web-1", Labels: map[string]string{"app": "web"}, IP: "10.244.2.10", NodeName: "node-2", Ready: true, Ports: http},
		{Namespace: "default", Name: "web-2", Labels: map[string]string{"app": "web"}, IP: "10.244.3.10", NodeName: "node-3", Ports: http},
		{Namespace: "kube-system", Name: "coredns-0", Labels: map[string]string{"k8s-app": "kube-dns"}, IP: "10.244.1.53", NodeName: "node-1", Ready: true},
		{Namespace: "default", Name: "agent-1", Labels: map[string]string{"app": "agent"}, IP: "10.244.1.20", NodeName: "node-1", Ready: true},
		{Namespace: "default", Name: "agent-2", Labels: map[string]string{"app": "agent"}, IP: "10.244.2.20", NodeName: "node-2", Ready: true},
		{Namespace: "default", Name: "sctp-0", Labels: map[string]string{"app": "sctp"}, IP: "10.244.2.30", NodeName: "node-2", Ready: true},
	}
	manual := []EndpointSlice{{Namespace: "default", ServiceName: "external-db",
		Ports: []EndpointPort{{Name: "pg", Protocol: ProtocolTCP, Port: 5432}}, Endpoints: []Endpoint{{Addresses: []string{"192.168.50.30"}}}}}
	return services, pods, manual
}

type scenario struct {
	name string
	rs   *rules.Ruleset
}

func scenarios(t *testing.T) []scenario {
	t.Helper()
	services, pods, manual := workshop()
	snap, err := NewSnapshot(services, ComputeEndpointSlices(services, pods, manual))
	if err != nil {
		t.Fatal(err)
	}
	nodeIP := map[string]string{"node-1": "192.168.50.11", "node-2": "192.168.50.12", "node-3": "192.168.50.13"}
	node := func(name string, change func(*Config), masq MasqueradeConfig) *rules.Ruleset {
		cfg := Config{NodeName: name, NodeIPs: []string{nodeIP[name]}, DetectLocal: "10.244.0.0/16"}
		change(&cfg)
		rs, err := snap.KubeProxyRules(cfg)
		if err != nil {
			t.Fatal(err)
		}
		masq.ClusterCIDR = "10.244.0.0/16"
		masq.PodCIDR = "10.244." + name[len(name)-1:] + ".0/24"
		if err := AddMasqueradeRules(rs, masq); err != nil {
			t.Fatal(err)
		}
		return rs
	}
	lb := func(cfg LoadBalancerConfig) *rules.Ruleset {
		cfg.Nodes = []Node{{"node-1", nodeIP["node-1"]}, {"node-2", nodeIP["node-2"]}, {"node-3", nodeIP["node-3"]}}
		rs, err := snap.LoadBalancerRules(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	seedServices, seedSlices, seedConfig := seed004()
	seedSnap, err := NewSnapshot(seedServices, seedSlices)
	if err != nil {
		t.Fatal(err)
	}
	seed, err := seedSnap.KubeProxyRules(seedConfig)
	if err != nil {
		t.Fatal(err)
	}

	return []scenario{
		{"seed004-kube-proxy", seed},
		{"node-1-flannel", node("node-1", func(*Config) {}, MasqueradeConfig{Mode: MasqueradeFlannel})},
		{"node-2-prefix-masqall-docker-default", node("node-2", func(c *Config) {
			c.DetectLocalMode, c.DetectLocal, c.MasqueradeAll = DetectLocalInterfaceNamePrefix, "veth", true
		}, MasqueradeConfig{Mode: MasqueradeDockerDefault, Bridge: "cni0"})},
		{"node-3-bridge-kubeletfirst-docker-optimized", node("node-3", func(c *Config) {
			c.DetectLocalMode, c.DetectLocal, c.KubeletFirewallFirst, c.LocalhostNodePorts = DetectLocalBridgeInterface, "cni0", true, new(false)
		}, MasqueradeConfig{Mode: MasqueradeDockerOptimized, Bridge: "cni0"})},
		{"node-1-nodeportaddresses-liberal-ip-masq-agent", node("node-1", func(c *Config) {
			c.NodePortAddresses, c.ConntrackTCPLiberal, c.MasqueradeBit = []string{"192.168.50.0/24"}, true, new(int32(16))
		}, MasqueradeConfig{Mode: MasqueradeIPMasqAgent, NonMasqueradeCIDRs: []string{"10.244.0.0/16", "192.168.50.0/24"}})},
		{"loadbalancer-dnat", lb(LoadBalancerConfig{Mode: LoadBalancerDNAT})},
		{"loadbalancer-proxy", lb(LoadBalancerConfig{Mode: LoadBalancerProxy, Address: "192.168.50.2"})},
	}
}
