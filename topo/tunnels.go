package topo

import (
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"slices"

	"github.com/labctl/labctl/topo/plan"
)

// span is a segment (a link or a network) whose members are on several machines: a
// VXLAN tunnel carries it between them.
type span struct {
	machines []string
	// identity names the segment the same way on every machine; the VNI derives
	// from it and the lab name.
	identity string
	vni      int
	mtu      int
}

// VNI and port ranges of derived tunnels. VNIs below 4096 are left to hand-made and
// CNI devices (flannel uses 1); ports stay below Linux's ephemeral range (32768 on)
// so a derived port does not meet some program's outgoing UDP socket.
const (
	vniMin, vniMax   = 4096, 1<<24 - 1
	portMin, portMax = 24000, 31999
)

// spanSegments finds the segments that join hosts of different machines and lowers
// their MTU so a tunnelled frame fits the underlay. It depends only on placement,
// which every machine computes the same from the whole lab, so both ends agree.
func (b *builder) spanSegments() {
	if len(b.machineOrder) == 0 {
		return
	}
	b.spans = map[*segment]*span{}
	for _, s := range b.segments {
		ms := b.machinesOf(s)
		// A bridge inside a host cannot span machines; placeHost reported it.
		if len(ms) < 2 || s.kind == "bridge" {
			continue
		}
		sp := &span{machines: ms, identity: segmentIdentity(s)}
		b.spans[s] = sp
		b.lowerMTU(s, sp)
	}
	b.assignVNIs()
	b.cascadePodMTU()
}

// segmentIdentity is "network NAME" or "link HOST:IF HOST:IF" (in written order).
func segmentIdentity(s *segment) string {
	if s.kind != "link" {
		return "network " + s.holder.name
	}
	id := "link"
	for _, m := range s.members {
		id += " " + m.host.name + ":" + m.name
	}
	return id
}

// lowerMTU gives the segment, its bridge and every member the largest MTU whose
// frames still fit the underlay of each machine it spans once VXLAN-encapsulated.
func (b *builder) lowerMTU(s *segment, sp *span) {
	limit := 0
	for _, name := range sp.machines {
		ms := b.machines[name]
		if l := ms.mtu - plan.VXLANOverhead(ms.addr); limit == 0 || l < limit {
			limit = l
		}
	}
	sp.mtu = min(cmpInt(s.mtu, 1500), limit)
	b.setSegmentMTU(s, sp.mtu)
}

func (b *builder) setSegmentMTU(s *segment, mtu int) {
	s.mtu = mtu
	for _, m := range s.members {
		if m.mtu == 0 || m.mtu > mtu {
			m.mtu = mtu
		}
	}
	if s.holder == nil {
		return
	}
	for i := range s.holder.ns.Bridges {
		if s.holder.ns.Bridges[i].Name == s.bridge {
			s.holder.ns.Bridges[i].MTU = mtu
		}
	}
}

// cascadePodMTU keeps Pods below their node network's MTU once that network is
// tunnelled: with flannel's vxlan another 50 bytes below it, as flannel does.
func (b *builder) cascadePodMTU() {
	cs := b.cluster
	if cs == nil || cs.network == nil || b.spans[cs.network] == nil {
		return
	}
	podMTU := cs.podMTU()
	if podMTU == 0 {
		podMTU = cs.network.mtu
	}
	bridge := cmpOr(cs.spec.CNI.Bridge, "cni0")
	for _, n := range cs.nodes {
		if s := b.bridges[n.spec.Name+"/"+bridge]; s != nil {
			b.setSegmentMTU(s, podMTU)
		}
	}
}

// assignVNIs derives each tunnel's VNI from the lab name and the segment's identity
// (SHA-256, into vniMin..vniMax). Two segments of the lab that hash to the same VNI
// are resolved in identity order, the later one taking the next free VNI: every
// machine compiles the whole lab, so each gets the same answer without talking to
// the others. A clash with another lab on the same underlay and port is reported by
// the kernel when the device is created (node names the lab, VNI and port).
func (b *builder) assignVNIs() {
	ids := make([]string, 0, len(b.spans))
	for _, sp := range b.spans {
		ids = append(ids, sp.identity)
	}
	vnis := resolveVNIs(ids, func(id string) int { return deriveVNI(b.lab.Name, id) })
	for _, sp := range b.spans {
		sp.vni = vnis[sp.identity]
	}
}

// resolveVNIs gives each identity its derived VNI, or, when an identity earlier in
// sorted order took it, the next free one (wrapping from vniMax to vniMin).
func resolveVNIs(ids []string, derive func(string) int) map[string]int {
	ids = slices.Sorted(slices.Values(ids))
	out := make(map[string]int, len(ids))
	used := map[int]bool{}
	for _, id := range ids {
		vni := derive(id)
		for used[vni] {
			if vni++; vni > vniMax {
				vni = vniMin
			}
		}
		used[vni] = true
		out[id] = vni
	}
	return out
}

// deriveVNI is the VNI a segment of a lab asks for before collisions are resolved.
func deriveVNI(lab, identity string) int {
	sum := sha256.Sum256([]byte("labctl/vni/" + lab + "/" + identity))
	return vniMin + int(binary.BigEndian.Uint32(sum[:4])%uint32(vniMax-vniMin+1))
}

// derivePort is the UDP port of a lab's tunnels: one per lab, so all its tunnels on a
// machine share one socket (the kernel tells them apart by VNI).
func derivePort(lab string) int {
	sum := sha256.Sum256([]byte("labctl/port/" + lab))
	return portMin + int(binary.BigEndian.Uint32(sum[:4])%uint32(portMax-portMin+1))
}

func (b *builder) tunnelPort() int {
	if p := b.lab.Options.TunnelPort; p != 0 {
		return p
	}
	return derivePort(b.lab.Name)
}

// keepShare cuts the compiled lab down to one machine's share: its hosts, the
// networks it has members of, the veths between them, and a tunnel for every link
// or network that continues on another machine. Nothing else changes.
func (b *builder) keepShare(opts CompileOptions) {
	me, p := b.machines[opts.Machine], b.p
	p.Machine = opts.Machine
	for _, name := range b.machineOrder {
		ms := b.machines[name]
		p.Machines = append(p.Machines, plan.Machine{Name: name, Address: ms.addr, Dev: ms.spec.Dev})
	}
	p.Underlay = &plan.Underlay{Address: me.addr, Dev: me.spec.Dev, NetNS: opts.UnderlayNetNS, Port: b.tunnelPort()}
	local := map[string]bool{}
	for _, h := range b.spaces {
		local[h.name] = h.machine == opts.Machine
		if s := b.networks[h.name]; s != nil && h.spec == nil {
			ms := b.machinesOf(s)
			local[h.name] = slices.Contains(ms, opts.Machine) || (len(ms) == 0 && opts.Machine == b.machineOrder[0])
		}
	}
	ends := map[[2]string]plan.End{}
	for _, v := range p.Veths {
		ends[[2]string{v.A.Namespace, v.A.Name}], ends[[2]string{v.B.Namespace, v.B.Name}] = v.A, v.B
	}
	for _, h := range b.spaces {
		if h.spec != nil && !local[h.name] {
			p.Elsewhere = append(p.Elsewhere, remoteHost(h))
		}
	}
	for i := range p.Probes {
		if h := b.byName[p.Probes[i].From]; h != nil && !local[h.name] {
			p.Probes[i].RunsOn = h.machine
		}
	}
	for _, s := range b.segments {
		if sp := b.spans[s]; sp != nil {
			b.addTunnels(s, sp, me, local, ends)
		}
	}
	veths := p.Veths[:0]
	for _, v := range p.Veths {
		if local[v.A.Namespace] && local[v.B.Namespace] {
			veths = append(veths, v)
		}
	}
	p.Veths = veths
	namespaces := p.Namespaces[:0]
	for _, n := range p.Namespaces {
		if local[n.Name] {
			namespaces = append(namespaces, n)
		}
	}
	p.Namespaces = namespaces
}

// addTunnels adds the local side of a spanning segment: for a link, the local end
// becomes a VXLAN device with the same name, addresses and MTU, unicast to the
// other machine; for a network, the local bridge gets one VXLAN port that floods
// to every other machine with members and learns where each MAC is.
func (b *builder) addTunnels(s *segment, sp *span, me *machineState, local map[string]bool, ends map[[2]string]plan.End) {
	t := plan.Tunnel{Segment: sp.identity, VNI: sp.vni, Port: b.tunnelPort(), Local: me.addr, MTU: sp.mtu}
	if s.kind == "link" {
		for i, m := range s.members {
			far := s.members[1-i]
			if !local[m.host.name] || local[far.host.name] {
				continue
			}
			e := ends[[2]string{m.host.name, m.name}]
			t.Namespace, t.Name, t.Alias, t.Addresses, t.MAC = m.host.name, m.name, e.Alias, e.Addresses, e.MAC
			t.Remote = b.machines[far.host.machine].addr
			m.host.ns.Tunnels = append(m.host.ns.Tunnels, t)
		}
		return
	}
	if !local[s.holder.name] {
		return
	}
	for _, name := range sp.machines {
		if ms := b.machines[name]; ms != me {
			t.Peers = append(t.Peers, ms.addr)
		}
	}
	t.Namespace, t.Master = s.holder.name, s.bridge
	t.Name = s.holder.ifnames.derive("tunnel "+sp.identity, "vxlan0")
	t.Alias = "tunnel to " + joinNames(sp.machines, me.spec.Name)
	s.holder.ns.Tunnels = append(s.holder.ns.Tunnels, t)
}

func joinNames(names []string, except string) string {
	out := ""
	for _, n := range names {
		if n == except {
			continue
		}
		if out != "" {
			out += ", "
		}
		out += n
	}
	return out
}

// remoteHost records a host of another machine with its addresses, so probes and
// reports can still name it.
func remoteHost(h *hostState) plan.RemoteHost {
	r := plan.RemoteHost{Name: h.name, Kind: h.kind, Machine: h.machine}
	add := func(ps []netip.Prefix) {
		for _, a := range ps {
			r.Addresses = append(r.Addresses, a.Addr())
		}
	}
	for _, m := range h.ifaces {
		if m.addr.IsValid() {
			r.Addresses = append(r.Addresses, m.addr.Addr())
		}
	}
	for _, br := range h.ns.Bridges {
		add(br.Addresses)
	}
	add(h.ns.Loopback)
	return r
}
