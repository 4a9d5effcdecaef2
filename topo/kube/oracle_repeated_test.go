package kube

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestOracleSyncProxyRulesRepeated is TestSyncProxyRulesRepeated: nine successive syncs of
// one kube-proxy. The generator is stateless — it produces the full state of a node
// from the cluster state — so each step is checked against the cluster state at that
// step:
//
//   - steps 1 and 9 are full syncs: the payload must match exactly, once the "-X" lines
//     of step 9 and the chain lines they go with are removed. kube-proxy found those
//     stale chains (of the deleted svc4) in the kernel with iptables-save and deletes
//     them; a fresh node never had them;
//   - steps 2-8 are partial syncs, which rewrite only the top-level chains and the chains
//     of services that changed. Each chain they write must equal the generator's chain
//     of that name, each chain they delete ("-X") must be absent from the generator's
//     output, and every top-level chain must be among the chains written.
func TestOracleSyncProxyRulesRepeated(t *testing.T) {
	blocks := oracleBlocks(t, "case3.txt")
	clusterIPService := func(ns, name, ip, port string, number int32) Service {
		return Service{Namespace: ns, Name: name, Type: ServiceTypeClusterIP, ClusterIP: ip,
			Ports: []ServicePort{{Name: port, Protocol: ProtocolTCP, Port: number}}}
	}
	svc1 := clusterIPService("ns1", "svc1", "172.30.0.41", "p80", 80)
	svc2 := clusterIPService("ns2", "svc2", "172.30.0.42", "p8080", 8080)
	svc3 := clusterIPService("ns3", "svc3", "172.30.0.43", "p80", 80)
	svc4 := clusterIPService("ns4", "svc4", "172.30.0.44", "p80", 80)
	eps1 := slice1("ns1", "svc1", "p80", 80, ep("10.0.1.1"))
	eps2 := slice1("ns2", "svc2", "p8080", 8080, ep("10.0.2.1"))
	eps3 := slice1("ns3", "svc3", "p80", 80, ep("10.0.3.1"))
	eps3Moved := slice1("ns3", "svc3", "p80", 80, ep("10.0.3.2"))
	eps3Grown := slice1("ns3", "svc3", "p80", 80, ep("10.0.3.2"), ep("10.0.3.3"))
	eps4 := slice1("ns4", "svc4", "p80", 80, ep("10.0.4.1"))

	steps := []struct {
		full     bool
		services []Service
		slices   []EndpointSlice
	}{
		1: {true, []Service{svc1, svc2}, []EndpointSlice{eps1, eps2}},
		2: {false, []Service{svc1, svc2, svc3}, []EndpointSlice{eps1, eps2, eps3}},
		3: {false, []Service{svc1, svc3}, []EndpointSlice{eps1, eps2, eps3}}, // svc2 deleted
		4: {false, []Service{svc1, svc3, svc4}, []EndpointSlice{eps1, eps2, eps3}},
		5: {false, []Service{svc1, svc3, svc4}, []EndpointSlice{eps1, eps2, eps3, eps4}},
		6: {false, []Service{svc1, svc3, svc4}, []EndpointSlice{eps1, eps2, eps3Moved, eps4}},
		7: {false, []Service{svc1, svc3, svc4}, []EndpointSlice{eps1, eps2, eps3Grown, eps4}},
		8: {false, []Service{svc1, svc3, svc4}, []EndpointSlice{eps1, eps2, eps3Grown, eps4}},
		9: {true, []Service{svc1, svc3}, []EndpointSlice{eps1, eps2, eps3Grown, eps4}}, // svc4 deleted
	}
	for i := 1; i < len(steps); i++ {
		step := steps[i]
		t.Run(fmt.Sprintf("step%d", i), func(t *testing.T) {
			block := blocks[fmt.Sprintf("TestSyncProxyRulesRepeated STEP %d", i)]
			if block == "" {
				t.Fatal("oracle block not found")
			}
			want := parseDump(t, block)
			got := parseDump(t, sortedRestorePayload(t, step.services, step.slices))
			if step.full {
				dropDeletedChains(want)
				if diff := cmp.Diff(strings.Split(want.String(), "\n"), strings.Split(got.String(), "\n")); diff != "" {
					t.Errorf("full sync differs (-kube-proxy +generated):\n%s", diff)
				}
				return
			}
			checkPartialSync(t, want, got)
		})
	}
}

// dropDeletedChains removes the stale chains a full resync flushes and deletes.
func dropDeletedChains(d *dump) {
	for _, t := range d.tables {
		t.chains = slices.DeleteFunc(t.chains, func(c *dumpChain) bool { return slices.Contains(t.deleted, c.name) })
		t.deleted = nil
	}
}

func checkPartialSync(t *testing.T, want, got *dump) {
	t.Helper()
	topLevel := map[string][]string{
		"filter": {chainServices, chainExternalServices, chainForward, chainNodePorts, chainProxyFirewall, chainKubeletFirewall},
		"nat":    {chainServices, chainNodePorts, chainPostrouting, chainMarkMasq},
	}
	for _, wt := range want.tables {
		gt := got.table(wt.name)
		if gt == nil {
			t.Errorf("table %s missing", wt.name)
			continue
		}
		for _, name := range topLevel[wt.name] {
			if wt.chain(name) == nil {
				t.Errorf("%s: partial sync did not rewrite top-level chain %s", wt.name, name)
			}
		}
		for _, wc := range wt.chains {
			gc := gt.chain(wc.name)
			if slices.Contains(wt.deleted, wc.name) {
				if gc != nil {
					t.Errorf("%s: chain %s is deleted by kube-proxy but generated", wt.name, wc.name)
				}
				continue
			}
			if gc == nil {
				t.Errorf("%s: chain %s written by kube-proxy is not generated", wt.name, wc.name)
				continue
			}
			if diff := cmp.Diff(wc.rules, gc.rules); diff != "" {
				t.Errorf("%s: chain %s differs (-kube-proxy +generated):\n%s", wt.name, wc.name, diff)
			}
		}
	}
}
