// Package gen writes lab files: large, deterministic, readable clusters for benchmarks
// and load tests (labctl gen cluster). It is pure: the same options always give the
// same bytes, and the output is an ordinary lab file that topo compiles.
package gen

import (
	"fmt"
	"math/rand/v2"
	"strings"
)

// Limits of a generated cluster, from the address plan it writes: one /24 of
// 10.244.0.0/16 per node (blocks 1 to 250), 253 Pods per /24, a /24 of LoadBalancer VIPs.
const (
	MaxNodes       = 250
	MaxPodsPerNode = 250
	MaxServices    = 4000
	maxLBServices  = 250
	maxProbes      = 100000
)

// ClusterOptions say what cluster to generate.
type ClusterOptions struct {
	Name     string // lab name (default "gen")
	Nodes    int
	Pods     int
	Services int
	// LB adds a cloud load balancer on an "internet" network, with the client behind
	// it; without it the client sits on the node network and LoadBalancer Services
	// become NodePort ones.
	LB       bool
	Backend  string // host-gw (default) or vxlan
	IPTables string // nft, legacy, or "" (the lab's default)
	Seed     uint64 // changes which node each Pod lands on and which Pods probes start from
	Probes   int    // number of probes to write
}

// service is one generated Service and the app (Pods) it selects.
type service struct {
	name     string
	shape    shape
	typ      string
	etpLocal bool // externalTrafficPolicy: Local
	itpLocal bool // internalTrafficPolicy: Local
	affinity bool // sessionAffinity: ClientIP
	pods     []*pod
}

type pod struct {
	name  string
	node  int // 1-based
	ready bool
	svc   *service
}

// shape is the kind of workload behind a Service: its ports.
type shape int

const (
	web   shape = iota // one TCP port: 80 -> http (8080)
	multi              // http 80 -> 8080 and metrics 9090, named ports
	dns                // 53/UDP and 53/TCP, as kube-dns
)

type cluster struct {
	opts     ClusterOptions
	services []*service
	pods     []*pod
	rng      *rand.Rand
}

// Check says what is wrong with the options, in terms of the command's flags.
func (o *ClusterOptions) Check() error {
	var errs []string
	if o.Nodes < 1 || o.Nodes > MaxNodes {
		errs = append(errs, fmt.Sprintf("--nodes %d: use 1 to %d", o.Nodes, MaxNodes))
	}
	if o.Pods < 0 || o.Pods > MaxPodsPerNode*max(o.Nodes, 1) {
		errs = append(errs, fmt.Sprintf("--pods %d: use 0 to %d (%d per node)", o.Pods, MaxPodsPerNode*max(o.Nodes, 1), MaxPodsPerNode))
	}
	if o.Services < 0 || o.Services > MaxServices {
		errs = append(errs, fmt.Sprintf("--services %d: use 0 to %d", o.Services, MaxServices))
	}
	switch o.Backend {
	case "", "host-gw", "vxlan":
	default:
		errs = append(errs, fmt.Sprintf("--backend %q: use host-gw or vxlan", o.Backend))
	}
	switch o.IPTables {
	case "", "nft", "legacy":
	default:
		errs = append(errs, fmt.Sprintf("--iptables %q: use nft or legacy", o.IPTables))
	}
	if o.Probes < 0 || o.Probes > maxProbes {
		errs = append(errs, fmt.Sprintf("--probes %d: use 0 to %d", o.Probes, maxProbes))
	}
	if len(errs) > 0 {
		return fmt.Errorf("gen cluster: %s", strings.Join(errs, "; "))
	}
	return nil
}

// Cluster returns the lab file of a generated cluster.
func Cluster(o ClusterOptions) ([]byte, error) {
	if o.Name == "" {
		o.Name = "gen"
	}
	if err := o.Check(); err != nil {
		return nil, err
	}
	c := &cluster{opts: o, rng: rand.New(rand.NewPCG(o.Seed, 0x6c6162637463))}
	c.makeServices()
	c.placePods()
	var w writer
	c.write(&w)
	return []byte(w.String()), nil
}

// typeCycle spreads the Service types over any 20 consecutive Services (11 ClusterIP,
// 5 NodePort, 4 LoadBalancer), interleaved so that even a small cluster gets each.
const typeCycle = "CNCLCNCLCCNCLCNCLCCN"

// makeServices picks each Service's shape, type and policies from fixed cycles of
// co-prime lengths, so every mix appears in any cluster of a few dozen Services and
// the proportions stay the same at every size: 55 % ClusterIP, 25 % NodePort, 20 %
// LoadBalancer; a third of the external ones with externalTrafficPolicy Local; one in
// ten internalTrafficPolicy Local; one in nine with ClientIP session affinity; one in
// seven multi-port and one in seven DNS-like (UDP and TCP).
func (c *cluster) makeServices() {
	lbs := 0
	for k := range c.opts.Services {
		s := &service{name: fmt.Sprintf("svc-%03d", k)}
		switch k % 7 {
		case 2:
			s.shape = dns
		case 4:
			s.shape = multi
		}
		switch typeCycle[k%len(typeCycle)] {
		case 'C':
			s.typ = "ClusterIP"
		case 'N':
			s.typ = "NodePort"
		default:
			s.typ = "LoadBalancer"
		}
		if s.typ == "LoadBalancer" && (!c.opts.LB || lbs >= maxLBServices) {
			s.typ = "NodePort"
		}
		if s.typ == "LoadBalancer" {
			lbs++
		}
		s.etpLocal = s.typ != "ClusterIP" && k%3 == 0
		s.itpLocal = k%10 == 7
		s.affinity = k%9 == 4
		c.services = append(c.services, s)
	}
}

// placePods gives Pod i to Service i mod S (so every Service has an endpoint when
// there are at least as many Pods) and to a random node with room left. One Pod in
// 97 is not ready, so some Services have fewer endpoints than Pods.
func (c *cluster) placePods() {
	perNode := make([]int, c.opts.Nodes)
	counts := map[*service]int{}
	for i := range c.opts.Pods {
		p := &pod{ready: i%97 != 96}
		if len(c.services) > 0 {
			p.svc = c.services[i%len(c.services)]
			p.name = fmt.Sprintf("%s-%d", p.svc.name, counts[p.svc])
			counts[p.svc]++
			p.svc.pods = append(p.svc.pods, p)
		} else {
			p.name = fmt.Sprintf("idle-%d", i)
		}
		n := c.rng.IntN(c.opts.Nodes)
		for perNode[n] >= MaxPodsPerNode {
			n = (n + 1) % c.opts.Nodes
		}
		perNode[n]++
		p.node = n + 1
		c.pods = append(c.pods, p)
	}
}

func nodeName(i int) string { return fmt.Sprintf("node-%d", i) }
