package kube

import (
	"fmt"
	"strings"
	"testing"

	"github.com/labctl/labctl/topo/rules"
)

// generatedCluster is a lab of 50 nodes with 20 Pods each and 200 services selecting 5
// Pods each (1,000 endpoints, on 5 different nodes): ClusterIP, NodePort and
// LoadBalancer services, with Local traffic policies, session affinity and source
// ranges mixed in.
func generatedCluster() ([]Service, []Pod, []Node) {
	const nodes, podsPerNode, services = 50, 20, 200
	var ns []Node
	var pods []Pod
	for n := range nodes {
		name := fmt.Sprintf("node-%02d", n)
		ns = append(ns, Node{Name: name, IP: fmt.Sprintf("192.168.50.%d", 10+n)})
		for p := range podsPerNode {
			i := n*podsPerNode + p
			pods = append(pods, Pod{Namespace: "bench", Name: fmt.Sprintf("pod-%04d", i),
				Labels: map[string]string{"app": fmt.Sprintf("svc-%03d", i%services)},
				IP:     fmt.Sprintf("10.244.%d.%d", n, 10+p), NodeName: name, Ready: true,
				Ports: []ContainerPort{{Name: "http", Port: 8080}}})
		}
	}
	var svcs []Service
	for i := range services {
		svc := Service{Namespace: "bench", Name: fmt.Sprintf("svc-%03d", i), ClusterIP: fmt.Sprintf("10.96.%d.%d", i/250, i%250+1),
			Selector: map[string]string{"app": fmt.Sprintf("svc-%03d", i)},
			Ports:    []ServicePort{{Name: "http", Port: 80, TargetPort: TargetPortName("http")}}}
		switch i % 10 {
		case 6, 7:
			svc.Type = ServiceTypeNodePort
			svc.Ports[0].NodePort = int32(30000 + i)
			if i%10 == 7 {
				svc.ExternalTrafficPolicy = TrafficPolicyLocal
			}
		case 8, 9:
			svc.Type = ServiceTypeLoadBalancer
			svc.Ports[0].NodePort = int32(30000 + i)
			svc.LoadBalancerIngress = []LoadBalancerIngress{{IP: fmt.Sprintf("203.0.113.%d", i%250+1)}}
			if i%10 == 8 {
				svc.ExternalTrafficPolicy, svc.HealthCheckNodePort = TrafficPolicyLocal, int32(31000+i)
			} else {
				svc.LoadBalancerSourceRanges = []string{"203.0.113.0/24"}
			}
		default:
			if i%7 == 0 {
				svc.InternalTrafficPolicy = TrafficPolicyLocal
			}
		}
		if i%5 == 0 {
			svc.SessionAffinity = SessionAffinityClientIP
		}
		svcs = append(svcs, svc)
	}
	return svcs, pods, ns
}

// generateCluster computes everything the kube layer contributes to a lab: endpoints,
// every node's kube-proxy and flannel rules, and the load balancer host's rules.
func generateCluster(services []Service, pods []Pod, nodes []Node) ([]*rules.Ruleset, error) {
	snap, err := NewSnapshot(services, ComputeEndpointSlices(services, pods, nil))
	if err != nil {
		return nil, err
	}
	out := make([]*rules.Ruleset, 0, len(nodes)+1)
	for i, n := range nodes {
		rs, err := snap.KubeProxyRules(Config{NodeName: n.Name, NodeIPs: []string{n.IP}, DetectLocal: "10.244.0.0/16"})
		if err != nil {
			return nil, err
		}
		err = AddMasqueradeRules(rs, MasqueradeConfig{Mode: MasqueradeFlannel, ClusterCIDR: "10.244.0.0/16", PodCIDR: fmt.Sprintf("10.244.%d.0/24", i)})
		if err != nil {
			return nil, err
		}
		out = append(out, rs)
	}
	lb, err := snap.LoadBalancerRules(LoadBalancerConfig{Mode: LoadBalancerProxy, Address: "192.168.50.2", Nodes: nodes})
	if err != nil {
		return nil, err
	}
	return append(out, lb), nil
}

// BenchmarkGenerate50Nodes measures the whole kube layer of a 50-node, 1,000-Pod,
// 200-service lab.
func BenchmarkGenerate50Nodes(b *testing.B) {
	services, pods, nodes := generatedCluster()
	total := 0
	for b.Loop() {
		rulesets, err := generateCluster(services, pods, nodes)
		if err != nil {
			b.Fatal(err)
		}
		total = 0
		for _, rs := range rulesets {
			total += rs.RuleCount()
		}
	}
	b.ReportMetric(float64(total), "rules/op")
}

// BenchmarkGenerate50NodesRender adds rendering the 51 iptables-restore payloads.
func BenchmarkGenerate50NodesRender(b *testing.B) {
	services, pods, nodes := generatedCluster()
	bytes := 0
	for b.Loop() {
		rulesets, err := generateCluster(services, pods, nodes)
		if err != nil {
			b.Fatal(err)
		}
		bytes = 0
		for _, rs := range rulesets {
			payload, _ := rs.Render()
			bytes += len(payload)
		}
	}
	b.ReportMetric(float64(bytes), "payload-bytes/op")
}

func TestGeneratedCluster(t *testing.T) {
	services, pods, nodes := generatedCluster()
	rulesets, err := generateCluster(services, pods, nodes)
	if err != nil {
		t.Fatal(err)
	}
	snap, err := NewSnapshot(services, ComputeEndpointSlices(services, pods, nil))
	if err != nil {
		t.Fatal(err)
	}
	if snap.largeCluster {
		t.Error("1,000 endpoints put kube-proxy in large-cluster mode (threshold: more than 1,000)")
	}
	// A node has a KUBE-SEP chain for every endpoint it can reach: all five of each
	// service, except that internalTrafficPolicy Local services reach only local ones.
	for i, rs := range rulesets[:len(nodes)] {
		want := 0
		for _, svc := range services {
			for _, pod := range pods {
				if pod.Labels["app"] == svc.Name && (svc.InternalTrafficPolicy != TrafficPolicyLocal || pod.NodeName == nodes[i].Name) {
					want++
				}
			}
		}
		seps := 0
		for _, c := range rs.Lookup("nat").Chains {
			if strings.HasPrefix(c.Name, endpointChainPrefix) {
				seps++
			}
		}
		if seps != want {
			t.Errorf("%s: %d KUBE-SEP chains, want %d", nodes[i].Name, seps, want)
		}
	}
}
