// Package graph draws a compiled lab (a plan.Plan) as a diagram: Mermaid for GitHub
// and Markdown, DOT for Graphviz. Both writers render one format-neutral model built
// here, so the two drawings always show the same boxes and lines.
package graph

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/labctl/labctl/topo/plan"
)

// shape says what a box stands for; each format maps it to its own shape.
type shape int

const (
	shapeHost shape = iota
	shapeNode
	shapePod
	shapeLoadBalancer
	shapeNetwork // an L2 segment: a lab network, or a bridge inside a host
	shapeService
)

type box struct {
	id    string
	lines []string
	shape shape
}

// group is a box container: a Kubernetes node (or a host with bridges) with the
// bridges inside it and the Pods that run on it.
type group struct {
	id, label string
	boxes     []box
}

type edge struct {
	from, to string
	lines    []string
	// service edges are logical (a Service to its endpoints, a VIP to its Service),
	// not cables, and are drawn dashed.
	service bool
}

type model struct {
	title  string
	groups []group
	boxes  []box // outside every group
	edges  []edge
}

// build turns a plan into the model: one box per namespace, one per bridge inside a
// host, one per Service; one edge per veth pair and per Service relation.
func build(p *plan.Plan) *model {
	m := &model{title: "lab " + p.Instance}
	ids := newIDs()
	hostID := map[string]string{} // namespace name -> box id
	bridgeID := map[string]string{}
	groupOf := map[string]int{} // namespace name -> index in m.groups

	// A namespace gets a group when something lives inside it: its own bridges, or
	// Pods that name it as their node.
	members := map[string]bool{}
	for _, n := range p.Namespaces {
		if n.Group != "" {
			members[n.Group] = true
		}
	}
	for _, n := range p.Namespaces {
		if n.Kind != plan.KindNetwork && (len(n.Bridges) > 0 || members[n.Name]) {
			groupOf[n.Name] = len(m.groups)
			m.groups = append(m.groups, group{id: ids.next("g", n.Name), label: n.Name + " (" + kindName(n.Kind) + ")"})
		}
	}
	for _, n := range p.Namespaces {
		if n.Kind == plan.KindNetwork {
			id := ids.next("net", n.Name)
			hostID[n.Name] = id
			for _, br := range n.Bridges {
				bridgeID[n.Name+"/"+br.Name] = id // a network is its one bridge
			}
			m.boxes = append(m.boxes, box{id: id, lines: networkLines(p, n), shape: shapeNetwork})
			continue
		}
		b := box{id: ids.next(kindPrefix(n.Kind), n.Name), lines: hostLines(n), shape: shapeOf(n.Kind)}
		hostID[n.Name] = b.id
		inside := []box{b}
		for _, br := range n.Bridges {
			id := ids.next("br", n.Name+"_"+br.Name)
			bridgeID[n.Name+"/"+br.Name] = id
			inside = append(inside, box{id: id, lines: bridgeLines(br), shape: shapeNetwork})
			// The bridge is also an interface of its host (the Pods' gateway address).
			m.edges = append(m.edges, edge{from: b.id, to: id, lines: []string{strings.TrimSpace(br.Name + " " + prefixes(br.Addresses))}})
		}
		switch gi, own := groupOf[n.Name]; {
		case own:
			m.groups[gi].boxes = append(m.groups[gi].boxes, inside...)
		case n.Group != "":
			gi, ok := groupOf[n.Group]
			if !ok { // a group with no namespace of its name: draw it anyway
				gi = len(m.groups)
				groupOf[n.Group] = gi
				m.groups = append(m.groups, group{id: ids.next("g", n.Group), label: n.Group})
			}
			m.groups[gi].boxes = append(m.groups[gi].boxes, inside...)
		default:
			m.boxes = append(m.boxes, inside...)
		}
	}
	for _, v := range p.Veths {
		m.edges = append(m.edges, vethEdge(p, v, hostID, bridgeID))
	}
	m.addServices(p, ids, hostID)
	return m
}

// vethEdge joins the boxes a veth pair connects: a host and the bridge one end is a
// port of, or two hosts (a point-to-point link).
func vethEdge(p *plan.Plan, v plan.Veth, hostID, bridgeID map[string]string) edge {
	a, b := v.A, v.B
	if b.Master != "" && a.Master == "" {
		a, b = b, a // a is the bridge port, b the host side
	}
	if a.Master == "" { // point-to-point: name both ends
		return edge{from: hostID[a.Namespace], to: hostID[b.Namespace], lines: []string{
			a.Namespace + " " + endText(a), b.Namespace + " " + endText(b),
		}}
	}
	e := edge{from: hostID[b.Namespace], to: bridgeID[a.Namespace+"/"+a.Master], lines: []string{endText(b)}}
	if b.Master != "" { // bridge to bridge
		e.from = bridgeID[b.Namespace+"/"+b.Master]
	}
	// A port of a bridge inside a host (a Pod's vethXXXX on cni0) is what tcpdump and
	// iptables -i name; a network's ports are just the hosts' names.
	if ns := p.Namespace(a.Namespace); ns != nil && ns.Kind != plan.KindNetwork {
		port := "port " + a.Name
		if a.Hairpin {
			port += " hairpin"
		}
		e.lines = append(e.lines, port)
		// Drawn from the bridge to the Pod, so layouts put Pods behind their node's
		// bridge rather than in front of it.
		e.from, e.to = e.to, e.from
	}
	return e
}

func endText(e plan.End) string {
	s := e.Name
	if len(e.Addresses) > 0 {
		s += " " + prefixes(e.Addresses)
	}
	if e.MTU != 0 {
		s += fmt.Sprintf(" mtu %d", e.MTU)
	}
	return s
}

func hostLines(n *plan.Namespace) []string {
	lines := []string{n.Name}
	if n.Kind != plan.KindHost {
		lines[0] += " (" + kindName(n.Kind) + ")"
	}
	if len(n.Loopback) > 0 {
		lines = append(lines, "lo "+prefixes(n.Loopback))
	}
	for _, v := range n.Vxlans {
		lines = append(lines, strings.TrimSpace(fmt.Sprintf("%s vni %d %s", v.Name, v.VNI, prefixes(v.Addresses))))
	}
	if len(n.Servers) > 0 {
		ports := make([]string, len(n.Servers))
		for i, s := range n.Servers {
			ports[i] = fmt.Sprintf("%d/%s", s.Port, s.Protocol)
		}
		lines = append(lines, "serves "+strings.Join(ports, " "))
	}
	return lines
}

func bridgeLines(br plan.Bridge) []string {
	s := "bridge " + br.Name
	if br.MTU != 0 {
		s += fmt.Sprintf(" mtu %d", br.MTU)
	}
	return []string{s}
}

// networkLines names a network and the subnets its hosts' addresses are in: the plan
// keeps no CIDR for a network, but every address attached to it carries one.
func networkLines(p *plan.Plan, n *plan.Namespace) []string {
	lines := []string{n.Name}
	var subnets []netip.Prefix
	for _, v := range p.Veths {
		for _, pair := range [][2]plan.End{{v.A, v.B}, {v.B, v.A}} {
			if pair[0].Namespace != n.Name || pair[0].Master == "" {
				continue
			}
			for _, a := range pair[1].Addresses {
				if s := a.Masked(); !slices.Contains(subnets, s) {
					subnets = append(subnets, s)
				}
			}
		}
	}
	if len(subnets) > 0 {
		lines = append(lines, prefixes(subnets))
	}
	for _, br := range n.Bridges {
		if br.MTU != 0 {
			lines = append(lines, fmt.Sprintf("mtu %d", br.MTU))
		}
	}
	return lines
}

func shapeOf(kind string) shape {
	switch kind {
	case plan.KindNode:
		return shapeNode
	case plan.KindPod:
		return shapePod
	case plan.KindLoadBalancer:
		return shapeLoadBalancer
	}
	return shapeHost
}

func kindName(kind string) string {
	if kind == plan.KindLoadBalancer {
		return "load balancer"
	}
	return kind
}

func kindPrefix(kind string) string {
	switch kind {
	case plan.KindNode:
		return "node"
	case plan.KindPod:
		return "pod"
	case plan.KindLoadBalancer:
		return "lb"
	}
	return "host"
}

func prefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, " ")
}
