package plan

import (
	"bytes"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// WriteText writes the plan as deterministic, human-readable text: what labctl plan
// prints and what golden tests compare.
func (p *Plan) WriteText(w io.Writer) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "lab %s (instance %s)\n", p.Lab, p.Instance)
	if p.Machine != "" {
		p.writeMachine(&b)
	}
	if p.Description != "" {
		for _, l := range strings.Split(strings.TrimSpace(p.Description), "\n") {
			fmt.Fprintf(&b, "  # %s\n", l)
		}
	}
	ipv6 := "off"
	if p.IPv6 {
		ipv6 = "on"
	}
	fmt.Fprintf(&b, "iptables backend %s, IPv6 %s\n", p.Backend, ipv6)
	fmt.Fprintf(&b, "every namespace: lo up, rp_filter 0, ip_forward 0 unless set below\n")
	neighbors := p.writeStaticNeighbors(&b)
	ends := p.EndPairs()
	// Written out a namespace at a time: the text of a 1,000-Pod cluster is 28 MB,
	// and growing one buffer to hold it cost more in page faults than rendering it.
	for _, n := range p.Namespaces {
		b.WriteByte('\n')
		p.writeNamespace(&b, n, neighbors, ends[n.Name])
		if b.Len() >= 64<<10 {
			if _, err := w.Write(b.Bytes()); err != nil {
				return err
			}
			b.Reset()
		}
	}
	p.writeProbes(&b)
	_, err := w.Write(b.Bytes())
	return err
}

func (p *Plan) writeNamespace(b *bytes.Buffer, n *Namespace, neighbors *NeighborTable, ends [][2]End) {
	fmt.Fprintf(b, "%s %s  netns %s", n.Kind, n.Name, n.NetNS)
	if n.Group != "" {
		fmt.Fprintf(b, "  on %s", n.Group)
	}
	b.WriteByte('\n')
	for _, s := range n.Sysctls {
		fmt.Fprintf(b, "  sysctl %s = %s\n", s.Key, s.Value)
	}
	if len(n.Loopback) > 0 {
		fmt.Fprintf(b, "  lo %s\n", prefixes(n.Loopback))
	}
	for _, br := range n.Bridges {
		fmt.Fprintf(b, "  bridge %s", br.Name)
		if len(br.Addresses) > 0 {
			fmt.Fprintf(b, " %s", prefixes(br.Addresses))
		}
		if br.MTU != 0 {
			fmt.Fprintf(b, " mtu %d", br.MTU)
		}
		b.WriteString(macText(br.MAC))
		b.WriteByte('\n')
	}
	for _, pair := range ends {
		writeEnd(b, pair[0], pair[1])
	}
	for _, v := range n.Vxlans {
		fmt.Fprintf(b, "  vxlan %s vni %d port %d local %s dev %s mac %s", v.Name, v.VNI, v.Port, v.Local, v.Dev, v.MAC)
		if len(v.Addresses) > 0 {
			fmt.Fprintf(b, " %s", prefixes(v.Addresses))
		}
		if v.MTU != 0 {
			fmt.Fprintf(b, " mtu %d", v.MTU)
		}
		b.WriteByte('\n')
	}
	neighbors.writeNeighbors(b, n.Name) // nothing when static neighbours are off
	for _, t := range n.Tunnels {
		writeTunnel(b, t)
	}
	for _, nb := range n.Neighbors {
		fmt.Fprintf(b, "  neigh %s lladdr %s dev %s permanent\n", nb.IP, nb.MAC, nb.Dev)
	}
	for _, f := range n.FDB {
		fmt.Fprintf(b, "  fdb %s dev %s dst %s permanent\n", f.MAC, f.Dev, f.Dst)
	}
	for _, r := range n.Routes {
		fmt.Fprintf(b, "  route %s\n", r)
	}
	if payload, origins := n.Payload(); payload != nil {
		b.WriteString("  iptables-restore:\n")
		b.Grow(len(payload) + 5*len(origins))
		for i := 0; len(payload) > 0; i++ {
			line, rest, _ := bytes.Cut(payload, []byte{'\n'})
			b.WriteString("    ")
			b.Write(line)
			if o := origins[i]; o.Line > 0 {
				b.WriteString("    # line ")
				b.WriteString(strconv.Itoa(o.Line))
			}
			b.WriteByte('\n')
			payload = rest
		}
	}
	for _, s := range n.Servers {
		fmt.Fprintf(b, "  agent listens %d/%s", s.Port, s.Protocol)
		if s.ProxyTo != "" {
			fmt.Fprintf(b, " proxy to %s", s.ProxyTo)
		}
		b.WriteByte('\n')
	}
	for _, c := range n.Commands {
		mode := "run"
		if c.Background {
			mode = "start"
		}
		fmt.Fprintf(b, "  %s %s\n", mode, c.Run)
	}
}

func writeEnd(b *bytes.Buffer, e, peer End) {
	fmt.Fprintf(b, "  link %s", e.Name)
	if len(e.Addresses) > 0 {
		fmt.Fprintf(b, " %s", prefixes(e.Addresses))
	}
	if e.Master != "" {
		fmt.Fprintf(b, " master %s", e.Master)
		if e.Hairpin {
			b.WriteString(" hairpin")
		}
	}
	if e.MTU != 0 {
		fmt.Fprintf(b, " mtu %d", e.MTU)
	}
	b.WriteString(macText(e.MAC))
	fmt.Fprintf(b, "  veth peer %s:%s\n", peer.Namespace, peer.Name)
}

func (r Route) String() string {
	to := r.To.String()
	if r.To.Bits() == 0 {
		to = "default"
	}
	s := to
	if r.Via.IsValid() {
		s += " via " + r.Via.String()
	}
	if r.Dev != "" {
		s += " dev " + r.Dev
	}
	if r.Src.IsValid() {
		s += " src " + r.Src.String()
	}
	if r.OnLink {
		s += " onlink"
	}
	return s
}

func prefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, " ")
}
