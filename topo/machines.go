package topo

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/labctl/labctl/topo/plan"
)

// Machine is one machine a lab spreads over. Every machine compiles the whole lab
// and builds its share (labctl up --machine NAME), so addresses, routes and rules
// are the same as on one machine; segments joining hosts of different machines
// become VXLAN tunnels between their underlay addresses (see tunnels.go).
type Machine struct {
	Meta    `yaml:"-"`
	Name    string   `yaml:"name" required:"true" doc:"Machine name (lowercase letters, digits, '-'): labctl up --machine NAME builds its share, as instance <lab>@<name>."`
	Address string   `yaml:"address" required:"true" doc:"Underlay address of the machine: the source of its tunnel packets and where the other machines send theirs."`
	Dev     string   `yaml:"dev" doc:"Underlay interface the tunnels use (default: the route to each peer decides)."`
	MTU     int      `yaml:"mtu" doc:"MTU of the underlay path (default 1500): segments crossing to this machine get this minus the VXLAN overhead (50 bytes over IPv4, 70 over IPv6)."`
	Hosts   []string `yaml:"hosts" doc:"Hosts, cluster nodes and the load balancer placed on this machine (the same as machine: on each of them)."`
}

// maxMachineName keeps lab@machine short enough to read in namespace names.
const maxMachineName = 24

// machineState is a declared machine during compilation.
type machineState struct {
	spec *Machine
	addr netip.Addr
	mtu  int
}

// placement is where a host was put, and by which line of the lab file.
type placement struct {
	machine string
	at      Pos
}

// checkMachines validates the machines section and the --machine option. It runs
// before anything is declared, so the instance name is known for namespace names.
func (b *builder) checkMachines(opts CompileOptions) {
	l := b.lab
	b.machines = map[string]*machineState{}
	family := ""
	for i := range l.Machines {
		m := &l.Machines[i]
		if msg, hint := checkName(m.Name, maxMachineName); msg != "" {
			if m.Name != "" {
				b.r.add(m.At("name"), hint, "machine %s", msg)
			}
			continue
		}
		if _, dup := b.machines[m.Name]; dup {
			b.r.add(m.At("name"), "give every machine its own name", "machine %q is declared twice", m.Name)
			continue
		}
		ms := &machineState{spec: m, mtu: cmpInt(m.MTU, 1500)}
		b.machines[m.Name] = ms
		b.machineOrder = append(b.machineOrder, m.Name)
		if a, err := netip.ParseAddr(m.Address); err == nil && !a.IsUnspecified() && !a.IsMulticast() {
			ms.addr = a.Unmap()
		} else if m.Address != "" {
			b.r.add(m.At("address"), "write the machine's unicast underlay address, e.g. 192.0.2.1", "machine %s: %q is not a unicast address", m.Name, m.Address)
		}
		if ms.addr.IsValid() {
			f := map[bool]string{true: "IPv4", false: "IPv6"}[ms.addr.Is4()]
			if family != "" && f != family {
				b.r.add(m.At("address"), "use one address family for every machine's underlay", "machine %s: underlay address %s is %s, the machines before it are %s", m.Name, ms.addr, f, family)
			}
			family = f
			for _, other := range b.machineOrder[:len(b.machineOrder)-1] {
				if b.machines[other].addr == ms.addr {
					b.r.add(m.At("address"), "every machine needs its own underlay address", "machine %s: address %s is already machine %s's", m.Name, ms.addr, other)
				}
			}
		}
		if m.Dev != "" {
			if msg, hint := checkIfName(m.Dev); msg != "" {
				b.r.add(m.At("dev"), hint, "machine %s: dev: %s", m.Name, msg)
			}
		}
		if m.MTU != 0 && (m.MTU < 576+plan.VXLANOverhead(ms.addr) || m.MTU > 65535) {
			b.r.add(m.At("mtu"), "use the MTU of the underlay path, e.g. 1500", "machine %s: mtu %d is out of range", m.Name, m.MTU)
		}
	}
	if p := l.Options.TunnelPort; p != 0 && (p < 1024 || p > 65535) {
		b.r.add(l.Options.At("tunnelPort"), "use an unprivileged UDP port, e.g. 4789", "options.tunnelPort %d is out of range", p)
	}
	switch {
	case len(l.Machines) == 0 && opts.Machine != "":
		b.r.add(Pos{}, "drop --machine: the whole lab runs on this machine", "--machine %s: lab %s declares no machines", opts.Machine, l.Name)
	case len(l.Machines) > 0 && opts.Machine == "" && !opts.AllMachines:
		b.r.add(l.At("machines"), fmt.Sprintf("run each machine's share with --machine NAME (one of %s), e.g. labctl up --machine %s %s", strings.Join(b.machineOrder, ", "), cmpOr(first(b.machineOrder), "NAME"), l.File), "lab %s is spread over machines: say which share to use", l.Name)
	case opts.Machine != "" && len(l.Machines) > 0 && b.machines[opts.Machine] == nil:
		b.r.add(l.At("machines"), didYouMean(opts.Machine, b.machineOrder, "machines of this lab: "+strings.Join(b.machineOrder, ", ")), "--machine %s: lab %s has no such machine", opts.Machine, l.Name)
	}
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// place puts every host on a machine: the machine it names (machine: or a machine's
// hosts list), else its node's (Pods) or its bridge holder's (a host attached to a
// bridge inside another host, which cannot span machines), else for a node the
// cluster's placement rule, else the first machine.
func (b *builder) place() {
	if len(b.machineOrder) == 0 {
		b.noMachines()
		return
	}
	b.placed = map[string]placement{}
	b.explicitPlacements()
	if cs := b.cluster; cs != nil {
		spread := cs.spec.Placement == "spread"
		if cs.spec.Placement != "" && cs.spec.Placement != "first" && cs.spec.Placement != "spread" {
			b.r.add(cs.spec.At("placement"), "use first or spread", "cluster.placement: %q is not supported", cs.spec.Placement)
		}
		for i, n := range cs.nodes {
			if n.host == nil {
				continue
			}
			if _, ok := b.placed[n.host.name]; !ok && spread {
				b.placed[n.host.name] = placement{b.machineOrder[i%len(b.machineOrder)], cs.spec.At("placement")}
			}
		}
	}
	for _, h := range b.spaces {
		if h.spec != nil {
			b.placeHost(h, map[string]bool{})
		}
	}
}

// noMachines reports placements in a lab that has no machines to place on.
func (b *builder) noMachines() {
	for _, h := range b.spaces {
		if h.spec != nil && h.spec.Machine != "" {
			b.r.add(h.spec.At("machine"), "declare the machines under machines:, or remove machine:", "host %s: machine %q, but the lab declares no machines", h.name, h.spec.Machine)
		}
	}
	if cs := b.cluster; cs != nil && cs.spec.Placement != "" {
		b.r.add(cs.spec.At("placement"), "declare the machines under machines:, or remove placement:", "cluster.placement, but the lab declares no machines")
	}
}

// explicitPlacements records machine: keys and machines' hosts lists, reporting a
// host placed twice on different machines.
func (b *builder) explicitPlacements() {
	put := func(host, machine string, at Pos, what string) {
		if b.machines[machine] == nil {
			b.r.add(at, didYouMean(machine, b.machineOrder, "declared machines: "+strings.Join(b.machineOrder, ", ")), "%s: unknown machine %q", what, machine)
			return
		}
		if prev, ok := b.placed[host]; ok && prev.machine != machine {
			b.r.add(at, "keep one placement", "%s is placed twice: on machine %s (line %d) and on machine %s", what, prev.machine, prev.at.Line, machine)
			return
		}
		b.placed[host] = placement{machine, at}
	}
	for _, name := range b.machineOrder {
		m := b.machines[name].spec
		for i, host := range m.Hosts {
			at := m.At("hosts")
			h := b.byName[host]
			if h == nil || h.spec == nil {
				b.r.add(at, b.suggest(host, "host"), "machine %s: hosts[%d]: unknown host %q", name, i, host)
				continue
			}
			put(host, name, at, "host "+host)
		}
	}
	for _, h := range b.spaces {
		if h.spec != nil && h.spec.Machine != "" && h.kind == plan.KindHost {
			put(h.name, h.spec.Machine, h.spec.At("machine"), "host "+h.name)
		}
	}
	if cs := b.cluster; cs != nil {
		for _, n := range cs.nodes {
			if n.host != nil && n.spec.Machine != "" {
				put(n.host.name, n.spec.Machine, n.spec.At("machine"), "node "+n.host.name)
			}
		}
		if lb := cs.spec.LoadBalancer; lb != nil && cs.lb != nil && lb.Machine != "" {
			put(cs.lb.name, lb.Machine, lb.At("machine"), "load balancer "+cs.lb.name)
		}
	}
}

// placeHost settles h's machine, after the host whose bridge it attaches to (a Pod's
// node); seen breaks cycles of hosts attached to each other's bridges.
func (b *builder) placeHost(h *hostState, seen map[string]bool) string {
	if h.machine != "" || seen[h.name] {
		return h.machine
	}
	seen[h.name] = true
	holder := b.bridgeHolder(h)
	var inherited string
	if holder != nil {
		inherited = b.placeHost(holder, seen)
	}
	p, explicit := b.placed[h.name]
	switch {
	case explicit && inherited != "" && p.machine != inherited:
		what := "host " + h.name
		if h.kind == plan.KindPod {
			what = "pod " + h.name
		}
		b.r.add(p.at, fmt.Sprintf("place %s instead, or attach %s to a network: a bridge inside a host cannot span machines", holder.name, h.name), "%s is placed on machine %s, but it attaches to a bridge of %s, which is on machine %s", what, p.machine, holder.name, inherited)
		h.machine = inherited
	case explicit:
		h.machine = p.machine
	case inherited != "":
		h.machine = inherited
	default:
		h.machine = b.machineOrder[0]
	}
	return h.machine
}

// bridgeHolder is the host whose bridge h attaches to (a Pod's node), or nil.
func (b *builder) bridgeHolder(h *hostState) *hostState {
	for _, m := range h.ifaces {
		if m.seg != nil && m.seg.kind == "bridge" && m.seg.holder != h {
			return m.seg.holder
		}
	}
	return nil
}

// machinesOf lists, in machine order, the machines with a member of s.
func (b *builder) machinesOf(s *segment) []string {
	var out []string
	for _, name := range b.machineOrder {
		if slices.ContainsFunc(s.members, func(m *iface) bool { return m.host.machine == name }) {
			out = append(out, name)
		}
	}
	return out
}
