package node

import (
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/labctl/labctl/node/nodetest"
	"github.com/labctl/labctl/topo/plan"
)

func withStaticNeighbors(src string) string {
	return strings.Replace(src, "name: NAME\n", "name: NAME\noptions: {staticNeighbors: true}\n", 1)
}

// kernelNeighbours lists every neighbour entry of every namespace of the lab, IPv4
// and IPv6, as "namespace dev ip lladdr STATE".
func kernelNeighbours(t *testing.T, p *plan.Plan) []string {
	t.Helper()
	var out []string
	for _, n := range p.Namespaces {
		ns, err := netns.GetFromPath(NetnsPath(n.NetNS))
		if err != nil {
			t.Fatalf("%s: %v", n.Name, err)
		}
		h, err := netlink.NewHandleAt(ns)
		ns.Close()
		if err != nil {
			t.Fatalf("%s: %v", n.Name, err)
		}
		links, err := h.LinkList()
		if err != nil {
			t.Fatal(err)
		}
		names := map[int]string{}
		for _, l := range links {
			names[l.Attrs().Index] = l.Attrs().Name
		}
		neighs, err := h.NeighList(0, unix.AF_UNSPEC)
		h.Close()
		if err != nil {
			t.Fatalf("%s: list neighbours: %v", n.Name, err)
		}
		for _, e := range neighs {
			if e.Family == unix.AF_BRIDGE || e.State == unix.NUD_NOARP {
				// Forwarding entries of flannel's VXLAN device, and multicast addresses
				// (a bridge's IGMP reports to 224.0.0.22) whose MAC is computed, not
				// asked: no ARP in either, and ip neigh hides the NOARP ones too.
				continue
			}
			state := "PERMANENT"
			if e.State != unix.NUD_PERMANENT {
				state = fmt.Sprintf("dynamic(state %#x)", e.State)
			}
			out = append(out, fmt.Sprintf("%s %s %s %s %s", n.Name, names[e.LinkIndex], e.IP, e.HardwareAddr, state))
		}
	}
	slices.Sort(out)
	return out
}

// plannedNeighbours is what kernelNeighbours must say of a lab with static
// neighbours: the derived entries and flannel's, all permanent.
func plannedNeighbours(p *plan.Plan) []string {
	table := p.Neighbors()
	var out []string
	for _, n := range p.Namespaces {
		for _, e := range append(table.For(n.Name), n.Neighbors...) {
			mac, _ := net.ParseMAC(e.MAC)
			out = append(out, fmt.Sprintf("%s %s %s %s PERMANENT", n.Name, e.Dev, e.IP, mac))
		}
	}
	slices.Sort(out)
	return out
}

// A cluster with static neighbours: up writes every planned entry as permanent, the
// traffic of the probes (across nodes, through Services, the load balancer and
// flannel's VXLAN) passes, and no dynamic entry appears while it does.
func TestStaticNeighboursInRealNamespaces(t *testing.T) {
	nodetest.RequireRoot(t)
	for _, backend := range []string{"host-gw", "vxlan"} {
		t.Run(backend, func(t *testing.T) {
			l := upCluster(t, withStaticNeighbors(twoNodeLab(backend, "Cluster")))
			if l.p.StaticNeighbors == nil {
				t.Fatal("the plan has no static neighbours")
			}
			want := plannedNeighbours(l.p)
			if diff := cmp.Diff(want, kernelNeighbours(t, l.p)); diff != "" {
				t.Fatalf("neighbour entries after up (-planned +kernel):\n%s", diff)
			}
			l.mustAsk("client-0", "10.96.0.10:80", "web-0")            // Pod -> Service -> Pod on the other node
			l.mustAsk("client-0", "10.244.2.2:8080", "web-0")          // Pod -> Pod
			l.mustAsk("client", "198.51.100.80:80", "web-0")           // outside -> load balancer -> NodePort
			l.mustAsk("client-0", "203.0.113.100:80", "internet-host") // Pod egress, masqueraded
			if diff := cmp.Diff(want, kernelNeighbours(t, l.p)); diff != "" {
				t.Errorf("neighbour entries after the probes (-planned +kernel): a dynamic entry means ARP was needed:\n%s", diff)
			}
		})
	}
}

// Static entries change nothing at L2: a bridge port without hairpin mode still
// drops the frame a Pod's call to itself through its Service sends back to it.
func TestStaticNeighboursKeepHairpinBehaviour(t *testing.T) {
	nodetest.RequireRoot(t)
	for _, c := range []struct {
		name, node string
		works      bool
	}{{"hairpin mode", "", true}, {"without hairpin mode", ", hairpinMode: false", false}} {
		t.Run(c.name, func(t *testing.T) {
			l := upCluster(t, withStaticNeighbors(strings.Replace(hairpinLab, " EXTRA", c.node, 1)))
			ans, err := l.ask("web-0", "10.96.0.10:80")
			if c.works != (err == nil && ans.Host == "web-0") {
				t.Errorf("web-0 -> its own Service: %+v, %v; want it to work: %v", ans, err, c.works)
			}
		})
	}
}
