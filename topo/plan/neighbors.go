package plan

import (
	"net/netip"
)

// StaticNeighbors says that the plan gives every veth end and every bridge with an
// address a fixed MAC, and that node writes a permanent neighbour (ARP) entry in each
// namespace for every other address of each L2 segment the namespace is attached to.
//
// Why: the kernel's IPv4 neighbour table is one table for every namespace of the
// machine, capped by net.ipv4.neigh.default.gc_thresh3 (1,024 by default), a limit
// only the root namespace can raise. A big lab's own ARP traffic fills it and probes
// time out. Permanent entries are exempt from that limit (Linux 4.19 and later:
// exempt_from_gc in net/core/neighbour.c), and with one for every address of a segment
// the kernel never needs a dynamic entry there.
//
// The entries are not listed in the plan: for a cluster of 1,000 Pods they are over
// 20,000. They follow from the segments (bridges, their ports' peers, point-to-point
// veths) and the MACs, and Neighbors derives them, for node and for labctl plan alike.
type StaticNeighbors struct {
	// Why says what turned them on: the lab's option, or the lab's size.
	Why string `json:"why"`
}

// NeighborTable holds the L2 segments of a plan, to derive each namespace's static
// neighbour entries. It is read-only once built and safe for concurrent use.
type NeighborTable struct {
	segments [][]l2Member
	// of lists, per namespace, where its interfaces sit: segment and member index.
	of map[string][]l2Ref
}

// l2Member is an L3 interface on a segment: a host's veth end, or an addressed bridge.
type l2Member struct {
	ns, dev, mac string
	addrs        []netip.Prefix
}

type l2Ref struct{ seg, member int }

// Neighbors returns the plan's neighbour table, or nil when the plan has no static
// neighbours. Segments are found as topo made them: a bridge and the far ends of the
// veths enslaved to it form one segment; a veth with no bridge on either side is a
// point-to-point segment of its two ends. Bridges without an address (a network's
// switch) and bridge ports are not L3 interfaces and get no entries.
func (p *Plan) Neighbors() *NeighborTable {
	if p.StaticNeighbors == nil {
		return nil
	}
	t := &NeighborTable{of: map[string][]l2Ref{}}
	bridges := map[[2]string]int{} // namespace, bridge -> segment
	for _, n := range p.Namespaces {
		for _, br := range n.Bridges {
			bridges[[2]string{n.Name, br.Name}] = len(t.segments)
			var members []l2Member
			if len(br.Addresses) > 0 {
				members = append(members, l2Member{n.Name, br.Name, br.MAC, br.Addresses})
			}
			t.segments = append(t.segments, members)
		}
	}
	end := func(e End) l2Member { return l2Member{e.Namespace, e.Name, e.MAC, e.Addresses} }
	for _, v := range p.Veths {
		switch {
		case v.A.Master != "" && v.B.Master != "":
			// Two bridges patched together: not something topo makes. Left to ARP.
		case v.A.Master != "":
			t.join(bridges, v.A, end(v.B))
		case v.B.Master != "":
			t.join(bridges, v.B, end(v.A))
		default:
			t.segments = append(t.segments, []l2Member{end(v.A), end(v.B)})
		}
	}
	for si, members := range t.segments {
		for mi, m := range members {
			if m.mac == "" {
				// No fixed MAC to write: the others reach it by ARP.
				members[mi].addrs = nil
			}
			t.of[m.ns] = append(t.of[m.ns], l2Ref{si, mi})
		}
	}
	return t
}

// join adds member to the segment of the bridge port is enslaved to.
func (t *NeighborTable) join(bridges map[[2]string]int, port End, member l2Member) {
	if si, ok := bridges[[2]string{port.Namespace, port.Master}]; ok {
		t.segments[si] = append(t.segments[si], member)
	}
}

// For returns the permanent entries of the named namespace, in plan order: on each of
// its interfaces, every address of every other member of the interface's segment.
func (t *NeighborTable) For(namespace string) []Neighbor {
	if t == nil {
		return nil
	}
	var out []Neighbor
	for _, r := range t.of[namespace] {
		self := t.segments[r.seg][r.member]
		for mi, o := range t.segments[r.seg] {
			if mi == r.member {
				continue
			}
			for _, a := range o.addrs {
				out = append(out, Neighbor{Dev: self.dev, IP: a.Addr(), MAC: o.mac})
			}
		}
	}
	return out
}

// Count is len(For(namespace)) without building the entries.
func (t *NeighborTable) Count(namespace string) int {
	if t == nil {
		return 0
	}
	n := 0
	for _, r := range t.of[namespace] {
		for mi, o := range t.segments[r.seg] {
			if mi != r.member {
				n += len(o.addrs)
			}
		}
	}
	return n
}

// Total is the number of entries of every namespace together.
func (t *NeighborTable) Total() int {
	if t == nil {
		return 0
	}
	n := 0
	for _, members := range t.segments {
		addrs := 0
		for _, m := range members {
			addrs += len(m.addrs)
		}
		for _, m := range members {
			n += addrs - len(m.addrs)
		}
	}
	return n
}
