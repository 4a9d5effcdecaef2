package topo

import (
	"slices"
	"strings"
	"testing"

	"github.com/labctl/labctl/topo/plan"
	"github.com/labctl/labctl/topo/rules"
)

// chainSpecs returns a chain of a compiled namespace as rule specs, failing if it is missing.
func chainSpecs(t *testing.T, p *plan.Plan, host, table, chain string) []string {
	t.Helper()
	n := p.Namespace(host)
	if n == nil || n.Rules == nil || n.Rules.Lookup(table) == nil || n.Rules.Lookup(table).Lookup(chain) == nil {
		t.Fatalf("%s has no %s chain %s", host, table, chain)
	}
	var out []string
	for _, r := range n.Rules.Lookup(table).Lookup(chain).Rules {
		out = append(out, r.Spec())
	}
	return out
}

// On a real node the kubelet, which starts kube-proxy, has prepended its KUBE-FIREWALL
// jumps first; kube-proxy's prepended jumps land above them.
func TestClusterKubeletFirewallJumpsLast(t *testing.T) {
	p := compileFile(t, "testdata/labs/cluster.yaml", func(s string) string { return s })
	for _, chain := range []string{"INPUT", "OUTPUT"} {
		got := chainSpecs(t, p, "node-1", "filter", chain)
		if len(got) < 2 || got[len(got)-1] != "-j KUBE-FIREWALL" || slices.Index(got, "-j KUBE-FIREWALL") != len(got)-1 {
			t.Errorf("node-1 filter %s = %q, want kube-proxy's jumps first and -j KUBE-FIREWALL last", chain, got)
		}
		rs := p.Namespace("node-1").Rules.Lookup("filter").Lookup(chain).Rules
		if o := rs[len(rs)-1].Origin; o != (rules.Origin{By: "kubelet"}) {
			t.Errorf("%s's KUBE-FIREWALL jump is attributed to %v, want the kubelet", chain, o)
		}
	}
}

// kube-proxy refuses InterfaceNamePrefix without --pod-interface-name-prefix; labctl
// does too instead of guessing a prefix.
func TestClusterInterfacePrefixRequired(t *testing.T) {
	got := problemsOf(t, header+"cluster:\n  kubeProxy: {detectLocal: InterfaceNamePrefix}\n  nodes: [{name: n1}]\n")
	if len(got) != 1 || !strings.HasPrefix(got[0], "lab.yaml:5:28: cluster.kubeProxy.detectLocal InterfaceNamePrefix needs kubeProxy.interfacePrefix") {
		t.Errorf("problems: %q", got)
	}
	p := compileBody(t, "cluster:\n  kubeProxy: {detectLocal: InterfaceNamePrefix, interfacePrefix: cali}\n  nodes: [{name: n1}]\n"+
		"  pods: [{name: w, node: n1, labels: {app: w}, ports: [80]}]\n"+
		"  services: [{name: s, clusterIP: 10.96.0.10, selector: {app: w}, ports: [{port: 80}]}]\n", CompileOptions{})
	payload, _ := p.Namespace("n1").Payload()
	if !strings.Contains(string(payload), `--dport 80 ! -i cali+ -j KUBE-MARK-MASQ`) {
		t.Errorf("the written prefix does not mark non-Pod traffic:\n%s", payload)
	}
}
