package kube

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestChainNames checks the worked examples of the reference (§2.2), all of which also
// appear in upstream test data or real clusters.
func TestChainNames(t *testing.T) {
	tests := []struct {
		namespace, name, port string
		protocol              Protocol
		endpoint              string
		want                  string
	}{
		{"ns1", "svc1", "p80", ProtocolTCP, "", "KUBE-SVC-XPGD46QRK7WJZT7O"},
		{"ns1", "svc1", "p80", ProtocolTCP, "10.180.0.1:80", "KUBE-SEP-SXIVWICOYRO3J4NJ"},
		{"ns2", "svc2", "p80", ProtocolTCP, "", "KUBE-SVC-GNZBNJ2PO5MGZ6GT"},
		{"ns5", "svc5", "p80", ProtocolTCP, "", "KUBE-SVC-NUKIZ6OKUXPJNT4C"},
		{"ns1", "svc1", "", ProtocolTCP, "", "KUBE-SVC-AQI2S6QIMU7PVVRP"}, // unnamed port: "ns1/svc1"
		{"default", "kubernetes", "https", ProtocolTCP, "", "KUBE-SVC-NPX46M4PTMTKRN6Y"},
		{"kube-system", "kube-dns", "dns", ProtocolUDP, "", "KUBE-SVC-TCOU7JCQXEZGVUNU"},
		{"kube-system", "kube-dns", "dns-tcp", ProtocolTCP, "172.18.1.5:53", "KUBE-SEP-V7KWRXXOBQHQVWAT"},
	}
	for _, tt := range tests {
		spn := ServicePortName(tt.namespace, tt.name, tt.port)
		got := ClusterChainName(spn, tt.protocol)
		if tt.endpoint != "" {
			got = EndpointChainName(spn, tt.protocol, tt.endpoint)
		}
		if got != tt.want {
			t.Errorf("%s %s %s = %s, want %s", spn, tt.protocol, tt.endpoint, got, tt.want)
		}
	}

	// SVC, SVL, EXT and FW share the hash; the protocol is hashed in lower case.
	spn := ServicePortName("ns1", "svc1", "p80")
	got := []string{ClusterChainName(spn, "TCP"), LocalChainName(spn, "tcp"), ExternalChainName(spn, ""), FirewallChainName(spn, ProtocolTCP)}
	want := []string{"KUBE-SVC-XPGD46QRK7WJZT7O", "KUBE-SVL-XPGD46QRK7WJZT7O", "KUBE-EXT-XPGD46QRK7WJZT7O", "KUBE-FW-XPGD46QRK7WJZT7O"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("chain family (-want +got):\n%s", diff)
	}
}

func TestProbability(t *testing.T) {
	want := []string{"", "1.0000000000", "0.5000000000", "0.3333333333", "0.2500000000", "0.2000000000"}
	if diff := cmp.Diff(want, probabilities(5)); diff != "" {
		t.Errorf("probabilities (-want +got):\n%s", diff)
	}
}

// TestEndpointJumpProbabilities checks the KUBE-SVC chain for 1 to 5 endpoints: rule i
// of n matches with probability 1/(n-i) and the last one always matches.
func TestEndpointJumpProbabilities(t *testing.T) {
	wants := [][]string{
		1: {""},
		2: {"0.5000000000", ""},
		3: {"0.3333333333", "0.5000000000", ""},
		4: {"0.2500000000", "0.3333333333", "0.5000000000", ""},
		5: {"0.2000000000", "0.2500000000", "0.3333333333", "0.5000000000", ""},
	}
	for n := 1; n <= 5; n++ {
		var eps []Endpoint
		for i := range n {
			eps = append(eps, ep(fmt.Sprintf("10.0.0.%d", i+1)))
		}
		rs := generate(t, []Service{webService()}, []EndpointSlice{slice1("default", "web", "http", 8080, eps...)}, realNodeConfig("node-1"))
		var got []string
		for _, r := range chainRules(t, rs, "nat", ClusterChainName("default/web:http", ProtocolTCP)) {
			if strings.Contains(r, "-j KUBE-MARK-MASQ") {
				continue
			}
			_, p, _ := strings.Cut(r, "--probability ")
			p, _, _ = strings.Cut(p, " ")
			got = append(got, p)
		}
		if diff := cmp.Diff(wants[n], got); diff != "" {
			t.Errorf("%d endpoints: probabilities (-want +got):\n%s", n, diff)
		}
	}
}

// TestEndpointOrder checks that endpoints are ordered by their "ip:port" string, as
// kube-proxy orders them: byte-wise, so "10.0.0.10:8080" comes before "10.0.0.1:8080"
// ('0' < ':') and "10.0.0.2:8080".
func TestEndpointOrder(t *testing.T) {
	rs := generate(t, []Service{webService()},
		[]EndpointSlice{slice1("default", "web", "http", 8080, ep("10.0.0.2"), ep("10.0.0.10"), ep("10.0.0.1"))},
		realNodeConfig("node-1"))
	var got []string
	for _, r := range chainRules(t, rs, "nat", ClusterChainName("default/web:http", ProtocolTCP))[1:] {
		_, target, _ := strings.Cut(r, "-> ")
		target, _, _ = strings.Cut(target, `"`)
		got = append(got, target)
	}
	want := []string{"10.0.0.10:8080", "10.0.0.1:8080", "10.0.0.2:8080"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("endpoint order (-want +got):\n%s", diff)
	}
}

func TestMarkFormat(t *testing.T) {
	tests := []struct {
		bit      *int32
		unitTest bool
		want     string
	}{
		{nil, false, "0x00004000"},
		{nil, true, "0x4000"},
		{new(int32(0)), false, "0x00000001"},
		{new(int32(20)), false, "0x00100000"},
	}
	for _, tt := range tests {
		n, err := Config{NodeName: "n", MasqueradeBit: tt.bit, UnitTestMarkFormat: tt.unitTest}.settings()
		if err != nil {
			t.Fatal(err)
		}
		if n.mark != tt.want {
			t.Errorf("bit %v unit-test format %v: mark %s, want %s", tt.bit, tt.unitTest, n.mark, tt.want)
		}
	}
	if _, err := (Config{NodeName: "n", MasqueradeBit: new(int32(32))}).settings(); err == nil {
		t.Error("masquerade bit 32 accepted")
	}
}
