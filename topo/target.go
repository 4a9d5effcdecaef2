package topo

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/labctl/labctl/topo/plan"
)

// addrBook resolves the names probes use (host, host/interface, IP) to addresses,
// reading the compiled plan, so it sees hosts the cluster layer added as well.
type addrBook struct {
	plan  *plan.Plan
	hosts map[string]*plan.Namespace
	addrs map[string][]ifaceAddr // host -> its addresses: interfaces, bridges, loopback
}

type ifaceAddr struct {
	iface string
	addr  netip.Addr
	veth  bool // an interface of the host (not a bridge or lo), for the primary address
}

func newAddrBook(p *plan.Plan) *addrBook {
	ab := &addrBook{plan: p, hosts: map[string]*plan.Namespace{}, addrs: map[string][]ifaceAddr{}}
	ends := p.EndPairs()
	for _, n := range p.Namespaces {
		if n.Kind == plan.KindNetwork {
			continue
		}
		ab.hosts[n.Name] = n
		// Veth addresses first, in plan order.
		for _, pair := range ends[n.Name] {
			for _, a := range pair[0].Addresses {
				ab.addrs[n.Name] = append(ab.addrs[n.Name], ifaceAddr{pair[0].Name, a.Addr(), true})
			}
		}
		for _, br := range n.Bridges {
			for _, a := range br.Addresses {
				ab.addrs[n.Name] = append(ab.addrs[n.Name], ifaceAddr{br.Name, a.Addr(), false})
			}
		}
		for _, a := range n.Loopback {
			ab.addrs[n.Name] = append(ab.addrs[n.Name], ifaceAddr{"lo", a.Addr(), false})
		}
	}
	return ab
}

// isHost reports whether name is a host (or Pod, node, load balancer) of the lab.
func (ab *addrBook) isHost(name string) bool { return ab.hosts[name] != nil }

// hostNames lists hosts for hints.
func (ab *addrBook) hostNames() []string {
	names := make([]string, 0, len(ab.hosts))
	for n := range ab.hosts {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// suggestHost is the hint for an unknown host name.
func (ab *addrBook) suggestHost(name string) string {
	return didYouMean(name, ab.hostNames(), "hosts: "+strings.Join(ab.hostNames(), ", "))
}

// addrError is a name that does not resolve, with what to do about it.
type addrError struct{ msg, hint string }

func (e *addrError) Error() string { return e.msg }

// resolve turns an IP, a host name (its only or primary address) or host/interface
// into an address.
func (ab *addrBook) resolve(name string) (plan.NamedAddr, *addrError) {
	if a, err := netip.ParseAddr(name); err == nil {
		return plan.NamedAddr{Name: name, Addr: a}, nil
	}
	host, iface, hasIface := strings.Cut(name, "/")
	if !ab.isHost(host) {
		return plan.NamedAddr{}, &addrError{fmt.Sprintf("%q is neither an IP nor a host", name), ab.suggestHost(host)}
	}
	addrs := ab.addrs[host]
	if hasIface {
		var found []netip.Addr
		var ifaces []string
		for _, a := range addrs {
			if a.iface == iface {
				found = append(found, a.addr)
			}
			ifaces = append(ifaces, a.iface)
		}
		switch len(found) {
		case 0:
			return plan.NamedAddr{}, &addrError{fmt.Sprintf("host %s has no address on %q", host, iface), "interfaces with addresses: " + strings.Join(slices.Compact(ifaces), ", ")}
		case 1:
			return plan.NamedAddr{Name: name, Addr: found[0]}, nil
		}
		return plan.NamedAddr{}, &addrError{fmt.Sprintf("%s has several addresses", name), "write the IP instead"}
	}
	var veths []ifaceAddr
	for _, a := range addrs {
		if a.veth {
			veths = append(veths, a)
		}
	}
	switch {
	case len(veths) == 1:
		return plan.NamedAddr{Name: name, Addr: veths[0].addr}, nil
	case len(veths) == 0 && len(addrs) == 1:
		return plan.NamedAddr{Name: name, Addr: addrs[0].addr}, nil
	case len(addrs) == 0:
		return plan.NamedAddr{}, &addrError{fmt.Sprintf("host %s has no address", host), "give it an interface with an address"}
	}
	choices := make([]string, 0, len(addrs))
	for _, a := range addrs {
		choices = append(choices, fmt.Sprintf("%s/%s (%s)", host, a.iface, a.addr))
	}
	return plan.NamedAddr{}, &addrError{fmt.Sprintf("host %s has several addresses, so %q does not say which", host, name),
		"write one of " + strings.Join(choices, ", ")}
}

// target is a resolved probe target plus what it implies for the protocol.
type target struct {
	plan.Target
	// protocol is the Service port's protocol (tcp or udp), "" when not a Service.
	protocol string
}

// resolveTarget reads a probe target: service/[ns/]name[:port], nodeport/[ns/]name[:port]@node,
// loadbalancer/[ns/]name[:port], host[/iface][:port], IP or IP:port.
func (ab *addrBook) resolveTarget(s string) (target, *addrError) {
	t := target{Target: plan.Target{Written: s}}
	for _, kind := range []string{"service/", "nodeport/", "loadbalancer/"} {
		if rest, ok := strings.CutPrefix(s, kind); ok {
			return ab.serviceTarget(t, strings.TrimSuffix(kind, "/"), rest)
		}
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		t.Addr, t.Port = ap.Addr(), int(ap.Port())
		return t, nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		t.Addr = a
		return t, nil
	}
	name, port, err := splitPort(s)
	if err != nil {
		return t, err
	}
	addr, aerr := ab.resolve(name)
	if aerr != nil {
		aerr.hint += "; targets: host[:port], host/interface[:port], IP[:port], service/NAME:PORT, nodeport/NAME@NODE, loadbalancer/NAME:PORT"
		return t, aerr
	}
	t.Addr, t.Port = addr.Addr, port
	return t, nil
}

// splitPort cuts a trailing :port off a name.
func splitPort(s string) (string, int, *addrError) {
	name, port, ok := strings.Cut(s, ":")
	if !ok {
		return s, 0, nil
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return "", 0, &addrError{fmt.Sprintf("port %q of %q is not a port number", port, s), "write a port between 1 and 65535"}
	}
	return name, n, nil
}

func (ab *addrBook) serviceTarget(t target, kind, rest string) (target, *addrError) {
	rest, node, hasNode := strings.Cut(rest, "@")
	if kind == "nodeport" && !hasNode {
		return t, &addrError{fmt.Sprintf("%q does not say which node", t.Written), "write nodeport/NAME[:PORT]@NODE, e.g. nodeport/web@node-1"}
	}
	if kind != "nodeport" && hasNode {
		return t, &addrError{fmt.Sprintf("%q: only nodeport targets name a node", t.Written), "drop @" + node}
	}
	ref, portName, _ := strings.Cut(rest, ":")
	ns, name, hasNS := strings.Cut(ref, "/")
	if !hasNS {
		ns, name = "default", ref
	}
	svc := ab.plan.Service(ns, name)
	if svc == nil {
		return t, &addrError{fmt.Sprintf("unknown Service %s/%s", ns, name), ab.serviceHint()}
	}
	port, perr := servicePort(svc, portName)
	if perr != nil {
		return t, perr
	}
	t.protocol = strings.ToLower(port.Protocol)
	for _, ep := range svc.Endpoints {
		if ep.Port == port.Name && ep.Pod != "" && !slices.Contains(t.Backends, ep.Pod) {
			t.Backends = append(t.Backends, ep.Pod)
		}
	}
	switch kind {
	case "service":
		t.Addr, t.Port = svc.ClusterIP, port.Port
	case "loadbalancer":
		if !svc.LoadBalancerIP.IsValid() {
			return t, &addrError{fmt.Sprintf("Service %s/%s has no load balancer VIP", ns, name), "make it type: LoadBalancer, with a loadBalancer in the cluster"}
		}
		t.Addr, t.Port = svc.LoadBalancerIP, port.Port
	case "nodeport":
		if port.NodePort == 0 {
			return t, &addrError{fmt.Sprintf("Service %s/%s has no NodePort", ns, name), "make it type: NodePort or LoadBalancer"}
		}
		addr, aerr := ab.resolve(node)
		if aerr != nil {
			return t, aerr
		}
		t.Addr, t.Port = addr.Addr, port.NodePort
	}
	if !t.Addr.IsValid() {
		return t, &addrError{fmt.Sprintf("Service %s/%s has no ClusterIP", ns, name), "give it a clusterIP"}
	}
	return t, nil
}

func (ab *addrBook) serviceHint() string {
	if len(ab.plan.Services) == 0 {
		return "the lab declares no Services (cluster.services)"
	}
	names := make([]string, len(ab.plan.Services))
	for i, s := range ab.plan.Services {
		names[i] = s.Namespace + "/" + s.Name
	}
	return "Services: " + strings.Join(names, ", ")
}

// servicePort picks a Service port by number or name; "" is allowed for a Service
// with a single port.
func servicePort(svc *plan.Service, want string) (plan.ServicePort, *addrError) {
	var list []string
	for _, p := range svc.Ports {
		if want != "" && (p.Name == want || strconv.Itoa(p.Port) == want) {
			return p, nil
		}
		list = append(list, strings.TrimPrefix(fmt.Sprintf("%s:%d", p.Name, p.Port), ":"))
	}
	if want == "" && len(svc.Ports) == 1 {
		return svc.Ports[0], nil
	}
	if want == "" {
		return plan.ServicePort{}, &addrError{fmt.Sprintf("Service %s/%s has several ports; say which", svc.Namespace, svc.Name), "ports: " + strings.Join(list, ", ")}
	}
	return plan.ServicePort{}, &addrError{fmt.Sprintf("Service %s/%s has no port %q", svc.Namespace, svc.Name, want), "ports (number or name): " + strings.Join(list, ", ")}
}

// ResolveTarget reads a target as a probe's to: may write it, against a compiled
// plan: the address and port, and the Service port's protocol ("tcp", "udp", or ""
// when the target is not a Service). labctl trace uses it.
func ResolveTarget(p *plan.Plan, s string) (plan.Target, string, error) {
	t, err := newAddrBook(p).resolveTarget(s)
	if err != nil {
		return plan.Target{}, "", fmt.Errorf("%s (%s)", err.msg, err.hint)
	}
	return t.Target, t.protocol, nil
}
