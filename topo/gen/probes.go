package gen

import "fmt"

// probeKind is what a generated probe exercises.
type probeKind int

const (
	podToClusterIP   probeKind = iota // a Pod calls a Service's ClusterIP
	clientToNodePort                  // the client calls nodeIP:nodePort
	clientToVIP                       // the client calls a LoadBalancer VIP
)

// writeProbes writes o.Probes probes whose outcome is certain from the lab alone:
// every target has a ready endpoint and a Cluster traffic policy on the path the probe
// takes (a Local policy answers or drops depending on where Pods landed). Three in
// five probes go Pod -> ClusterIP, the rest client -> NodePort or VIP, rotating over
// the eligible Services so every one is probed once before any is probed twice.
func (c *cluster) writeProbes(w *writer) {
	if c.opts.Probes == 0 {
		return
	}
	eligible := map[probeKind][]*service{}
	for _, s := range c.services {
		if !s.hasReadyPod() {
			continue
		}
		if !s.itpLocal {
			eligible[podToClusterIP] = append(eligible[podToClusterIP], s)
		}
		if s.typ != "ClusterIP" && !s.etpLocal {
			eligible[clientToNodePort] = append(eligible[clientToNodePort], s)
		}
		if s.typ == "LoadBalancer" && !s.etpLocal {
			eligible[clientToVIP] = append(eligible[clientToVIP], s)
		}
	}
	cycle := []probeKind{podToClusterIP, clientToNodePort, podToClusterIP, clientToVIP, podToClusterIP}
	var kinds []probeKind
	for _, k := range cycle {
		if len(eligible[k]) > 0 {
			kinds = append(kinds, k)
		}
	}
	if len(kinds) == 0 || len(c.pods) == 0 {
		w.line("# no probes: no Service has a ready endpoint")
		return
	}
	next := map[probeKind]int{}
	w.line("probes:")
	for i := range c.opts.Probes {
		kind := kinds[i%len(kinds)]
		list := eligible[kind]
		s := list[next[kind]%len(list)]
		port := s.probePort(next[kind] / len(list))
		next[kind]++
		var from, to string
		switch kind {
		case podToClusterIP:
			from, to = c.pods[c.rng.IntN(len(c.pods))].name, fmt.Sprintf("service/%s:%s", s.name, port)
		case clientToNodePort:
			from, to = "client", fmt.Sprintf("nodeport/%s:%s@%s", s.name, port, nodeName(1+c.rng.IntN(c.opts.Nodes)))
		case clientToVIP:
			from, to = "client", fmt.Sprintf("loadbalancer/%s:%s", s.name, port)
		}
		w.line("  - {name: p%04d, from: %s, to: %s}", i+1, from, to)
	}
}

func (s *service) hasReadyPod() bool {
	for _, p := range s.pods {
		if p.ready {
			return true
		}
	}
	return false
}

// probePort names the port the round-th probe of the Service uses, alternating over
// a multi-port Service's ports (so UDP is probed too).
func (s *service) probePort(round int) string {
	switch s.shape {
	case multi:
		return []string{"http", "metrics"}[round%2]
	case dns:
		return []string{"dns", "dns-tcp"}[round%2]
	}
	return "80"
}
