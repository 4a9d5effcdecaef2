package graph

import (
	"fmt"
	"strings"

	"github.com/labctl/labctl/topo/plan"
)

// addServices draws each Service as a box with its addresses and ports, a dashed
// edge to every Pod that is a ready endpoint, and one from the load balancer host
// that owns its VIP. Endpoints that are not Pods (an API server's IP) are listed in
// the Service's box, as there is no box to point at.
func (m *model) addServices(p *plan.Plan, ids *idSet, hostID map[string]string) {
	lb := ""
	for _, n := range p.Namespaces {
		if n.Kind == plan.KindLoadBalancer {
			lb = hostID[n.Name]
		}
	}
	if len(p.Services) == 0 {
		return
	}
	svcs := group{id: ids.next("g", "services"), label: "Services"}
	defer func() { m.groups = append(m.groups, svcs) }()
	for _, s := range p.Services {
		id := ids.next("svc", s.Namespace+"_"+s.Name)
		lines := []string{"service " + s.Namespace + "/" + s.Name, s.Type + " " + s.ClusterIP.String()}
		if s.LoadBalancerIP.IsValid() {
			lines = append(lines, "VIP "+s.LoadBalancerIP.String())
		}
		for _, ip := range s.ExternalIPs {
			lines = append(lines, "externalIP "+ip.String())
		}
		for _, port := range s.Ports {
			lines = append(lines, portText(port))
		}
		var pods []string // in order of first appearance
		byPod := map[string][]string{}
		for _, ep := range s.Endpoints {
			port := portName(s, ep.Port)
			target := fmt.Sprintf("%s → %d", port, ep.Addr.Port())
			if _, drawn := hostID[ep.Pod]; ep.Pod == "" || !drawn {
				lines = append(lines, fmt.Sprintf("endpoint %s → %s", port, ep.Addr))
				continue
			}
			if _, seen := byPod[ep.Pod]; !seen {
				pods = append(pods, ep.Pod)
			}
			byPod[ep.Pod] = append(byPod[ep.Pod], target)
		}
		svcs.boxes = append(svcs.boxes, box{id: id, lines: lines, shape: shapeService})
		if s.LoadBalancerIP.IsValid() && lb != "" {
			var vips []string
			for _, port := range s.Ports {
				vips = append(vips, fmt.Sprintf("VIP %s:%d/%s", s.LoadBalancerIP, port.Port, port.Protocol))
			}
			m.edges = append(m.edges, edge{from: lb, to: id, lines: vips, service: true})
		}
		for _, pod := range pods {
			m.edges = append(m.edges, edge{from: id, to: hostID[pod], lines: byPod[pod], service: true})
		}
	}
}

func portText(p plan.ServicePort) string {
	s := fmt.Sprintf("%d/%s", p.Port, p.Protocol)
	if p.Name != "" {
		s = p.Name + " " + s
	}
	if p.NodePort != 0 {
		s += fmt.Sprintf(" nodePort %d", p.NodePort)
	}
	return s
}

// portName names a Service port in endpoint labels: by its name, or, for the one
// unnamed port a Service may have, by its number.
func portName(s plan.Service, name string) string {
	if name != "" {
		return name
	}
	for _, p := range s.Ports {
		if p.Name == "" {
			return fmt.Sprintf("%d/%s", p.Port, p.Protocol)
		}
	}
	return "port"
}

// idSet hands out box ids that every format accepts unquoted: letters, digits and
// underscores, starting with a letter, each one unique.
type idSet struct{ used map[string]bool }

func newIDs() *idSet { return &idSet{used: map[string]bool{}} }

func (s *idSet) next(prefix, name string) string {
	var b strings.Builder
	b.WriteString(prefix)
	b.WriteByte('_')
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_') // web-0 and web_0 both become web_0: the suffix below keeps them apart
		}
	}
	id := b.String()
	for i := 2; s.used[id]; i++ {
		id = fmt.Sprintf("%s_%d", b.String(), i)
	}
	s.used[id] = true
	return id
}
