package topo

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/labctl/labctl/topo/plan"
)

// Defaults of the cluster section.
const (
	defaultNodeNetwork     = "nodes"
	defaultNodeNetworkCIDR = "192.168.50.0/24"
	defaultClusterCIDR     = "10.244.0.0/16"
	defaultServiceCIDR     = "10.96.0.0/12"
	defaultNodeMaskSize    = 24
	defaultVIPRange        = "198.51.100.0/24"
)

// clusterState is the cluster being expanded: the synthesized hosts and what rule
// generation needs once addresses are allocated.
type clusterState struct {
	spec        *Cluster
	network     *segment
	clusterCIDR netip.Prefix
	serviceCIDR netip.Prefix
	nodes       []*nodeState
	pods        []*podState
	lb          *hostState
	vipRange    netip.Prefix
}

type nodeState struct {
	spec    *ClusterNode
	host    *hostState
	podCIDR netip.Prefix
}

type podState struct {
	spec *Pod
	host *hostState
	node *nodeState
}

// podMTU is the MTU of Pod interfaces: flannel's vxlan backend leaves 50 bytes for
// the VXLAN header (FLANNEL_MTU); host-gw keeps the node network's MTU.
func (cs *clusterState) podMTU() int {
	if cmpOr(cs.spec.CNI.Backend, "host-gw") != "vxlan" || cs.network == nil {
		return 0
	}
	return cmpInt(cs.network.mtu, 1500) - 50
}

// podPortName is the host-side name of a Pod's veth, as CNI's bridge plugin names it
// (veth + 8 hex digits); the interface alias says which Pod it belongs to.
func podPortName(pod string) string {
	sum := sha256.Sum256([]byte(pod))
	return "veth" + hex.EncodeToString(sum[:4])
}

// expandCluster turns the cluster section into hosts: a namespace per node (on the
// node network, with a Pod bridge), per Pod (one veth into its node's bridge) and for
// the load balancer. They then go through the same naming, addressing and routing as
// hosts written by hand.
func (b *builder) expandCluster() {
	c := b.lab.Cluster
	if c == nil {
		return
	}
	cs := &clusterState{spec: c}
	b.cluster = cs
	cs.clusterCIDR = b.parseSubnet(cmpOr(c.ClusterCIDR, defaultClusterCIDR), c.At("clusterCIDR"), "cluster.clusterCIDR")
	cs.serviceCIDR = b.parseSubnet(cmpOr(c.ServiceCIDR, defaultServiceCIDR), c.At("serviceCIDR"), "cluster.serviceCIDR")
	b.checkClusterEnums(c)
	cs.network = b.nodeNetwork(c)
	if len(c.Nodes) == 0 {
		b.r.add(c.Pos(), "list at least one node under cluster.nodes", "cluster has no nodes")
		return
	}
	if c.LoadBalancer != nil {
		b.expandLoadBalancer(cs)
	}
	b.expandNodes(cs)
	b.expandPods(cs)
}

func (b *builder) checkClusterEnums(c *Cluster) {
	check := func(val string, at Pos, what string, allowed ...string) {
		if val != "" && !slices.Contains(allowed, val) {
			b.r.add(at, "use one of: "+strings.Join(allowed, ", "), "cluster.%s: %q is not supported", what, val)
		}
	}
	check(c.CNI.Backend, c.CNI.At("backend"), "cni.backend", "host-gw", "vxlan")
	check(c.CNI.Masquerade, c.CNI.At("masquerade"), "cni.masquerade", "flannel", "docker-default", "docker-optimized", "ip-masq-agent", "none")
	check(c.KubeProxy.Mode, c.KubeProxy.At("mode"), "kubeProxy.mode", "iptables")
	check(c.KubeProxy.DetectLocal, c.KubeProxy.At("detectLocal"), "kubeProxy.detectLocal", "ClusterCIDR", "NodeCIDR", "BridgeInterface", "InterfaceNamePrefix", "None")
	if c.LoadBalancer != nil {
		check(c.LoadBalancer.Mode, c.LoadBalancer.At("mode"), "loadBalancer.mode", "dnat", "proxy")
	}
	if c.KubeProxy.DetectLocal == "InterfaceNamePrefix" && c.KubeProxy.InterfacePrefix == "" {
		// kube-proxy refuses to start without it: the flag has no default.
		b.r.add(c.KubeProxy.At("detectLocal"), "set kubeProxy.interfacePrefix (kube-proxy's --pod-interface-name-prefix); note that Pod packets enter a node by its bridge, not by the veths, so detectLocal: BridgeInterface is what matches them",
			"cluster.kubeProxy.detectLocal InterfaceNamePrefix needs kubeProxy.interfacePrefix")
	}
	if bit := c.KubeProxy.MasqueradeBit; bit != nil && (*bit < 0 || *bit > 31) {
		b.r.add(c.KubeProxy.At("masqueradeBit"), "use a bit between 0 and 31 (14 is kube-proxy's default)", "cluster.kubeProxy.masqueradeBit %d is out of range", *bit)
	}
	if msg, hint := checkIfName(cmpOr(c.CNI.Bridge, "cni0")); msg != "" {
		b.r.add(c.CNI.At("bridge"), hint, "cluster.cni.bridge: %s", msg)
	}
}

// nodeNetwork finds the node network, creating the default one when the lab does not
// declare it.
func (b *builder) nodeNetwork(c *Cluster) *segment {
	name := cmpOr(c.Network, defaultNodeNetwork)
	if s, ok := b.networks[name]; ok {
		if !s.prefix.IsValid() {
			b.r.add(c.At("network"), "give the network a cidr: nodes take their addresses from it", "cluster network %s has no cidr", name)
		}
		return s
	}
	if c.Network != "" {
		b.r.add(c.At("network"), b.suggest(c.Network, plan.KindNetwork), "cluster.network: unknown network %q", c.Network)
		return nil
	}
	b.declareNetwork(&Network{Meta: Meta{pos: c.Pos()}, Name: name, CIDR: defaultNodeNetworkCIDR})
	return b.networks[name]
}

// synthHost declares a host the cluster section implies, positioned at the entry that
// implies it, so problems point there.
func (b *builder) synthHost(spec *Host, kind string, at Pos) *hostState {
	spec.Meta = Meta{pos: at}
	h := b.declare(spec.Name, kind, at)
	if h == nil {
		return nil
	}
	h.spec = spec
	for i := range spec.Bridges {
		b.declareBridge(h, &spec.Bridges[i])
	}
	return h
}

func (b *builder) expandLoadBalancer(cs *clusterState) {
	lb := cs.spec.LoadBalancer
	cs.vipRange = b.parseSubnet(cmpOr(lb.VIPRange, defaultVIPRange), lb.At("vipRange"), "cluster.loadBalancer.vipRange")
	spec := &Host{
		Name:       cmpOr(lb.Name, "lb"),
		Forwarding: true,
		Interfaces: []Interface{
			{Network: cmpOr(cs.spec.Network, defaultNodeNetwork)},
			{Network: lb.Network, Address: lb.Address, Meta: Meta{pos: lb.At("network")}},
		},
	}
	if _, ok := b.networks[lb.Network]; !ok {
		b.r.add(lb.At("network"), b.suggest(lb.Network, plan.KindNetwork), "cluster.loadBalancer.network: unknown network %q", lb.Network)
		spec.Interfaces = spec.Interfaces[:1]
	}
	cs.lb = b.synthHost(spec, plan.KindLoadBalancer, lb.Pos())
}

func (b *builder) expandNodes(cs *clusterState) {
	c := cs.spec
	gateway := c.Gateway
	if gateway == "" && cs.lb != nil {
		gateway = cs.lb.name
	}
	b.carvePodCIDRs(cs)
	bridge := cmpOr(c.CNI.Bridge, "cni0")
	podMTU := cs.podMTU()
	for _, n := range cs.nodes {
		hairpin := c.CNI.HairpinMode
		if n.spec.HairpinMode != nil {
			hairpin = n.spec.HairpinMode
		}
		spec := &Host{
			Name:       n.spec.Name,
			Forwarding: true,
			IPTables:   n.spec.IPTables,
			Interfaces: []Interface{{Network: cmpOr(c.Network, defaultNodeNetwork), Address: n.spec.Address, Meta: Meta{pos: n.spec.Pos(), fields: map[string]Pos{"address": n.spec.At("address")}}}},
			Sysctls:    map[string]string{},
		}
		if n.podCIDR.IsValid() {
			spec.Bridges = []Bridge{{Name: bridge, Address: netip.PrefixFrom(n.podCIDR.Addr().Next(), n.podCIDR.Bits()).String(), Hairpin: hairpin, MTU: podMTU, Meta: Meta{pos: n.spec.Pos()}}}
		}
		if c.KubeProxy.LocalhostNodePorts == nil || *c.KubeProxy.LocalhostNodePorts {
			// kube-proxy sets it so NodePorts answer on 127.0.0.1 (localhostNodePorts).
			spec.Sysctls["net.ipv4.conf.all.route_localnet"] = "1"
		}
		if gateway != "" {
			spec.Routes = append(spec.Routes, Route{To: "default", Via: gateway, Meta: Meta{pos: c.At("gateway")}})
		}
		if cmpOr(c.CNI.Backend, "host-gw") == "host-gw" {
			for _, other := range cs.nodes {
				if other != n && other.podCIDR.IsValid() {
					spec.Routes = append(spec.Routes, Route{To: other.podCIDR.String(), Via: other.spec.Name, Meta: Meta{pos: other.spec.Pos()}})
				}
			}
		}
		n.host = b.synthHost(spec, plan.KindNode, n.spec.Pos())
		if n.host != nil {
			n.host.spec.fields = map[string]Pos{"iptables": n.spec.At("iptables")}
		}
	}
}

// carvePodCIDRs gives every node its Pod CIDR: the one written, or block i of the
// cluster CIDR for the i-th node (node-1 gets 10.244.1.0/24; block 0 is left to a
// control plane, as kube-controller-manager would have given it to the first node).
func (b *builder) carvePodCIDRs(cs *clusterState) {
	c := cs.spec
	size := c.NodeCIDRMaskSize
	if size == 0 {
		size = defaultNodeMaskSize
	}
	if cs.clusterCIDR.IsValid() && (size < cs.clusterCIDR.Bits() || size > 30) {
		b.r.add(c.At("nodeCIDRMaskSize"), fmt.Sprintf("use a value between %d and 30", cs.clusterCIDR.Bits()), "cluster.nodeCIDRMaskSize %d does not fit the cluster CIDR %s", size, cs.clusterCIDR)
		return
	}
	taken := map[netip.Prefix]string{}
	for i := range c.Nodes {
		n := &nodeState{spec: &c.Nodes[i]}
		cs.nodes = append(cs.nodes, n)
		if n.spec.PodCIDR == "" {
			continue
		}
		n.podCIDR = b.parseSubnet(n.spec.PodCIDR, n.spec.At("podCIDR"), "node "+n.spec.Name+" podCIDR")
		if !n.podCIDR.IsValid() {
			continue
		}
		if cs.clusterCIDR.IsValid() && !(cs.clusterCIDR.Contains(n.podCIDR.Addr()) && n.podCIDR.Bits() >= cs.clusterCIDR.Bits()) {
			b.r.add(n.spec.At("podCIDR"), fmt.Sprintf("pick a subnet inside %s", cs.clusterCIDR), "node %s: podCIDR %s is outside the cluster CIDR %s", n.spec.Name, n.podCIDR, cs.clusterCIDR)
		}
		if prev, dup := taken[n.podCIDR]; dup {
			b.r.add(n.spec.At("podCIDR"), "every node needs its own Pod CIDR", "node %s: podCIDR %s is already node %s's", n.spec.Name, n.podCIDR, prev)
		}
		taken[n.podCIDR] = n.spec.Name
	}
	if !cs.clusterCIDR.IsValid() {
		return
	}
	next := 1
	for _, n := range cs.nodes {
		if n.spec.PodCIDR != "" {
			continue
		}
		for ; ; next++ {
			block, ok := nthBlock(cs.clusterCIDR, size, next)
			if !ok {
				b.r.add(n.spec.Pos(), "use a larger clusterCIDR or a larger nodeCIDRMaskSize", "node %s: the cluster CIDR %s has no free /%d left", n.spec.Name, cs.clusterCIDR, size)
				return
			}
			if !overlapsAny(block, taken) {
				n.podCIDR = block
				taken[block] = n.spec.Name
				next++
				break
			}
		}
	}
}

func overlapsAny(p netip.Prefix, taken map[netip.Prefix]string) bool {
	for t := range taken {
		if t.Overlaps(p) {
			return true
		}
	}
	return false
}

// nthBlock returns the i-th subnet of length bits inside p.
func nthBlock(p netip.Prefix, bits, i int) (netip.Prefix, bool) {
	if bits-p.Bits() < 63 && uint64(i) >= 1<<uint(bits-p.Bits()) {
		return netip.Prefix{}, false
	}
	a := p.Masked().Addr().As4()
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v += uint32(i) << uint(32-bits)
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), bits), true
}

func (b *builder) expandPods(cs *clusterState) {
	nodes := map[string]*nodeState{}
	for _, n := range cs.nodes {
		nodes[n.spec.Name] = n
	}
	bridge := cmpOr(cs.spec.CNI.Bridge, "cni0")
	for i := range cs.spec.Pods {
		p := &cs.spec.Pods[i]
		n := nodes[p.Node]
		if n == nil {
			b.r.add(p.At("node"), b.suggest(p.Node, plan.KindNode), "pod %s: unknown node %q", p.Name, p.Node)
			continue
		}
		spec := &Host{
			Name:       p.Name,
			Interfaces: []Interface{{Bridge: n.spec.Name + "/" + bridge, Address: p.Address, MTU: cs.podMTU(), Meta: Meta{pos: p.Pos(), fields: map[string]Pos{"address": p.At("address")}}}},
			Routes:     []Route{{To: "default", Via: n.spec.Name, Meta: Meta{pos: p.Pos()}}},
			Servers:    slices.Clone(p.Servers),
		}
		for _, port := range p.Ports {
			proto := strings.ToLower(cmpOr(port.Protocol, "tcp"))
			if proto != "tcp" && proto != "udp" {
				b.r.add(port.Pos(), "use TCP or UDP", "pod %s: port protocol %q is not supported", p.Name, port.Protocol)
				continue
			}
			spec.Servers = append(spec.Servers, Server{Port: port.Port, Protocol: proto, Meta: port.Meta})
		}
		h := b.synthHost(spec, plan.KindPod, p.Pos())
		if h == nil {
			continue
		}
		h.ns.Group = n.spec.Name
		cs.pods = append(cs.pods, &podState{spec: p, host: h, node: n})
	}
}
