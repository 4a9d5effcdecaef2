package graph

import (
	"bytes"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/labctl/labctl/topo/plan"
)

// TestPodsInsideTheirNode checks the grouping the drawing exists for: each Pod in its
// node's frame, with the node's bridge, and nothing of another node there.
func TestPodsInsideTheirNode(t *testing.T) {
	m := build(compile(t, "../testdata/labs/cluster.yaml"))
	want := map[string][]string{
		"node-1 (node)": {"node_node_1", "br_node_1_cni0", "pod_web_0"},
		"node-2 (node)": {"node_node_2", "br_node_2_cni0", "pod_web_1", "pod_dns_0"},
		"Services":      {"svc_default_web", "svc_kube_system_kube_dns", "svc_default_kubernetes"},
	}
	for _, g := range m.groups {
		var got []string
		for _, b := range g.boxes {
			got = append(got, b.id)
		}
		if !slices.Equal(got, want[g.label]) {
			t.Errorf("group %q holds %v, want %v", g.label, got, want[g.label])
		}
		delete(want, g.label)
	}
	if len(want) > 0 {
		t.Errorf("groups missing: %v", want)
	}
}

// TestServiceEdges checks that the VIP is drawn from the load balancer and that each
// endpoint Pod gets one edge naming its ports.
func TestServiceEdges(t *testing.T) {
	m := build(compile(t, "../testdata/labs/cluster.yaml"))
	var got []string
	for _, e := range m.edges {
		if e.service {
			got = append(got, e.from+" -> "+e.to+": "+strings.Join(e.lines, "; "))
		}
	}
	want := []string{
		"lb_lb -> svc_default_web: VIP 198.51.100.1:80/TCP",
		"svc_default_web -> pod_web_0: http → 8080",
		"svc_default_web -> pod_web_1: http → 8080",
		"svc_kube_system_kube_dns -> pod_dns_0: dns → 53; dns-tcp → 53",
	}
	if !slices.Equal(got, want) {
		t.Errorf("service edges:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// awkward is a plan whose names hold every character that means something to Mermaid
// or DOT; labctl's own names never do, but a drawing must not break if one does.
func awkward() *plan.Plan {
	addr := netip.MustParsePrefix("10.0.0.1/24")
	name := `a "b" <c> #d; e|f *g* \h end`
	return &plan.Plan{
		Lab: "x", Instance: `x"y`,
		Namespaces: []*plan.Namespace{
			{Name: "net", Kind: plan.KindNetwork, Bridges: []plan.Bridge{{Name: "net"}}},
			{Name: name, Kind: plan.KindHost},
			{Name: "end", Kind: plan.KindHost},
		},
		Veths: []plan.Veth{
			{A: plan.End{Namespace: "net", Name: "p", Master: "net"}, B: plan.End{Namespace: name, Name: "eth0", Addresses: []netip.Prefix{addr}}},
			{A: plan.End{Namespace: "end", Name: "e`1"}, B: plan.End{Namespace: name, Name: "e>2"}},
		},
	}
}

func TestAwkwardNamesStayInsideLabels(t *testing.T) {
	var b bytes.Buffer
	if err := Mermaid(&b, awkward()); err != nil {
		t.Fatal(err)
	}
	checkMermaidOutput(t, b.Bytes())
	// Kept as a golden file too, so scripts/check-mermaid runs Mermaid's own parser on it.
	golden(t, "testdata/golden/awkward.mmd", b.Bytes())
	for _, want := range []string{"#quot;b#quot;", "#lt;c#gt;", "#35;d;", "e#124;f", "#42;g#42;", "host_end[\"end\"]"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("mermaid output lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := DOT(&b, awkward()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `label="a \"b\" <c> #d; e|f *g* \\h end"`) {
		t.Errorf("dot output does not quote the name as expected:\n%s", b.String())
	}
	checkDOTOutput(t, b.Bytes())
}

// TestCheckersReject makes sure the checks above can fail.
func TestCheckersReject(t *testing.T) {
	head := "---\ntitle: t\n---\nflowchart LR\n"
	broken := map[string]string{
		"raw quote":      head + `  a["x "y" z"]` + "\n",
		"undeclared":     head + `  a["x"]` + "\n" + `  a ---|"l"| b` + "\n",
		"open subgraph":  head + `  subgraph g["g"]` + "\n" + `  a["x"]` + "\n",
		"keyword id":     head + `  end["x"]` + "\n",
		"shape mismatch": head + `  a(["x"]]` + "\n",
		"raw markup":     head + `  a["<b>x</b>"]` + "\n",
		"duplicate":      head + `  a["x"]` + "\n" + `  a("y")` + "\n",
		"no header":      `  a["x"]` + "\n",
	}
	for name, text := range broken {
		if len(checkMermaid(text)) == 0 {
			t.Errorf("%s: checkMermaid accepted\n%s", name, text)
		}
	}
	dot := requireDot(t)
	cmd := exec.Command(dot, "-Tsvg")
	cmd.Stdin = strings.NewReader("graph g { a -- ; }")
	if err := cmd.Run(); err == nil {
		t.Error("dot accepted a broken graph")
	}
}
