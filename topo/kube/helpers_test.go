package kube

import (
	"strings"
	"testing"

	"github.com/labctl/labctl/topo/rules"
)

// Shared fixtures: a two-node workshop cluster, cluster CIDR 10.244.0.0/16, node-N at
// 192.168.50.1N with Pod subnet 10.244.N.0/24, services in 10.96.0.0/16.

var nodeIPs = map[string]string{"node-1": "192.168.50.11", "node-2": "192.168.50.12"}

// realNodeConfig is kube-proxy's configuration on a real node of the fixture cluster:
// every default (random-fully, no nfacct, mark 0x00004000, localhost NodePorts).
func realNodeConfig(node string) Config {
	return Config{
		NodeName:        node,
		NodeIPs:         []string{nodeIPs[node]},
		DetectLocalMode: DetectLocalClusterCIDR,
		DetectLocal:     "10.244.0.0/16",
	}
}

func webService() Service {
	return Service{Namespace: "default", Name: "web", ClusterIP: "10.96.0.10",
		Selector: map[string]string{"app": "web"},
		Ports:    []ServicePort{{Name: "http", Port: 80, TargetPort: TargetPortNumber(8080)}}}
}

func generate(t *testing.T, services []Service, slices []EndpointSlice, cfg Config) *rules.Ruleset {
	t.Helper()
	snap, err := NewSnapshot(services, slices)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := snap.KubeProxyRules(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// chainRules returns the rules of a chain as restore text (without "-A CHAIN"); it
// fails the test if the chain does not exist.
func chainRules(t *testing.T, rs *rules.Ruleset, table, chain string) []string {
	t.Helper()
	c := lookupChain(rs, table, chain)
	if c == nil {
		t.Fatalf("chain %s/%s does not exist", table, chain)
	}
	var out []string
	for _, r := range c.Rules {
		out = append(out, r.Spec())
	}
	return out
}

func lookupChain(rs *rules.Ruleset, table, chain string) *rules.Chain {
	t := rs.Lookup(table)
	if t == nil {
		return nil
	}
	return t.Lookup(chain)
}

// rulesMatching returns the rules of a chain that contain every fragment.
func rulesMatching(t *testing.T, rs *rules.Ruleset, table, chain string, fragments ...string) []string {
	t.Helper()
	var out []string
	for _, r := range chainRules(t, rs, table, chain) {
		all := true
		for _, f := range fragments {
			all = all && strings.Contains(r, f)
		}
		if all {
			out = append(out, r)
		}
	}
	return out
}

func readyEp(ip, node string, ready bool) Endpoint {
	return Endpoint{Addresses: []string{ip}, NodeName: node, Conditions: EndpointConditions{Ready: new(ready)}}
}
