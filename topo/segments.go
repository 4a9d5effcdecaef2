package topo

import (
	"fmt"
	"net/netip"

	"github.com/labctl/labctl/topo/plan"
)

// segment is one L2 domain: a lab network, a bridge inside a host, or a point-to-point
// link. Addresses are allocated per segment.
type segment struct {
	kind    string // "network", "bridge" or "link"
	name    string // how problems name it
	at      Pos
	prefix  netip.Prefix // invalid when the segment has no subnet
	mtu     int
	members []*iface
	taken   map[netip.Addr]string // address -> who holds it

	// network and bridge segments: where the bridge lives and its name there.
	holder     *hostState
	bridge     string
	hairpin    bool // default hairpin mode of the bridge's ports
	bridgeAddr netip.Prefix
}

// iface is one interface of a host: a veth end attached to a segment.
type iface struct {
	host     *hostState
	name     string
	seg      *segment
	at       Pos
	address  string // as written: "", "auto", "none", "10.0.0.1" or "10.0.0.1/24"
	addrAt   Pos
	addr     netip.Prefix
	mtu      int
	hairpin  *bool
	peerName string // bridge-side port name, for network and bridge segments
}

func newSegment(kind, name string, at Pos) *segment {
	return &segment{kind: kind, name: name, at: at, taken: map[netip.Addr]string{}}
}

// parseSubnet reads a CIDR the lab author wrote for a segment.
func (b *builder) parseSubnet(s string, at Pos, what string) netip.Prefix {
	if s == "" {
		return netip.Prefix{}
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		b.r.add(at, "write it as address/length, e.g. 192.168.50.0/24", "%s: %q is not a CIDR", what, s)
		return netip.Prefix{}
	}
	if p != p.Masked() {
		b.r.add(at, fmt.Sprintf("did you mean %s?", p.Masked()), "%s: %s has host bits set", what, s)
		return netip.Prefix{}
	}
	if p.Addr().Is6() && !b.lab.Options.IPv6 {
		b.r.add(at, "set options.ipv6: true to use IPv6", "%s: %s is IPv6 but the lab has IPv6 off", what, s)
		return netip.Prefix{}
	}
	return p
}

// allocate gives every member of every segment its address: explicit ones first
// (checked against the subnet and for duplicates), then the next free address in
// member order for those that asked for none.
func (b *builder) allocate() {
	owners := map[netip.Addr]string{}
	for _, s := range b.segments {
		if s.bridgeAddr.IsValid() {
			s.taken[s.bridgeAddr.Addr()] = s.name
			owners[s.bridgeAddr.Addr()] = s.name
		}
	}
	for _, s := range b.segments {
		for _, m := range s.members {
			switch m.address {
			case "", "auto", "none":
				continue
			}
			m.addr = b.explicitAddress(s, m)
			if !m.addr.IsValid() {
				continue
			}
			who := fmt.Sprintf("%s %s", m.host.name, m.name)
			if prev, dup := owners[m.addr.Addr()]; dup {
				b.r.add(m.addrAt, "every interface needs its own address; omit address to get a free one", "address %s of %s is already used by %s", m.addr.Addr(), who, prev)
				continue
			}
			owners[m.addr.Addr()] = who
			s.taken[m.addr.Addr()] = who
		}
	}
	for _, s := range b.segments {
		for _, m := range s.members {
			if m.address != "" && m.address != "auto" {
				continue
			}
			if !s.prefix.IsValid() {
				b.r.add(m.addrAt, fmt.Sprintf("give %s a cidr, or give this interface an address (or address: none)", s.name), "%s %s: no address to pick from %s, which has no subnet", m.host.name, m.name, s.name)
				continue
			}
			addr, ok := s.nextFree()
			if !ok {
				b.r.add(m.addrAt, fmt.Sprintf("use a larger subnet for %s", s.name), "%s %s: %s has no free address left", m.host.name, m.name, s.name)
				continue
			}
			who := fmt.Sprintf("%s %s", m.host.name, m.name)
			s.taken[addr] = who
			owners[addr] = who
			m.addr = netip.PrefixFrom(addr, s.prefix.Bits())
		}
	}
}

// explicitAddress parses an address written for a member, defaulting its prefix
// length to the segment's.
func (b *builder) explicitAddress(s *segment, m *iface) netip.Prefix {
	what := fmt.Sprintf("%s %s", m.host.name, m.name)
	if p, err := netip.ParsePrefix(m.address); err == nil {
		if s.prefix.IsValid() && !s.prefix.Contains(p.Addr()) {
			b.r.add(m.addrAt, fmt.Sprintf("pick an address inside %s", s.prefix), "%s: address %s is outside %s (%s)", what, p, s.name, s.prefix)
			return netip.Prefix{}
		}
		if !b.hostAddress(s, m, p.Addr(), cmpPrefix(s.prefix, p)) {
			return netip.Prefix{}
		}
		return p
	}
	a, err := netip.ParseAddr(m.address)
	if err != nil {
		b.r.add(m.addrAt, "write an IP (10.0.0.5), an IP with prefix length (10.0.0.5/24), auto or none", "%s: %q is not an address", what, m.address)
		return netip.Prefix{}
	}
	if !s.prefix.IsValid() {
		b.r.add(m.addrAt, "add the prefix length, e.g. "+a.String()+"/24", "%s: address %s has no prefix length and %s has no subnet to take it from", what, a, s.name)
		return netip.Prefix{}
	}
	if !s.prefix.Contains(a) {
		b.r.add(m.addrAt, fmt.Sprintf("pick an address inside %s", s.prefix), "%s: address %s is outside %s (%s)", what, a, s.name, s.prefix)
		return netip.Prefix{}
	}
	if !b.hostAddress(s, m, a, s.prefix) {
		return netip.Prefix{}
	}
	return netip.PrefixFrom(a, s.prefix.Bits())
}

// hostAddress reports, and returns false for, an address that is the network or the
// broadcast address of its IPv4 subnet (the segment's, else the one written with
// it): the kernel takes it, but packets to it go to every host or none. /31 and /32
// have neither.
func (b *builder) hostAddress(s *segment, m *iface, a netip.Addr, subnet netip.Prefix) bool {
	if !a.Is4() || subnet.Bits() >= 31 {
		return true
	}
	which := ""
	switch a {
	case subnet.Masked().Addr():
		which = "network"
	case lastAddr(subnet):
		which = "broadcast"
	default:
		return true
	}
	first, last := subnet.Masked().Addr().Next(), lastAddr(subnet).Prev()
	b.r.add(m.addrAt, fmt.Sprintf("pick a host address from %s to %s, or omit address to get the next free one", first, last),
		"%s %s: %s is the %s address of %s", m.host.name, m.name, a, which, subnet.Masked())
	return false
}

// cmpPrefix returns p if it is valid, else q.
func cmpPrefix(p, q netip.Prefix) netip.Prefix {
	if p.IsValid() {
		return p
	}
	return q
}

// nextFree returns the lowest free host address of the segment's subnet.
func (s *segment) nextFree() (netip.Addr, bool) {
	first, last := s.prefix.Masked().Addr(), lastAddr(s.prefix)
	if s.prefix.Addr().Is4() && s.prefix.Bits() < 31 {
		first, last = first.Next(), last.Prev() // skip network and broadcast addresses
	}
	for a := first; a.IsValid() && a.Compare(last) <= 0; a = a.Next() {
		if _, used := s.taken[a]; !used {
			return a, true
		}
	}
	return netip.Addr{}, false
}

func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().AsSlice()
	for i := p.Bits(); i < len(a)*8; i++ {
		a[i/8] |= 0x80 >> (i % 8)
	}
	out, _ := netip.AddrFromSlice(a)
	return out
}

// checkOverlaps reports segments whose subnets overlap: two segments with the same
// addresses would make routes ambiguous.
func (b *builder) checkOverlaps() {
	for i, s := range b.segments {
		for _, o := range b.segments[:i] {
			if s.prefix.IsValid() && o.prefix.IsValid() && s.prefix.Overlaps(o.prefix) {
				b.r.add(s.at, fmt.Sprintf("give %s a subnet that does not overlap %s", s.name, o.prefix), "%s (%s) overlaps %s (%s)", s.name, s.prefix, o.name, o.prefix)
			}
		}
	}
}

// veths turns segment membership into veth pairs. For bridged segments the bridge
// side is A, so the port joins its bridge the moment it is created.
func (b *builder) veths() []plan.Veth {
	var out []plan.Veth
	for _, s := range b.segments {
		switch s.kind {
		case "link":
			if len(s.members) != 2 {
				continue
			}
			x, y := s.members[0], s.members[1]
			out = append(out, plan.Veth{A: x.end(y.host.name + ":" + y.name), B: y.end(x.host.name + ":" + x.name)})
		default:
			for _, m := range s.members {
				hairpin := s.hairpin
				if m.hairpin != nil {
					hairpin = *m.hairpin
				}
				port := plan.End{Namespace: s.holder.name, Name: m.peerName, Alias: m.host.name + ":" + m.name, Master: s.bridge, Hairpin: hairpin, MTU: m.mtu}
				out = append(out, plan.Veth{A: port, B: m.end(s.holder.name + ":" + m.peerName)})
			}
		}
	}
	return out
}

func (m *iface) end(alias string) plan.End {
	e := plan.End{Namespace: m.host.name, Name: m.name, Alias: alias, MTU: m.mtu}
	if m.addr.IsValid() {
		e.Addresses = []netip.Prefix{m.addr}
	}
	return e
}
