package topo

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/labctl/labctl/topo/plan"
	"github.com/labctl/labctl/topo/rules"
)

// CompileOptions select which share of a lab to build and how.
type CompileOptions struct {
	// Backend overrides the lab's iptables backend ("nft" or "legacy") when set.
	Backend string
	// Machine selects one machine's share of a lab spread over machines; the whole
	// lab is compiled first, so the share is the same whatever machine asks.
	// UnderlayNetNS names the namespace of that machine's underlay ("": labctl's own).
	// AllMachines compiles such a lab whole, for views of all of it (labctl graph).
	Machine       string
	UnderlayNetNS string
	AllMachines   bool
}

// builder compiles one lab. It collects every problem instead of stopping at the first.
type builder struct {
	lab      *Lab
	r        *report
	p        *plan.Plan
	spaces   []*hostState          // networks, then hosts, in lab order
	byName   map[string]*hostState // hosts and networks by name
	segments []*segment
	networks map[string]*segment
	bridges  map[string]*segment // "host/bridge"
	cluster  *clusterState
	// headerProblems counts the problems of the lab's header (name, apiVersion...),
	// which do not make the topology inconsistent.
	headerProblems int
	// A lab spread over machines (machines.go, tunnels.go).
	machines     map[string]*machineState
	machineOrder []string
	placed       map[string]placement
	spans        map[*segment]*span
}

// hostState is a namespace being compiled: a host, or the holder of a network's bridge.
type hostState struct {
	name    string
	kind    string
	spec    *Host // nil for networks
	at      Pos
	ns      *plan.Namespace
	ifnames ifnames
	ifaces  []*iface
	// base holds rules generated for this host (kube-proxy, flannel); the author's
	// iptables text applies on top of it.
	base *rules.Ruleset
	// machine is where the host runs when the lab is spread over machines.
	machine string
}

// CompileFile loads, validates and expands a lab file, reporting the problems of
// decoding and of validation together.
func CompileFile(path string, opts CompileOptions) (*plan.Plan, error) {
	lab, err := Load(path)
	if lab == nil {
		return nil, err
	}
	p, cerr := Compile(lab, opts)
	var decodeProblems, compileProblems Problems
	errors.As(err, &decodeProblems)
	errors.As(cerr, &compileProblems)
	if all := append(decodeProblems, compileProblems...); len(all) > 0 {
		return nil, all.sorted()
	}
	return p, cerr
}

// Compile validates a lab and expands it into a plan. Problems are returned all at once.
func Compile(lab *Lab, opts CompileOptions) (*plan.Plan, error) {
	b := &builder{
		lab:      lab,
		r:        &report{file: lab.File},
		byName:   map[string]*hostState{},
		networks: map[string]*segment{},
		bridges:  map[string]*segment{},
	}
	b.p = &plan.Plan{
		Lab:         lab.Name,
		Instance:    plan.InstanceName(lab.Name, opts.Machine),
		Source:      lab.File,
		Description: strings.TrimSpace(lab.Description),
		Backend:     cmpOr(opts.Backend, lab.Options.IPTables, "nft"),
		IPv6:        lab.Options.IPv6,
	}
	b.checkHeader()
	b.checkMachines(opts)
	b.headerProblems = len(b.r.problems)
	b.declareNetworks()
	b.declareHosts()
	b.expandCluster()
	b.attachInterfaces()
	b.attachLinks()
	b.place()
	b.spanSegments()
	b.namePorts()
	b.checkOverlaps()
	b.allocate()
	b.clusterRules()
	for _, h := range b.spaces {
		b.finishNamespace(h)
	}
	b.p.Veths = b.veths()
	b.staticNeighbors()
	b.compileProbes()
	if err := b.r.err(); err != nil {
		return nil, err
	}
	if opts.Machine != "" {
		b.keepShare(opts)
	}
	return b.p, nil
}

func cmpOr(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func (b *builder) checkHeader() {
	l := b.lab
	if l.APIVersion != APIVersion {
		b.r.add(l.At("apiVersion"), "write apiVersion: "+APIVersion, "apiVersion %q is not supported", l.APIVersion)
	}
	if l.Kind != "Lab" {
		b.r.add(l.At("kind"), "write kind: Lab", "kind %q is not supported", l.Kind)
	}
	if msg, hint := checkName(l.Name, maxLabName); msg != "" && l.Name != "" {
		b.r.add(l.At("name"), hint, "lab %s", msg)
	}
	switch l.Options.IPTables {
	case "", "nft", "legacy":
	default:
		b.r.add(l.Options.At("iptables"), "use nft or legacy", "options.iptables: unknown backend %q", l.Options.IPTables)
	}
}

// declare registers a host or network name, reporting duplicates.
func (b *builder) declare(name, kind string, at Pos) *hostState {
	if name == "" {
		return nil // the decoder reported the missing name
	}
	if msg, hint := checkName(name, maxHostName); msg != "" {
		b.r.add(at, hint, "%s %s", kind, msg)
		return nil
	}
	if prev, dup := b.byName[name]; dup {
		b.r.add(at, "hosts and networks share one name space; rename one of them", "%s name %q is already used by the %s at line %d", kind, name, prev.kind, prev.at.Line)
		return nil
	}
	h := &hostState{name: name, kind: kind, at: at, ifnames: ifnames{"lo": true}}
	h.ns = &plan.Namespace{Name: name, Kind: kind, NetNS: plan.NetNSName(b.p.Instance, name)}
	b.byName[name] = h
	b.spaces = append(b.spaces, h)
	b.p.Namespaces = append(b.p.Namespaces, h.ns)
	return h
}

func (b *builder) declareNetworks() {
	for i := range b.lab.Networks {
		b.declareNetwork(&b.lab.Networks[i])
	}
}

func (b *builder) declareNetwork(n *Network) {
	h := b.declare(n.Name, plan.KindNetwork, n.Pos())
	if h == nil {
		return
	}
	s := newSegment("network", "network "+n.Name, n.Pos())
	s.prefix = b.parseSubnet(n.CIDR, n.At("cidr"), "network "+n.Name)
	s.mtu = b.checkMTU(n.MTU, n.At("mtu"))
	s.holder = h
	s.bridge = h.ifnames.derive("bridge "+n.Name, n.Name, "br0")
	h.ns.Bridges = []plan.Bridge{{Name: s.bridge, MTU: s.mtu}}
	b.networks[n.Name] = s
	b.segments = append(b.segments, s)
}

func (b *builder) checkMTU(mtu int, at Pos) int {
	if mtu != 0 && (mtu < 576 || mtu > 65535) {
		b.r.add(at, "use a value between 576 and 65535 (1500 is Ethernet's)", "mtu %d is out of range", mtu)
		return 0
	}
	return mtu
}

func (b *builder) declareHosts() {
	for i := range b.lab.Hosts {
		spec := &b.lab.Hosts[i]
		h := b.declare(spec.Name, plan.KindHost, spec.Pos())
		if h == nil {
			continue
		}
		h.spec = spec
		for j := range spec.Bridges {
			b.declareBridge(h, &spec.Bridges[j])
		}
	}
}

func (b *builder) declareBridge(h *hostState, br *Bridge) {
	if msg, hint := checkIfName(br.Name); msg != "" {
		b.r.add(br.At("name"), hint, "host %s: bridge %s", h.name, msg)
		return
	}
	if !h.ifnames.take(br.Name) {
		b.r.add(br.At("name"), "rename one of them", "host %s: interface name %q is used twice", h.name, br.Name)
		return
	}
	s := newSegment("bridge", "bridge "+h.name+"/"+br.Name, br.Pos())
	s.holder, s.bridge = h, br.Name
	s.mtu = b.checkMTU(br.MTU, br.At("mtu"))
	s.hairpin = br.Hairpin == nil || *br.Hairpin
	pb := plan.Bridge{Name: br.Name, MTU: s.mtu}
	if br.Address != "" {
		addr, err := netip.ParsePrefix(br.Address)
		if err != nil {
			b.r.add(br.At("address"), "write the bridge address with its prefix length, e.g. 10.244.1.1/24", "host %s: bridge %s: %q is not an address/length", h.name, br.Name, br.Address)
		} else {
			s.bridgeAddr = addr
			s.prefix = addr.Masked()
			pb.Addresses = []netip.Prefix{addr}
		}
	}
	h.ns.Bridges = append(h.ns.Bridges, pb)
	b.bridges[h.name+"/"+br.Name] = s
	b.segments = append(b.segments, s)
}

// attachInterfaces resolves each host interface to its segment and names it.
func (b *builder) attachInterfaces() {
	for _, h := range b.spaces {
		if h.spec != nil {
			b.attachHostInterfaces(h)
		}
	}
}

func (b *builder) attachHostInterfaces(h *hostState) {
	for i := range h.spec.Interfaces {
		in := &h.spec.Interfaces[i]
		seg := b.segmentFor(h, in)
		m := &iface{host: h, seg: seg, at: in.Pos(), address: in.Address, addrAt: in.At("address"), hairpin: in.Hairpin}
		m.name = b.hostIfName(h, in.Name, in.At("name"))
		m.mtu = b.checkMTU(in.MTU, in.At("mtu"))
		if m.mtu == 0 && seg != nil {
			m.mtu = seg.mtu
		}
		if seg == nil {
			continue
		}
		seg.members = append(seg.members, m)
		h.ifaces = append(h.ifaces, m)
	}
}

// namePorts names the bridge-side port of every bridged interface after all hosts'
// own interface names are known, so a port never takes a name a host asked for.
func (b *builder) namePorts() {
	for _, s := range b.segments {
		if s.kind == "link" {
			continue
		}
		for _, m := range s.members {
			candidates := []string{m.host.name, m.host.name + "-" + m.name}
			if m.host.kind == plan.KindPod {
				candidates = []string{podPortName(m.host.name)}
			}
			m.peerName = s.holder.ifnames.derive(s.holder.name+"|"+m.host.name+"|"+m.name, candidates...)
		}
	}
}

func (b *builder) segmentFor(h *hostState, in *Interface) *segment {
	switch {
	case in.Network != "" && in.Bridge != "":
		b.r.add(in.Pos(), "keep one of them", "host %s: an interface attaches to a network or to a bridge, not both", h.name)
	case in.Network != "":
		if s, ok := b.networks[in.Network]; ok {
			return s
		}
		b.r.add(in.At("network"), b.suggest(in.Network, "network"), "host %s: unknown network %q", h.name, in.Network)
	case in.Bridge != "":
		owner, _, _ := strings.Cut(in.Bridge, "/")
		if s, ok := b.bridges[in.Bridge]; ok {
			if owner == h.name {
				b.r.add(in.At("bridge"), "attach another host to it, or give the bridge an address instead", "host %s: cannot attach to its own bridge %s", h.name, in.Bridge)
				return nil
			}
			return s
		}
		b.r.add(in.At("bridge"), "write host/bridge, naming a bridge declared under that host's bridges", "host %s: unknown bridge %q", h.name, in.Bridge)
	default:
		b.r.add(in.Pos(), "add network: NAME or bridge: HOST/BRIDGE", "host %s: interface attaches to nothing", h.name)
	}
	return nil
}

// hostIfName returns the written interface name after checking it, or the next free ethN.
func (b *builder) hostIfName(h *hostState, name string, at Pos) string {
	if name != "" {
		if msg, hint := checkIfName(name); msg != "" {
			b.r.add(at, hint, "host %s: %s", h.name, msg)
		} else if !h.ifnames.take(name) {
			b.r.add(at, "rename one of them", "host %s: interface name %q is used twice", h.name, name)
		}
		return name
	}
	for i := 0; ; i++ {
		if n := fmt.Sprintf("eth%d", i); h.ifnames.take(n) {
			return n
		}
	}
}

func (b *builder) attachLinks() {
	for i := range b.lab.Links {
		l := &b.lab.Links[i]
		if len(l.Between) != 2 {
			b.r.add(l.At("between"), "list exactly two ends: between: [a, b]", "link: between has %d ends", len(l.Between))
			continue
		}
		s := newSegment("link", fmt.Sprintf("link %s-%s", l.Between[0].Host, l.Between[1].Host), l.Pos())
		s.prefix = b.parseSubnet(l.CIDR, l.At("cidr"), s.name)
		s.mtu = b.checkMTU(l.MTU, l.At("mtu"))
		if l.Between[0].Host == l.Between[1].Host {
			b.r.add(l.At("between"), "a link joins two different hosts", "%s: both ends are on host %s", s.name, l.Between[0].Host)
			continue
		}
		for j := range l.Between {
			e := &l.Between[j]
			h := b.byName[e.Host]
			if h == nil || h.spec == nil {
				b.r.add(e.At("host"), b.suggest(e.Host, "host"), "%s: unknown host %q", s.name, e.Host)
				continue
			}
			m := &iface{host: h, seg: s, at: e.Pos(), address: e.Address, addrAt: e.At("address"), mtu: s.mtu}
			m.name = b.hostIfName(h, e.Name, e.At("name"))
			s.members = append(s.members, m)
			h.ifaces = append(h.ifaces, m)
		}
		b.segments = append(b.segments, s)
	}
}

// suggest names the closest declared host or network, for "unknown X" problems.
func (b *builder) suggest(name, kind string) string {
	var names []string
	for n, h := range b.byName {
		if kind == "" || h.kind == kind || (kind == "host" && h.spec != nil) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		return fmt.Sprintf("declare the %s first", kind)
	}
	return didYouMean(name, names, fmt.Sprintf("declared %ss: %s", kind, strings.Join(names, ", ")))
}
