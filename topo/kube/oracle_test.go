package kube

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The oracle tests feed the inputs of three kube-proxy unit tests (proxier_test.go @
// 531be812) to the generator, configured like the upstream fake proxier, and compare
// the restore payload, sorted the upstream way, with the test's expected text.

// fakeProxierConfig is NewFakeProxier's configuration: node test-node/192.168.0.2,
// local detection by CIDR 10.0.0.0/8, mark spelled 0x4000, nfacct counters present,
// and a fake iptables without --random-fully.
func fakeProxierConfig() Config {
	return Config{
		NodeName:           "test-node",
		NodeIPs:            []string{"192.168.0.2"},
		DetectLocalMode:    DetectLocalClusterCIDR,
		DetectLocal:        "10.0.0.0/8",
		RandomFully:        new(false),
		NFAcctCounters:     true,
		UnitTestMarkFormat: true,
	}
}

// slice1 is makeTestEndpointSlice with one TCP port and the given endpoints.
func slice1(ns, name, port string, portNumber int32, endpoints ...Endpoint) EndpointSlice {
	return EndpointSlice{Namespace: ns, ServiceName: name,
		Ports: []EndpointPort{{Name: port, Protocol: ProtocolTCP, Port: portNumber}}, Endpoints: endpoints}
}

func ep(ip string) Endpoint { return Endpoint{Addresses: []string{ip}} }

func epOn(ip, node string) Endpoint { return Endpoint{Addresses: []string{ip}, NodeName: node} }

func p80(nodePort int32) []ServicePort {
	return []ServicePort{{Name: "p80", Protocol: ProtocolTCP, Port: 80, NodePort: nodePort}}
}

// TestOracleOverallIPTablesRules is TestOverallIPTablesRules.
func TestOracleOverallIPTablesRules(t *testing.T) {
	services := []Service{
		{Namespace: "ns1", Name: "svc1", ClusterIP: "172.30.0.41", Ports: p80(0)},
		{Namespace: "ns2", Name: "svc2", Type: ServiceTypeLoadBalancer, ExternalTrafficPolicy: TrafficPolicyLocal,
			ClusterIP: "172.30.0.42", Ports: p80(3001), LoadBalancerIngress: []LoadBalancerIngress{{IP: "1.2.3.4"}},
			ExternalIPs: []string{"192.168.99.22"}, HealthCheckNodePort: 30000},
		{Namespace: "ns3", Name: "svc3", Type: ServiceTypeNodePort, ClusterIP: "172.30.0.43", Ports: p80(3003)},
		{Namespace: "ns4", Name: "svc4", Type: ServiceTypeNodePort, ClusterIP: "172.30.0.44",
			ExternalIPs: []string{"192.168.99.33"},
			Ports:       []ServicePort{{Name: "p80", Protocol: ProtocolTCP, Port: 80, TargetPort: TargetPortNumber(80)}}},
		{Namespace: "ns5", Name: "svc5", Type: ServiceTypeLoadBalancer, ExternalTrafficPolicy: TrafficPolicyCluster,
			ClusterIP: "172.30.0.45", Ports: p80(3002), LoadBalancerIngress: []LoadBalancerIngress{{IP: "5.6.7.8"}},
			HealthCheckNodePort: 30000, LoadBalancerSourceRanges: []string{" 203.0.113.0/25"},
			SessionAffinity: SessionAffinityClientIP, SessionAffinityTimeoutSeconds: 10800},
		{Namespace: "ns6", Name: "svc6", Type: ServiceTypeClusterIP, ClusterIP: "172.30.0.46",
			Ports: []ServicePort{{Name: "p80", Protocol: ProtocolTCP, Port: 80, TargetPort: TargetPortNumber(80)}}},
	}
	slices := []EndpointSlice{
		slice1("ns1", "svc1", "p80", 80, ep("10.180.0.1")),
		// No NodeName: not local, so eTP=Local has no local endpoint.
		slice1("ns2", "svc2", "p80", 80, ep("10.180.0.2")),
		slice1("ns3", "svc3", "p80", 80, ep("10.180.0.3")),
		slice1("ns4", "svc4", "p80", 80, ep("10.180.0.4"), epOn("10.180.0.5", "test-node")),
		slice1("ns5", "svc5", "p80", 80, ep("10.180.0.3")),
	}
	compareWithOracle(t, services, slices, oracleBlocks(t, "case1.txt")["TestOverallIPTablesRules"])
}

// TestOracleBadIPs is TestBadIPs: addresses with leading zeros, normalised by kube-proxy.
func TestOracleBadIPs(t *testing.T) {
	services := []Service{{
		Namespace: "ns1", Name: "svc1", Type: ServiceTypeLoadBalancer, ClusterIP: "172.30.0.041",
		Ports: p80(3001), LoadBalancerIngress: []LoadBalancerIngress{{IP: "1.2.3.004"}},
		ExternalIPs: []string{"192.168.099.022"}, LoadBalancerSourceRanges: []string{"203.0.113.000/025"},
	}}
	slices := []EndpointSlice{slice1("ns1", "svc1", "p80", 80, ep("10.180.00.001"))}
	compareWithOracle(t, services, slices, oracleBlocks(t, "case2.txt")["TestBadIPs"])
}

func compareWithOracle(t *testing.T, services []Service, slices []EndpointSlice, want string) {
	t.Helper()
	if want == "" {
		t.Fatal("oracle block not found")
	}
	got := sortedRestorePayload(t, services, slices)
	if diff := cmp.Diff(strings.Split(want, "\n"), strings.Split(got, "\n")); diff != "" {
		t.Errorf("restore payload differs from kube-proxy's (-kube-proxy +generated):\n%s", diff)
	}
}

func sortedRestorePayload(t *testing.T, services []Service, slices []EndpointSlice) string {
	t.Helper()
	snap, err := NewSnapshot(services, slices)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := snap.KubeProxyRules(fakeProxierConfig())
	if err != nil {
		t.Fatal(err)
	}
	d := parseDump(t, restorePayload(rs))
	sortDump(d)
	return d.String()
}
