package node

import (
	"fmt"
	"net"
	"sync"

	"github.com/labctl/labctl/node/rtnl"
	"github.com/labctl/labctl/topo/plan"
)

// Static neighbours (plan.StaticNeighbors): every veth end and addressed bridge is
// created with its planned MAC, and each namespace's permanent entries go into the
// batch that gives its interfaces their addresses, once those interfaces are up with
// their final MAC (a link going down or changing its MAC loses its entries).

// neighborTable is the plan's table of static entries, derived once per build from
// the plan's segments and then read by every worker.
type neighborTable struct {
	once  sync.Once
	table *plan.NeighborTable
}

func (b *build) neighborTable() *plan.NeighborTable {
	b.neighbors.once.Do(func() { b.neighbors.table = b.plan.Neighbors() })
	return b.neighbors.table
}

// addNeighbors queues the permanent entries of namespace s; names maps its interfaces
// to their indexes. Nothing when the plan has no static neighbours.
func (b *build) addNeighbors(c *rtnl.Conn, s *space, names map[string]int32) {
	for _, e := range b.neighborTable().For(s.ns.Name) {
		idx := names[e.Dev]
		mac, err := parseMAC(e.MAC, "neighbour "+e.IP.String())
		switch {
		case err != nil:
			c.Fail(err)
		case idx == 0:
			c.Fail(fmt.Errorf("plan error: neighbour %s on %s: %s has no interface %s (recompile the plan with this labctl)", e.IP, e.Dev, s.ns.Name, e.Dev))
		default:
			c.AddNeigh(idx, e.IP, mac, e.Dev)
		}
	}
}

// withMACs sets the MACs of a veth to create: its own end's and its peer's (nil, so
// the kernel picks, when the plan has none).
func withMACs(spec *rtnl.Veth, link, peer plan.End) error {
	var err error
	if spec.MAC, err = parseMAC(link.MAC, "veth "+link.Name); err != nil {
		return err
	}
	spec.PeerMAC, err = parseMAC(peer.MAC, "veth "+peer.Name)
	return err
}

// parseMAC reads a MAC of the plan; what names its interface in errors.
func parseMAC(mac, what string) ([]byte, error) {
	if mac == "" {
		return nil, nil
	}
	hw, err := net.ParseMAC(mac)
	if err != nil || len(hw) != 6 {
		return nil, fmt.Errorf("plan error: %s: MAC %q is not an Ethernet address (recompile the plan with this labctl)", what, mac)
	}
	return hw, nil
}
