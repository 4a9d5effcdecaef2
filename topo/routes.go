package topo

import (
	"fmt"
	"net/netip"

	"github.com/labctl/labctl/topo/plan"
)

// route resolves a written route: "default" or a CIDR, a gateway given as an IP or as
// the name of a host sharing a segment, and the interface that reaches it.
func (b *builder) route(h *hostState, r *Route) (plan.Route, bool) {
	var out plan.Route
	ok := true
	if r.Via != "" {
		out.Via, ok = b.gateway(h, r)
	}
	switch dst := r.To; {
	case dst == "default":
		out.To = netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		if out.Via.Is6() {
			out.To = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
		}
	default:
		p, err := netip.ParsePrefix(dst)
		if err != nil {
			if a, aerr := netip.ParseAddr(dst); aerr == nil {
				p, err = netip.PrefixFrom(a, a.BitLen()), nil
			}
		}
		switch {
		case err != nil:
			b.r.add(r.At("to"), "write default, a CIDR (10.96.0.0/12) or an IP", "host %s: route to %q is not a destination", h.name, dst)
			ok = false
		case p != p.Masked():
			b.r.add(r.At("to"), fmt.Sprintf("did you mean %s?", p.Masked()), "host %s: route to %s has host bits set", h.name, dst)
			ok = false
		default:
			out.To = p
		}
	}
	if r.Src != "" {
		a, err := netip.ParseAddr(r.Src)
		if err != nil {
			b.r.add(r.At("src"), "write one of this host's addresses", "host %s: route src %q is not an IP", h.name, r.Src)
			ok = false
		}
		out.Src = a
	}
	if !ok {
		return out, false
	}
	if out.Via.IsValid() && out.To.Addr().Is4() != out.Via.Is4() {
		b.r.add(r.Pos(), "use a gateway of the same family as the destination", "host %s: route to %s via %s mixes IPv4 and IPv6", h.name, out.To, out.Via)
		return out, false
	}
	return b.routeDev(h, r, out)
}

// gateway resolves via: an IP, or a host name meaning that host's address on a
// segment both hosts are on (for a Pod, its node's bridge address).
func (b *builder) gateway(h *hostState, r *Route) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(r.Via); err == nil {
		return a, true
	}
	gw := b.byName[r.Via]
	if gw == nil || gw.spec == nil {
		b.r.add(r.At("via"), b.suggest(r.Via, "host"), "host %s: route via %q: neither an IP nor a host", h.name, r.Via)
		return netip.Addr{}, false
	}
	for _, m := range h.ifaces {
		if m.seg == nil {
			continue
		}
		if m.seg.holder == gw && m.seg.bridgeAddr.IsValid() {
			return m.seg.bridgeAddr.Addr(), true
		}
		for _, peer := range m.seg.members {
			if peer.host == gw && peer.addr.IsValid() {
				return peer.addr.Addr(), true
			}
		}
	}
	b.r.add(r.At("via"), "attach both hosts to one network, link or bridge, or write the gateway's IP", "host %s: route via %s: the two hosts share no segment with an address", h.name, r.Via)
	return netip.Addr{}, false
}

// routeDev checks or picks the interface of a route.
func (b *builder) routeDev(h *hostState, r *Route, out plan.Route) (plan.Route, bool) {
	type subnet struct {
		dev    string
		prefix netip.Prefix
	}
	var subnets []subnet
	for _, m := range h.ifaces {
		if m.addr.IsValid() {
			subnets = append(subnets, subnet{m.name, m.addr.Masked()})
		}
	}
	for _, br := range h.ns.Bridges {
		for _, a := range br.Addresses {
			subnets = append(subnets, subnet{br.Name, a.Masked()})
		}
	}
	if r.Dev != "" {
		if !h.ifnames[r.Dev] || r.Dev == "lo" {
			b.r.add(r.At("dev"), "name one of this host's interfaces or bridges", "host %s: route dev %q does not exist", h.name, r.Dev)
			return out, false
		}
		out.Dev = r.Dev
		return out, true
	}
	if !out.Via.IsValid() {
		b.r.add(r.Pos(), "add via: GATEWAY or dev: INTERFACE", "host %s: route to %s says neither via nor dev", h.name, r.To)
		return out, false
	}
	for _, s := range subnets {
		if s.prefix.Contains(out.Via) {
			out.Dev = s.dev
			return out, true
		}
	}
	b.r.add(r.At("via"), "a gateway must be on a subnet of one of this host's interfaces", "host %s: gateway %s is not on any subnet of this host", h.name, out.Via)
	return out, false
}
