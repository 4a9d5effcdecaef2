package topo

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/labctl/labctl/topo/kube"
	"github.com/labctl/labctl/topo/plan"
)

// NodePort range of a default kube-apiserver (--service-node-port-range).
const (
	nodePortMin = 30000
	nodePortMax = 32767
)

// serviceAllocator hands out ClusterIPs, NodePorts and VIPs the way the API server
// would, but deterministically: the next free value in order.
type serviceAllocator struct {
	ips       map[netip.Addr]string
	nodePorts map[string]string // "30080/TCP" -> service
}

// kubeServices validates the Services and turns them into kube-proxy's input,
// allocating what the lab leaves out.
func (b *builder) kubeServices(cs *clusterState) ([]kube.Service, []kube.EndpointSlice) {
	alloc := &serviceAllocator{ips: map[netip.Addr]string{}, nodePorts: map[string]string{}}
	seen := map[string]Pos{}
	// Explicit addresses and ports first, so allocation never takes one of them.
	for i := range cs.spec.Services {
		s := &cs.spec.Services[i]
		if ip, err := netip.ParseAddr(s.ClusterIP); err == nil {
			alloc.ips[ip] = s.Name
		}
		if ip, err := netip.ParseAddr(s.LoadBalancerIP); err == nil {
			alloc.ips[ip] = s.Name
		}
		for _, p := range s.Ports {
			if p.NodePort != 0 {
				alloc.nodePorts[nodePortKey(p.NodePort, p.Protocol)] = s.Name
			}
		}
	}
	var out []kube.Service
	var manual []kube.EndpointSlice
	for i := range cs.spec.Services {
		s := &cs.spec.Services[i]
		key := cmpOr(s.Namespace, "default") + "/" + s.Name
		if msg, hint := checkName(s.Name, 63); msg != "" {
			b.r.add(s.At("name"), hint, "service %s", msg)
			continue
		}
		if prev, dup := seen[key]; dup {
			b.r.add(s.At("name"), "rename one of them", "service %s is declared twice (first at line %d)", key, prev.Line)
			continue
		}
		seen[key] = s.Pos()
		ks, ok := b.kubeService(cs, s, alloc)
		if !ok {
			continue
		}
		out = append(out, ks)
		if len(s.Endpoints) > 0 {
			manual = append(manual, b.explicitEndpoints(cs, s, ks)...)
		}
	}
	return out, manual
}

func nodePortKey(port int, proto string) string {
	return fmt.Sprintf("%d/%s", port, strings.ToUpper(cmpOr(proto, "TCP")))
}

func (b *builder) kubeService(cs *clusterState, s *Service, alloc *serviceAllocator) (kube.Service, bool) {
	ks := kube.Service{
		Namespace:                     cmpOr(s.Namespace, "default"),
		Name:                          s.Name,
		Type:                          kube.ServiceType(cmpOr(s.Type, "ClusterIP")),
		Selector:                      s.Selector,
		ExternalTrafficPolicy:         kube.TrafficPolicy(cmpOr(s.ExternalTrafficPolicy, "Cluster")),
		InternalTrafficPolicy:         kube.TrafficPolicy(cmpOr(s.InternalTrafficPolicy, "Cluster")),
		SessionAffinity:               kube.SessionAffinity(cmpOr(s.SessionAffinity, "None")),
		SessionAffinityTimeoutSeconds: int32(s.SessionAffinityTimeoutSeconds),
		LoadBalancerSourceRanges:      s.LoadBalancerSourceRanges,
		HealthCheckNodePort:           int32(s.HealthCheckNodePort),
	}
	ok := b.checkServiceEnums(s)
	if s.Selector != nil && len(s.Endpoints) > 0 {
		b.r.add(s.At("endpoints"), "keep selector (Pods chosen by label) or endpoints (listed by hand), not both", "service %s: has both a selector and explicit endpoints", s.Name)
		ok = false
	}
	ks.ClusterIP = b.clusterIP(cs, s, alloc)
	external := ks.Type == kube.ServiceTypeNodePort || ks.Type == kube.ServiceTypeLoadBalancer
	names := map[string]bool{}
	for i := range s.Ports {
		p := &s.Ports[i]
		sp, pok := b.servicePort(s, p, external, alloc)
		if !pok {
			ok = false
			continue
		}
		if p.Name != "" && names[p.Name] {
			b.r.add(p.At("name"), "give each port its own name", "service %s: port name %q is used twice", s.Name, p.Name)
			ok = false
		}
		names[p.Name] = true
		if len(s.Ports) > 1 && p.Name == "" {
			b.r.add(p.Pos(), "name every port of a multi-port Service (name: http)", "service %s: port %d has no name", s.Name, p.Port)
			ok = false
		}
		ks.Ports = append(ks.Ports, sp)
	}
	for _, e := range s.ExternalIPs {
		if _, err := netip.ParseAddr(e); err != nil {
			b.r.add(s.At("externalIPs"), "write IP addresses", "service %s: external IP %q is not an IP", s.Name, e)
			ok = false
		}
	}
	ks.ExternalIPs = s.ExternalIPs
	if ks.Type == kube.ServiceTypeLoadBalancer {
		if vip := b.loadBalancerIP(cs, s, alloc); vip.IsValid() {
			ks.LoadBalancerIngress = []kube.LoadBalancerIngress{{IP: vip.String()}}
		}
		if ks.ExternalTrafficPolicy == kube.TrafficPolicyLocal && ks.HealthCheckNodePort == 0 {
			ks.HealthCheckNodePort = int32(alloc.nodePort(s.Name, "TCP"))
		}
	} else if s.LoadBalancerIP != "" {
		b.r.add(s.At("loadBalancerIP"), "set type: LoadBalancer", "service %s: loadBalancerIP needs type LoadBalancer", s.Name)
		ok = false
	}
	return ks, ok
}

func (b *builder) checkServiceEnums(s *Service) bool {
	ok := true
	check := func(val, key string, allowed ...string) {
		if val != "" && !slices.Contains(allowed, val) {
			b.r.add(s.At(key), "use one of: "+strings.Join(allowed, ", "), "service %s: %s %q is not supported", s.Name, key, val)
			ok = false
		}
	}
	check(s.Type, "type", "ClusterIP", "NodePort", "LoadBalancer")
	check(s.ExternalTrafficPolicy, "externalTrafficPolicy", "Cluster", "Local")
	check(s.InternalTrafficPolicy, "internalTrafficPolicy", "Cluster", "Local")
	check(s.SessionAffinity, "sessionAffinity", "None", "ClientIP")
	return ok
}

func (b *builder) clusterIP(cs *clusterState, s *Service, alloc *serviceAllocator) string {
	switch s.ClusterIP {
	case "None":
		return "None" // headless: kube-proxy installs nothing
	case "":
		if !cs.serviceCIDR.IsValid() {
			return ""
		}
		ip, ok := alloc.nextIP(cs.serviceCIDR, s.Name)
		if !ok {
			b.r.add(s.Pos(), "use a larger serviceCIDR", "service %s: no free ClusterIP left in %s", s.Name, cs.serviceCIDR)
		}
		return ip.String()
	}
	ip, err := netip.ParseAddr(s.ClusterIP)
	switch {
	case err != nil:
		b.r.add(s.At("clusterIP"), "write an IP of the service CIDR, or None for a headless Service", "service %s: clusterIP %q is not an IP", s.Name, s.ClusterIP)
	case cs.serviceCIDR.IsValid() && !cs.serviceCIDR.Contains(ip):
		b.r.add(s.At("clusterIP"), fmt.Sprintf("pick an IP inside %s, or change cluster.serviceCIDR", cs.serviceCIDR), "service %s: clusterIP %s is outside the service CIDR %s", s.Name, ip, cs.serviceCIDR)
	case alloc.ips[ip] != s.Name:
		b.r.add(s.At("clusterIP"), "every Service needs its own ClusterIP", "service %s: clusterIP %s is already service %s's", s.Name, ip, alloc.ips[ip])
	}
	return s.ClusterIP
}

func (b *builder) loadBalancerIP(cs *clusterState, s *Service, alloc *serviceAllocator) netip.Addr {
	if cs.lb == nil {
		if s.LoadBalancerIP != "" {
			b.r.add(s.At("loadBalancerIP"), "add cluster.loadBalancer: a host that owns the VIPs", "service %s: no load balancer owns loadBalancerIP %s", s.Name, s.LoadBalancerIP)
		}
		return netip.Addr{} // stays <pending>, as without a cloud provider
	}
	if s.LoadBalancerIP == "" {
		ip, ok := alloc.nextIP(cs.vipRange, s.Name)
		if !ok {
			b.r.add(s.Pos(), "use a larger loadBalancer.vipRange", "service %s: no free VIP left in %s", s.Name, cs.vipRange)
		}
		return ip
	}
	ip, err := netip.ParseAddr(s.LoadBalancerIP)
	if err != nil {
		b.r.add(s.At("loadBalancerIP"), "write an IP, e.g. 198.51.100.80", "service %s: loadBalancerIP %q is not an IP", s.Name, s.LoadBalancerIP)
		return netip.Addr{}
	}
	return ip
}

func (b *builder) servicePort(s *Service, p *ServicePort, external bool, alloc *serviceAllocator) (kube.ServicePort, bool) {
	proto := strings.ToUpper(cmpOr(p.Protocol, "TCP"))
	sp := kube.ServicePort{Name: p.Name, Protocol: kube.Protocol(proto), Port: int32(p.Port)}
	ok := true
	if proto != "TCP" && proto != "UDP" {
		b.r.add(p.At("protocol"), "use TCP or UDP", "service %s: protocol %q is not supported", s.Name, p.Protocol)
		ok = false
	}
	if p.Port < 1 || p.Port > 65535 {
		b.r.add(p.At("port"), "use a port between 1 and 65535", "service %s: port %d is out of range", s.Name, p.Port)
		ok = false
	}
	switch n, err := strconv.Atoi(p.TargetPort); {
	case p.TargetPort == "":
	case err == nil && n >= 1 && n <= 65535:
		sp.TargetPort = kube.TargetPortNumber(int32(n))
	case err == nil:
		b.r.add(p.At("targetPort"), "use a port between 1 and 65535", "service %s: targetPort %d is out of range", s.Name, n)
		ok = false
	default:
		sp.TargetPort = kube.TargetPortName(p.TargetPort)
	}
	switch {
	case p.NodePort != 0 && !external:
		b.r.add(p.At("nodePort"), "set type: NodePort or LoadBalancer", "service %s: nodePort needs type NodePort or LoadBalancer", s.Name)
		ok = false
	case p.NodePort != 0 && (p.NodePort < nodePortMin || p.NodePort > nodePortMax):
		b.r.add(p.At("nodePort"), fmt.Sprintf("use a port between %d and %d", nodePortMin, nodePortMax), "service %s: nodePort %d is out of range", s.Name, p.NodePort)
		ok = false
	case p.NodePort != 0 && alloc.nodePorts[nodePortKey(p.NodePort, proto)] != s.Name:
		b.r.add(p.At("nodePort"), "every Service port needs its own nodePort", "service %s: nodePort %d is already service %s's", s.Name, p.NodePort, alloc.nodePorts[nodePortKey(p.NodePort, proto)])
		ok = false
	case p.NodePort != 0:
		sp.NodePort = int32(p.NodePort)
	case external:
		sp.NodePort = int32(alloc.nodePort(s.Name, proto))
	}
	return sp, ok
}

func (a *serviceAllocator) nextIP(p netip.Prefix, owner string) (netip.Addr, bool) {
	s := &segment{prefix: p, taken: map[netip.Addr]string{}}
	for ip, o := range a.ips {
		s.taken[ip] = o
	}
	ip, ok := s.nextFree()
	if ok {
		a.ips[ip] = owner
	}
	return ip, ok
}

func (a *serviceAllocator) nodePort(owner, proto string) int {
	for port := nodePortMin; port <= nodePortMax; port++ {
		if _, used := a.nodePorts[nodePortKey(port, proto)]; !used {
			a.nodePorts[nodePortKey(port, proto)] = owner
			return port
		}
	}
	return 0
}

// explicitEndpoints builds the EndpointSlices of a Service without selector: Pods by
// name, or IPs (on the node that owns them, if any).
func (b *builder) explicitEndpoints(cs *clusterState, s *Service, ks kube.Service) []kube.EndpointSlice {
	var out []kube.EndpointSlice
	for i := range s.Endpoints {
		e := &s.Endpoints[i]
		slice := kube.EndpointSlice{Namespace: ks.Namespace, ServiceName: ks.Name}
		ep := kube.Endpoint{NodeName: e.Node, Conditions: kube.EndpointConditions{Ready: e.Ready}}
		var pod *podState
		switch {
		case e.Pod != "" && e.IP != "":
			b.r.add(e.Pos(), "give a Pod or an IP", "service %s: endpoint names both a Pod and an IP", s.Name)
			continue
		case e.Pod != "":
			pod = cs.pod(e.Pod)
			if pod == nil {
				b.r.add(e.Pos(), b.suggest(e.Pod, plan.KindPod), "service %s: endpoint: unknown Pod %q", s.Name, e.Pod)
				continue
			}
			ep.Addresses = []string{pod.ip().String()}
			ep.NodeName = pod.node.spec.Name
		default:
			ip, err := netip.ParseAddr(e.IP)
			if err != nil {
				b.r.add(e.At("ip"), "write an IP", "service %s: endpoint %q is not an IP", s.Name, e.IP)
				continue
			}
			ep.Addresses = []string{ip.String()}
			if ep.NodeName == "" {
				ep.NodeName = cs.nodeOwning(ip)
			}
		}
		for _, sp := range ks.Ports {
			port, ok := endpointPort(sp, pod)
			if !ok {
				b.r.add(e.Pos(), "use a numeric targetPort, or list Pods that declare the named port", "service %s: endpoint %s has no port named %q", s.Name, ep.Addresses[0], sp.TargetPort.Name)
				continue
			}
			slice.Ports = append(slice.Ports, kube.EndpointPort{Name: sp.Name, Protocol: sp.Protocol, Port: port})
		}
		slice.Endpoints = []kube.Endpoint{ep}
		out = append(out, slice)
	}
	return out
}

func endpointPort(sp kube.ServicePort, pod *podState) (int32, bool) {
	switch {
	case sp.TargetPort.Number != 0:
		return sp.TargetPort.Number, true
	case sp.TargetPort.Name == "":
		return sp.Port, true
	case pod == nil:
		return 0, false
	}
	for _, cp := range pod.spec.Ports {
		if cp.Name == sp.TargetPort.Name && strings.EqualFold(cmpOr(cp.Protocol, "TCP"), string(sp.Protocol)) {
			return int32(cp.Port), true
		}
	}
	return 0, false
}
