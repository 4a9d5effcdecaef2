package verify

import (
	"net/netip"

	"github.com/labctl/labctl/node"
	"github.com/labctl/labctl/topo/plan"
)

// Finding a probe's flows in conntrack tables. A flow is known at its two ends: the
// sender's socket to the target, and what the answering agent saw (its client ->
// its own socket). Every host that tracked the flow has an entry whose original tuple
// is the flow as it arrived there and whose reply tuple, turned around, is the flow as
// it left (after that host's NAT). So starting from the known tuples, entries chain
// up: an entry belongs to the flow when its original or its translated tuple is a
// tuple already known, which then makes its other tuple known too.

// translated is the flow as it left the host: the reply tuple turned around.
func translated(e node.ConntrackEntry) node.Tuple {
	return node.Tuple{Src: e.Reply.Dst, Dst: e.Reply.Src}
}

// protoNumber is the IP protocol of a probe protocol.
func protoNumber(proto string) uint8 {
	switch proto {
	case plan.UDP:
		return 17
	case plan.ICMP:
		return 1
	}
	return 6
}

// seeds are the tuples known from the tries: the sender's, and each answering agent's.
func seeds(p plan.Probe, tries []Try) []node.Tuple {
	var out []node.Tuple
	target := netip.AddrPortFrom(p.To.Addr, uint16(p.To.Port))
	for _, t := range tries {
		if t.Client.IsValid() {
			out = append(out, node.Tuple{Src: t.Client, Dst: target})
		}
		if t.Answer == nil {
			continue
		}
		for _, a := range t.Answer.Chain() {
			remote, err1 := netip.ParseAddrPort(a.Remote)
			local, err2 := netip.ParseAddrPort(a.Local)
			if err1 == nil && err2 == nil {
				out = append(out, node.Tuple{Src: unmap(remote), Dst: unmap(local)})
			}
		}
	}
	return out
}

func unmap(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// flowEntries returns, per host, the entries of tables that belong to the probe's
// flows (relayed calls included: their server-side tuples are seeds too).
func flowEntries(p plan.Probe, tries []Try, tables map[string][]node.ConntrackEntry) map[string][]node.ConntrackEntry {
	known := map[node.Tuple]bool{}
	for _, s := range seeds(p, tries) {
		known[s] = true
	}
	// Relayed calls may use another protocol than the probe's first call.
	protos := map[uint8]bool{protoNumber(p.Protocol): true}
	for _, h := range p.Then {
		protos[protoNumber(h.Protocol)] = true
	}
	taken := map[string]map[int]bool{}
	out := map[string][]node.ConntrackEntry{}
	for changed := true; changed; {
		changed = false
		for host, entries := range tables {
			for i, e := range entries {
				if taken[host][i] || !protos[e.Proto] {
					continue
				}
				if !known[e.Original] && !known[translated(e)] {
					continue
				}
				if taken[host] == nil {
					taken[host] = map[int]bool{}
				}
				taken[host][i] = true
				out[host] = append(out[host], e)
				known[e.Original], known[translated(e)] = true, true
				changed = true
			}
		}
	}
	return out
}

// pathOrder orders the hosts that tracked a flow the way the flow went: the host that
// saw the sender's tuple first, then the one that saw what it sent on, and so on.
// Hosts not on that chain follow in the order given.
func pathOrder(start node.Tuple, flows map[string][]node.ConntrackEntry, hosts []string) []string {
	var order []string
	used := map[string]bool{}
	next := start
	for {
		found := ""
		for _, h := range hosts {
			if used[h] {
				continue
			}
			for _, e := range flows[h] {
				if e.Original == next {
					found = h
					next = translated(e)
					break
				}
			}
			if found != "" {
				break
			}
		}
		if found == "" {
			break
		}
		used[found] = true
		order = append(order, found)
	}
	for _, h := range hosts {
		if !used[h] && len(flows[h]) > 0 {
			order = append(order, h)
		}
	}
	return order
}
