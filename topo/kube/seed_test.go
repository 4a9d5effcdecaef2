package kube

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// seed004 is the cluster of seed 004 ("iptables rules for kube-dns", an AKS cluster
// with kubenet): its `iptables -t nat -L` output shows the KUBE-SERVICES dispatch of
// five service ports, the kube-dns dns-tcp chain with two endpoints and the SEP chain of
// 172.18.1.5:53, local detection "! -s 172.18.1.0/24". The seed does not show the second
// kube-dns endpoint; searching 172.16.0.0/12 for the address whose SEP hash is the
// seed's KUBE-SEP-BWCLCJLZ5KI6FXBW gives 172.18.1.84. The other endpoints are invented:
// chain names of services do not depend on them.
func seed004() ([]Service, []EndpointSlice, Config) {
	services := []Service{
		{Namespace: "kube-system", Name: "kube-dns", ClusterIP: "10.0.0.10", Ports: []ServicePort{
			{Name: "dns", Protocol: ProtocolUDP, Port: 53},
			{Name: "dns-tcp", Protocol: ProtocolTCP, Port: 53},
		}},
		{Namespace: "kube-system", Name: "metrics-server", ClusterIP: "10.0.62.222",
			Ports: []ServicePort{{Protocol: ProtocolTCP, Port: 443, TargetPort: TargetPortNumber(4443)}}},
		{Namespace: "default", Name: "kubernetes", ClusterIP: "10.0.0.1",
			Ports: []ServicePort{{Name: "https", Protocol: ProtocolTCP, Port: 443}}},
		{Namespace: "kube-system", Name: "healthmodel-replicaset-service", ClusterIP: "10.0.213.2",
			Ports: []ServicePort{{Protocol: ProtocolTCP, Port: 25227}}},
	}
	dnsEndpoints := []Endpoint{epOn("172.18.1.5", "aks-nodepool1-0"), epOn("172.18.1.84", "aks-nodepool1-1")}
	endpointSlices := []EndpointSlice{
		{Namespace: "kube-system", ServiceName: "kube-dns", Endpoints: dnsEndpoints, Ports: []EndpointPort{
			{Name: "dns", Protocol: ProtocolUDP, Port: 53}, {Name: "dns-tcp", Protocol: ProtocolTCP, Port: 53}}},
		slice1("kube-system", "metrics-server", "", 4443, epOn("172.18.1.7", "aks-nodepool1-0")),
		slice1("default", "kubernetes", "https", 443, ep("10.240.0.4")),
		slice1("kube-system", "healthmodel-replicaset-service", "", 25227, epOn("172.18.1.9", "aks-nodepool1-1")),
	}
	cfg := Config{NodeName: "aks-nodepool1-0", NodeIPs: []string{"10.240.0.5"}, DetectLocal: "172.18.1.0/24"}
	return services, endpointSlices, cfg
}

func TestSeed004ChainNames(t *testing.T) {
	services, endpointSlices, cfg := seed004()
	rs := generate(t, services, endpointSlices, cfg)

	// KUBE-SERVICES dispatches to the chains the seed shows, in its comments' terms.
	wantServices := []string{
		`-m comment --comment "kube-system/kube-dns:dns cluster IP" -m udp -p udp -d 10.0.0.10 --dport 53 -j KUBE-SVC-TCOU7JCQXEZGVUNU`,
		`-m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp -p tcp -d 10.0.0.10 --dport 53 -j KUBE-SVC-ERIFXISQEP7F7OF4`,
		`-m comment --comment "kube-system/metrics-server cluster IP" -m tcp -p tcp -d 10.0.62.222 --dport 443 -j KUBE-SVC-QMWWTXBG7KFJQKLO`,
		`-m comment --comment "default/kubernetes:https cluster IP" -m tcp -p tcp -d 10.0.0.1 --dport 443 -j KUBE-SVC-NPX46M4PTMTKRN6Y`,
		`-m comment --comment "kube-system/healthmodel-replicaset-service cluster IP" -m tcp -p tcp -d 10.0.213.2 --dport 25227 -j KUBE-SVC-WT3SFWJ44Q74XUPR`,
	}
	gotServices := chainRules(t, rs, "nat", "KUBE-SERVICES")
	for _, w := range wantServices {
		if !slices.Contains(gotServices, w) {
			t.Errorf("KUBE-SERVICES lacks\n  %s\nhas:\n  %q", w, gotServices)
		}
	}

	// The masquerade decision uses the seed's local detection.
	wantMasq := []string{`-m comment --comment "kube-system/kube-dns:dns-tcp cluster IP" -m tcp -p tcp -d 10.0.0.10 --dport 53 ! -s 172.18.1.0/24 -j KUBE-MARK-MASQ`}
	if diff := cmp.Diff(wantMasq, rulesMatching(t, rs, "nat", "KUBE-SVC-ERIFXISQEP7F7OF4", "KUBE-MARK-MASQ")); diff != "" {
		t.Errorf("masquerade rule (-want +got):\n%s", diff)
	}

	// The dns-tcp chain picks 172.18.1.5 with probability 1/2, then 172.18.1.84.
	wantJumps := []string{
		`-m comment --comment "kube-system/kube-dns:dns-tcp -> 172.18.1.5:53" -m statistic --mode random --probability 0.5000000000 -j KUBE-SEP-V7KWRXXOBQHQVWAT`,
		`-m comment --comment "kube-system/kube-dns:dns-tcp -> 172.18.1.84:53" -j KUBE-SEP-BWCLCJLZ5KI6FXBW`,
	}
	if diff := cmp.Diff(wantJumps, chainRules(t, rs, "nat", "KUBE-SVC-ERIFXISQEP7F7OF4")[1:]); diff != "" {
		t.Errorf("KUBE-SVC-ERIFXISQEP7F7OF4 jumps (-want +got):\n%s", diff)
	}

	wantSEP := []string{
		`-m comment --comment kube-system/kube-dns:dns-tcp -s 172.18.1.5 -j KUBE-MARK-MASQ`,
		`-m comment --comment kube-system/kube-dns:dns-tcp -m tcp -p tcp -j DNAT --to-destination 172.18.1.5:53`,
	}
	if diff := cmp.Diff(wantSEP, chainRules(t, rs, "nat", "KUBE-SEP-V7KWRXXOBQHQVWAT")); diff != "" {
		t.Errorf("KUBE-SEP-V7KWRXXOBQHQVWAT (-want +got):\n%s", diff)
	}

	// The last rule of KUBE-SERVICES hands local destinations to KUBE-NODEPORTS.
	last := gotServices[len(gotServices)-1]
	if want := `-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS`; last != want {
		t.Errorf("last KUBE-SERVICES rule %s, want %s", last, want)
	}
}
