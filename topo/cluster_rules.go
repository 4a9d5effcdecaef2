package topo

import (
	"crypto/sha256"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"

	"github.com/labctl/labctl/topo/kube"
	"github.com/labctl/labctl/topo/plan"
)

// clusterRules runs once every address is allocated: it computes the endpoints,
// generates kube-proxy's and flannel's rules for each node and the load balancer's
// rules, wires flannel's vxlan backend, and records the Services for probes.
func (b *builder) clusterRules() {
	cs := b.cluster
	if cs == nil || b.topologyProblems() {
		// Rules are generated from a consistent cluster only; the problems found so
		// far are what the author must fix first.
		return
	}
	services, manual := b.kubeServices(cs)
	var pods []kube.Pod
	for _, p := range cs.pods {
		kp := kube.Pod{Namespace: cmpOr(p.spec.Namespace, "default"), Name: p.spec.Name, Labels: p.spec.Labels, IP: p.ip().String(), NodeName: p.node.spec.Name, Ready: p.spec.Ready == nil || *p.spec.Ready}
		for _, port := range p.spec.Ports {
			kp.Ports = append(kp.Ports, kube.ContainerPort{Name: port.Name, Port: int32(port.Port), Protocol: kube.Protocol(strings.ToUpper(cmpOr(port.Protocol, "TCP")))})
		}
		pods = append(pods, kp)
	}
	if b.topologyProblems() {
		return
	}
	slices := append(kube.ComputeEndpointSlices(services, pods, nil), manual...)
	snap, err := kube.NewSnapshot(services, slices)
	if err != nil {
		b.r.add(cs.spec.At("services"), "check the Services' addresses and ports", "cluster: %v", err)
		return
	}
	errs := b.nodeRules(cs, snap)
	for i, n := range cs.nodes {
		if errs[i] != nil {
			b.r.add(n.spec.Pos(), "check the cluster's kubeProxy and cni settings", "node %s: %v", n.spec.Name, errs[i])
		}
	}
	if cs.lb != nil {
		b.loadBalancerRules(cs, snap, services)
	}
	if cmpOr(cs.spec.CNI.Backend, "host-gw") == "vxlan" {
		b.flannelVXLAN(cs)
	}
	b.p.Services = planServices(cs, services, slices)
}

// nodeRules gives every node its kube-proxy and masquerade rules, one node per CPU at
// a time: the nodes' rules are independent (the snapshot is read-only), and for 50
// nodes of 200 Services they are most of the compile. errs[i] is node i's error.
func (b *builder) nodeRules(cs *clusterState, snap *kube.Snapshot) []error {
	errs := make([]error, len(cs.nodes))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(cs.nodes)) {
		wg.Go(func() {
			for i := range next {
				n := cs.nodes[i]
				rs, err := snap.KubeProxyRules(b.kubeProxyConfig(cs, n))
				if err == nil {
					err = kube.AddMasqueradeRules(rs, b.masqueradeConfig(cs, n))
				}
				if errs[i] = err; err == nil {
					n.host.base = rs
				}
			}
		})
	}
	for i := range cs.nodes {
		next <- i
	}
	close(next)
	wg.Wait()
	return errs
}

// topologyProblems reports problems beyond the header's: with them, addresses may be
// missing and generating rules would only add confusing follow-up problems.
func (b *builder) topologyProblems() bool { return len(b.r.problems) > b.headerProblems }

func (b *builder) kubeProxyConfig(cs *clusterState, n *nodeState) kube.Config {
	kp := cs.spec.KubeProxy
	cfg := kube.Config{
		NodeName:           n.spec.Name,
		NodeIPs:            []string{n.ip().String()},
		MasqueradeAll:      kp.MasqueradeAll,
		RandomFully:        kp.RandomFully,
		LocalhostNodePorts: kp.LocalhostNodePorts,
		// The kubelet starts kube-proxy (a DaemonSet Pod), so its "-j KUBE-FIREWALL"
		// jumps exist first and kube-proxy's prepended jumps land above them: real
		// nodes list KUBE-FIREWALL last in INPUT and OUTPUT.
		KubeletFirewallFirst: true,
	}
	if kp.MasqueradeBit != nil {
		bit := int32(*kp.MasqueradeBit)
		cfg.MasqueradeBit = &bit
	}
	switch cmpOr(kp.DetectLocal, "ClusterCIDR") {
	case "ClusterCIDR":
		cfg.DetectLocalMode, cfg.DetectLocal = kube.DetectLocalClusterCIDR, cs.clusterCIDR.String()
	case "NodeCIDR":
		// kube-proxy's NodeCIDR mode matches the node's Pod CIDR with -s, as seed 004's
		// "! -s 172.18.1.0/24" shows.
		cfg.DetectLocalMode, cfg.DetectLocal = kube.DetectLocalClusterCIDR, n.podCIDR.String()
	case "BridgeInterface":
		cfg.DetectLocalMode, cfg.DetectLocal = kube.DetectLocalBridgeInterface, cmpOr(cs.spec.CNI.Bridge, "cni0")
	case "InterfaceNamePrefix":
		// Required, as by kube-proxy (checkClusterEnums reports it missing).
		cfg.DetectLocalMode, cfg.DetectLocal = kube.DetectLocalInterfaceNamePrefix, kp.InterfacePrefix
	case "None":
		cfg.DetectLocalMode = kube.DetectLocalNone
	}
	return cfg
}

func (b *builder) masqueradeConfig(cs *clusterState, n *nodeState) kube.MasqueradeConfig {
	c := cs.spec.CNI
	return kube.MasqueradeConfig{
		Mode:               kube.MasqueradeMode(cmpOr(c.Masquerade, "flannel")),
		PodCIDR:            n.podCIDR.String(),
		ClusterCIDR:        cs.clusterCIDR.String(),
		Bridge:             cmpOr(c.Bridge, "cni0"),
		NonMasqueradeCIDRs: c.NonMasqueradeCIDRs,
	}
}

func (b *builder) loadBalancerRules(cs *clusterState, snap *kube.Snapshot, services []kube.Service) {
	lb := cs.spec.LoadBalancer
	cfg := kube.LoadBalancerConfig{Mode: kube.LoadBalancerMode(cmpOr(lb.Mode, "dnat"))}
	if len(cs.lb.ifaces) > 0 && cs.lb.ifaces[0].addr.IsValid() {
		cfg.Address = cs.lb.ifaces[0].addr.Addr().String()
	}
	for _, n := range cs.nodes {
		cfg.Nodes = append(cfg.Nodes, kube.Node{Name: n.spec.Name, IP: n.ip().String()})
	}
	rs, err := snap.LoadBalancerRules(cfg)
	if err != nil {
		b.r.add(lb.Pos(), "check the load balancer and the LoadBalancer Services", "load balancer: %v", err)
		return
	}
	cs.lb.base = rs
	// The load balancer owns the VIPs: they are local addresses of its namespace.
	for _, s := range services {
		for _, ing := range s.LoadBalancerIngress {
			cs.lb.spec.Loopback = append(cs.lb.spec.Loopback, ing.IP)
		}
	}
}

// flannelVXLAN gives every node a flannel.<vni> device and, for every other node, the
// ARP entry, FDB entry and route flannel's vxlan backend writes (in that order).
func (b *builder) flannelVXLAN(cs *clusterState) {
	c := cs.spec.CNI
	vni, port := cmpInt(c.VNI, 1), cmpInt(c.Port, 8472)
	dev := fmt.Sprintf("flannel.%d", vni)
	switch {
	case vni < 1 || vni > maxVNI:
		b.r.add(c.At("vni"), "a VXLAN network identifier goes from 1 to 16777215 (flannel's default is 1)", "cluster.cni.vni: %d is out of range", c.VNI)
		return
	case len(dev) > maxIfName:
		b.r.add(c.At("vni"), fmt.Sprintf("flannel names the device flannel.<vni>, which the kernel limits to 15 bytes: use a VNI up to %d", maxFlannelVNI),
			"cluster.cni.vni: %d makes the device name %s, longer than 15 bytes", c.VNI, dev)
		return
	case port < 1 || port > 65535:
		b.r.add(c.At("port"), "use a UDP port from 1 to 65535 (flannel's default is 8472)", "cluster.cni.port: %d is out of range", c.Port)
		return
	}
	for _, n := range cs.nodes {
		uplink := n.host.ifaces[0]
		mtu := cmpInt(uplink.mtu, 1500) - 50
		ns := n.host.ns
		ns.Vxlans = append(ns.Vxlans, plan.Vxlan{Name: dev, VNI: vni, Port: port, Local: n.ip(), Dev: uplink.name, MAC: vtepMAC(n.spec.Name), MTU: mtu,
			Addresses: []netip.Prefix{netip.PrefixFrom(n.podCIDR.Addr(), 32)}})
		for _, other := range cs.nodes {
			if other == n {
				continue
			}
			gw := other.podCIDR.Addr()
			ns.Neighbors = append(ns.Neighbors, plan.Neighbor{Dev: dev, IP: gw, MAC: vtepMAC(other.spec.Name)})
			ns.FDB = append(ns.FDB, plan.FDBEntry{Dev: dev, MAC: vtepMAC(other.spec.Name), Dst: other.ip()})
			ns.Routes = append(ns.Routes, plan.Route{To: other.podCIDR, Via: gw, Dev: dev, OnLink: true})
		}
	}
}

// VXLAN identifiers are 24 bits; flannel.<vni> fits IFNAMSIZ up to seven digits.
const (
	maxVNI        = 1<<24 - 1
	maxFlannelVNI = 9999999
)

// vtepMAC is a stable, locally administered MAC for a node's VTEP (flannel picks a
// random one and stores it in a node annotation; a lab must be reproducible).
func vtepMAC(node string) string {
	sum := sha256.Sum256([]byte("vtep/" + node))
	mac := net.HardwareAddr{0x02, sum[0], sum[1], sum[2], sum[3], sum[4]}
	return mac.String()
}

func cmpInt(v, dflt int) int {
	if v == 0 {
		return dflt
	}
	return v
}

// planServices records the Services with their addresses and ready endpoints, so
// probes can name them and reports can name their backends.
func planServices(cs *clusterState, services []kube.Service, slices []kube.EndpointSlice) []plan.Service {
	podByIP := map[string]string{}
	for _, p := range cs.pods {
		podByIP[p.ip().String()] = p.spec.Name
	}
	var out []plan.Service
	for _, s := range services {
		ps := plan.Service{Namespace: s.Namespace, Name: s.Name, Type: string(s.Type)}
		ps.ClusterIP, _ = netip.ParseAddr(s.ClusterIP)
		for _, ing := range s.LoadBalancerIngress {
			ps.LoadBalancerIP, _ = netip.ParseAddr(ing.IP)
		}
		for _, e := range s.ExternalIPs {
			if ip, err := netip.ParseAddr(e); err == nil {
				ps.ExternalIPs = append(ps.ExternalIPs, ip)
			}
		}
		for _, p := range s.Ports {
			ps.Ports = append(ps.Ports, plan.ServicePort{Name: p.Name, Protocol: string(p.Protocol), Port: int(p.Port), NodePort: int(p.NodePort)})
		}
		for _, sl := range slices {
			if sl.Namespace != s.Namespace || sl.ServiceName != s.Name {
				continue
			}
			for _, e := range sl.Endpoints {
				if !e.Conditions.IsReady() || len(e.Addresses) == 0 {
					continue
				}
				ip, err := netip.ParseAddr(e.Addresses[0])
				if err != nil {
					continue
				}
				for _, p := range sl.Ports {
					ps.Endpoints = append(ps.Endpoints, plan.Endpoint{Port: p.Name, Pod: podByIP[ip.String()], Node: e.NodeName, Addr: netip.AddrPortFrom(ip, uint16(p.Port))})
				}
			}
		}
		out = append(out, ps)
	}
	return out
}

func (cs *clusterState) pod(name string) *podState {
	for _, p := range cs.pods {
		if p.spec.Name == name {
			return p
		}
	}
	return nil
}

// nodeOwning names the node whose address or Pod CIDR holds ip, or "".
func (cs *clusterState) nodeOwning(ip netip.Addr) string {
	for _, n := range cs.nodes {
		if n.ip() == ip || n.podCIDR.Contains(ip) {
			return n.spec.Name
		}
	}
	return ""
}

func (n *nodeState) ip() netip.Addr {
	if n.host == nil || len(n.host.ifaces) == 0 {
		return netip.Addr{}
	}
	return n.host.ifaces[0].addr.Addr()
}

func (p *podState) ip() netip.Addr {
	if len(p.host.ifaces) == 0 {
		return netip.Addr{}
	}
	return p.host.ifaces[0].addr.Addr()
}
