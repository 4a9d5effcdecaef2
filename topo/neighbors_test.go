package topo

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/labctl/labctl/topo/plan"
)

func compileFile(t *testing.T, path string, edit func(string) string) *plan.Plan {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lab, err := Parse(path, []byte(edit(string(data))))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(lab, CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const staticLab = "testdata/labs/static-neighbors.yaml"

func same(s string) string { return s }

// macsOf lists every MAC of the plan by owner (namespace:interface).
func macsOf(p *plan.Plan) map[string]string {
	out := map[string]string{}
	for _, n := range p.Namespaces {
		for _, br := range n.Bridges {
			if br.MAC != "" {
				out[n.Name+":"+br.Name] = br.MAC
			}
		}
	}
	for _, v := range p.Veths {
		for _, e := range []plan.End{v.A, v.B} {
			out[e.Namespace+":"+e.Name] = e.MAC
		}
	}
	return out
}

func TestStaticNeighborMACs(t *testing.T) {
	p := compileFile(t, staticLab, same)
	macs := macsOf(p)
	if len(macs) != 2*len(p.Veths)+2 { // every veth end, and the two cni0 bridges
		t.Fatalf("%d MACs for %d veths: %v", len(macs), len(p.Veths), macs)
	}
	for owner, mac := range macs {
		hw, err := net.ParseMAC(mac)
		if err != nil || len(hw) != 6 {
			t.Errorf("%s: MAC %q: %v", owner, mac, err)
			continue
		}
		if hw[0]&0x01 != 0 || hw[0]&0x02 == 0 {
			t.Errorf("%s: MAC %s is not a locally administered unicast address", owner, mac)
		}
	}
	// Unique inside each segment, the bridge's ports included: a bridge keeps frames
	// for its ports' MACs for itself.
	segments := map[string][]string{} // segment -> owners
	for _, v := range p.Veths {
		seg := "link " + v.A.Namespace + ":" + v.A.Name
		if v.A.Master != "" {
			seg = v.A.Namespace + ":" + v.A.Master
			segments[seg] = appendOnce(segments[seg], seg)
		}
		segments[seg] = append(segments[seg], v.A.Namespace+":"+v.A.Name, v.B.Namespace+":"+v.B.Name)
	}
	for seg, owners := range segments {
		seen := map[string]string{}
		for _, o := range owners {
			if mac, ok := macs[o]; ok {
				if prev, dup := seen[mac]; dup {
					t.Errorf("segment %s: %s and %s share MAC %s", seg, prev, o, mac)
				}
				seen[mac] = o
			}
		}
	}
	// Deterministic, and independent of the lab's name and of hosts added later.
	again := compileFile(t, staticLab, func(s string) string {
		s = strings.Replace(s, "name: static-neighbors", "name: renamed", 1)
		return strings.Replace(s, "  pods:\n", "  pods:\n    - {name: extra-0, node: node-2}\n", 1)
	})
	for owner, mac := range macs {
		if got := macsOf(again)[owner]; got != mac {
			t.Errorf("%s: MAC %s, then %s after renaming the lab and adding a Pod", owner, mac, got)
		}
	}
}

func appendOnce(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

func TestDeriveMACReDerivesOnCollision(t *testing.T) {
	used := map[string]bool{}
	first := deriveMAC("node-1/veth0", used)
	if again := deriveMAC("node-1/veth0", map[string]bool{}); again != first {
		t.Fatalf("not deterministic: %s then %s", first, again)
	}
	// The same identity on the same segment (or a hash collision) gets another MAC,
	// the same one every time.
	second := deriveMAC("node-1/veth0", used)
	if second == first || deriveMAC("node-1/veth0", map[string]bool{first: true}) != second {
		t.Errorf("collision: %s then %s", first, second)
	}
	if hw, _ := net.ParseMAC(second); hw[0]&0x03 != 0x02 {
		t.Errorf("re-derived MAC %s is not locally administered unicast", second)
	}
}

// TestStaticNeighborEntries says which entries each kind of host gets: every other
// address of each segment it is on, at the MAC of the interface holding it.
func TestStaticNeighborEntries(t *testing.T) {
	p := compileFile(t, staticLab, same)
	owner := map[string]string{}
	for o, mac := range macsOf(p) {
		owner[mac] = o
	}
	table := p.Neighbors()
	entries := func(ns string) []string {
		var out []string
		for _, e := range table.For(ns) {
			out = append(out, fmt.Sprintf("%s %s at %s", e.Dev, e.IP, owner[e.MAC]))
		}
		slices.Sort(out)
		if len(out) != table.Count(ns) {
			t.Errorf("%s: Count %d, For gives %d", ns, table.Count(ns), len(out))
		}
		return out
	}
	want := map[string][]string{
		// A Pod: its gateway (the node's bridge) and the Pods on the same bridge.
		"web-0": {"eth0 10.244.1.1 at node-1:cni0", "eth0 10.244.1.3 at web-1:eth0"},
		"web-2": {"eth0 10.244.2.1 at node-2:cni0"},
		// A node: its Pods on cni0, the other nodes and the load balancer on eth0.
		"node-1": {"cni0 10.244.1.2 at web-0:eth0", "cni0 10.244.1.3 at web-1:eth0", "eth0 192.168.50.1 at lb:eth0", "eth0 192.168.50.3 at node-2:eth0"},
		// A router: the network's members, and the far end of its point-to-point link.
		"router": {"eth0 203.0.113.1 at lb:eth1", "eth0 203.0.113.10 at client:eth0", "eth1 10.0.0.2 at server:eth0"},
		"server": {"eth0 10.0.0.1 at router:eth1"},
		"lb":     {"eth0 192.168.50.2 at node-1:eth0", "eth0 192.168.50.3 at node-2:eth0", "eth1 203.0.113.10 at client:eth0", "eth1 203.0.113.254 at router:eth0"},
		// A network's switch has no address: nothing to write there.
		"nodes": nil,
	}
	total := 0
	for ns, w := range want {
		if diff := cmp.Diff(w, entries(ns)); diff != "" {
			t.Errorf("entries of %s (-want +got):\n%s", ns, diff)
		}
	}
	for _, n := range p.Namespaces {
		total += table.Count(n.Name)
	}
	if total != table.Total() || total != 22 {
		t.Errorf("total %d, Total() %d, want 22", total, table.Total())
	}
}

// labOfHosts is a lab of n hosts on one network, with options.
func labOfHosts(n int, options string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: labctl.dev/v1\nkind: Lab\nname: many\n%snetworks: [{name: lan, cidr: 10.0.0.0/16}]\nhosts:\n", options)
	for i := range n {
		fmt.Fprintf(&b, "  - {name: h%d, interfaces: [lan]}\n", i)
	}
	return b.String()
}

func TestStaticNeighborsOption(t *testing.T) {
	for _, c := range []struct {
		hosts   int
		options string
		why     string // "" when off
	}{
		{autoStaticNeighbors, "", ""},
		{autoStaticNeighbors + 1, "", fmt.Sprintf("options.staticNeighbors auto: %d hosts, more than %d", autoStaticNeighbors+1, autoStaticNeighbors)},
		{autoStaticNeighbors + 1, "options: {staticNeighbors: auto}\n", "options.staticNeighbors auto: 201 hosts, more than 200"},
		{autoStaticNeighbors + 1, "options: {staticNeighbors: false}\n", ""},
		{2, "options: {staticNeighbors: true}\n", "options.staticNeighbors: true"},
		{2, "options: {staticNeighbors: \"true\"}\n", "options.staticNeighbors: true"},
	} {
		lab, err := Parse("many.yaml", []byte(labOfHosts(c.hosts, c.options)))
		if err != nil {
			t.Fatal(err)
		}
		p, err := Compile(lab, CompileOptions{})
		if err != nil {
			t.Fatal(err)
		}
		why := ""
		if p.StaticNeighbors != nil {
			why = p.StaticNeighbors.Why
		}
		hasMAC := p.Veths[0].A.MAC != "" && p.Veths[0].B.MAC != ""
		if why != c.why || hasMAC != (c.why != "") {
			t.Errorf("%d hosts, %q: static neighbours %q, MACs %v; want %q", c.hosts, c.options, why, hasMAC, c.why)
		}
	}
	lab, _ := Parse("many.yaml", []byte(labOfHosts(2, "options: {staticNeighbors: yes}\n")))
	_, err := Compile(lab, CompileOptions{})
	if err == nil || !strings.Contains(err.Error(), `many.yaml:4:28: options.staticNeighbors: "yes" is not true, false or auto`) {
		t.Errorf("staticNeighbors: yes: %v", err)
	}
	schema := compileSchema(t)
	for _, v := range []string{"true", "false", "auto", `"true"`} {
		if err := validateYAML(schema, []byte(labOfHosts(2, "options: {staticNeighbors: "+v+"}\n"))); err != nil {
			t.Errorf("the schema rejects staticNeighbors: %s: %v", v, err)
		}
	}
	if validateYAML(schema, []byte(labOfHosts(2, "options: {staticNeighbors: yes}\n"))) == nil {
		t.Error("the schema accepts staticNeighbors: yes, which labctl refuses")
	}
}
