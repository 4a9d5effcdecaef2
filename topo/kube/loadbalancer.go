package kube

import (
	"errors"
	"fmt"

	"github.com/labctl/labctl/topo/rules"
)

// LoadBalancerMode is how the emulated cloud load balancer forwards to the nodes.
type LoadBalancerMode string

// Load balancer modes.
const (
	// LoadBalancerDNAT rewrites the destination only: nodes see the client's address,
	// and must route their replies back through the load balancer.
	LoadBalancerDNAT LoadBalancerMode = "dnat"
	// LoadBalancerProxy also rewrites the source to the load balancer's own address, as
	// a proxying load balancer does: nodes see the load balancer, not the client.
	LoadBalancerProxy LoadBalancerMode = "proxy"
)

// LoadBalancerConfig describes the cloud load balancer host: a namespace outside the
// cluster that owns the LoadBalancer VIPs (status.loadBalancer.ingress) and forwards
// VIP:port to nodeIP:nodePort.
type LoadBalancerConfig struct {
	Mode LoadBalancerMode
	// Address is the load balancer's address on the node network; in proxy mode the
	// forwarded connections come from it.
	Address string
	// Nodes are the backends, in the order the rules spread connections over them.
	Nodes []Node
}

// Node is a cluster node as the load balancer knows it.
type Node struct {
	Name string
	IP   string
}

// Chains of the load balancer host. LB-<hash> and LB-FW-<hash> use the hash of the
// KUBE-SVC and KUBE-FW chains of the same service port, so they are easy to pair.
const (
	lbServicesChain       = "LB-SERVICES"
	lbPostroutingChain    = "LB-POSTROUTING"
	lbFirewallChain       = "LB-FIREWALL"
	lbChainPrefix         = "LB-"
	lbFirewallChainPrefix = "LB-FW-"
)

var loadBalancerOrigin = rules.Origin{By: "loadbalancer"}

// LoadBalancerRules returns the nat rules of the load balancer host: for each port of
// each LoadBalancer service with ingress IPs, a DNAT from VIP:port to nodeIP:nodePort,
// spread with kube-proxy's statistic probabilities. With externalTrafficPolicy Cluster
// every node is a backend; with Local only the nodes with a ready endpoint of the
// service, as a cloud load balancer health-checking healthCheckNodePort would pick.
// When no node passes, it fails open to all nodes, as AWS and GCP load balancers do
// (the nodes then drop or reject the traffic themselves). loadBalancerSourceRanges are
// enforced here, per VIP and port (see lbFirewall).
func (s *Snapshot) LoadBalancerRules(cfg LoadBalancerConfig) (*rules.Ruleset, error) {
	nodes, source, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	rs := &rules.Ruleset{}
	nat := rs.Table("nat")
	w := ruleWriter{origin: loadBalancerOrigin}
	dispatch := w.chain(nat, lbServicesChain)
	for _, from := range []string{"PREROUTING", "OUTPUT"} {
		w.add(nat.Lookup(from), "-m", "comment", "--comment", "cloud load balancer VIPs", "-j", lbServicesChain)
	}
	var postrouting *rules.Chain
	if cfg.Mode == LoadBalancerProxy {
		postrouting = w.chain(nat, lbPostroutingChain)
		w.add(nat.Lookup("POSTROUTING"), "-m", "comment", "--comment", "cloud load balancer: nodes see the load balancer", "-j", lbPostroutingChain)
	}

	healthy := s.nodesWithReadyEndpoints()
	fw := lbFirewall{rs: rs, w: &w}
	var errs []error
	for _, sp := range s.ports {
		if !sp.loadBalancer || len(sp.lbIngressIPs) == 0 {
			continue // no load balancer provisioned
		}
		if sp.nodePortNumber == 0 {
			errs = append(errs, fmt.Errorf("load balancer: service port %s has no nodePort to forward to", sp.name))
			continue
		}
		backends, failOpen := nodes, false
		if sp.externalLocal {
			backends = filterNodes(nodes, healthy[sp.service])
			if len(backends) == 0 {
				backends, failOpen = nodes, true
			}
		}
		chainName := lbChainPrefix + portProtoHash(sp.name, Protocol(sp.protocol))
		entry := fw.admit(nat, sp, chainName)
		c := w.chain(nat, chainName)
		for _, vip := range sp.lbIngressIPs {
			w.add(dispatch, "-m", "comment", "--comment", sp.name+" loadbalancer", "-m", sp.protocol, "-p", sp.protocol,
				"-d", vip, "--dport", sp.port, "-j", entry)
			if postrouting != nil {
				w.add(postrouting, "-m", "comment", "--comment", sp.name+" loadbalancer proxy", "-p", sp.protocol,
					"-m", "conntrack", "--ctstate", "DNAT", "--ctorigdst", vip, "--ctorigdstport", sp.port,
					"-j", "SNAT", "--to-source", source)
			}
		}
		for i, node := range backends {
			to := endpointString(node.IP, sp.nodePortNumber)
			comment := sp.name + " -> " + node.Name + " " + to
			if failOpen {
				comment += " (no healthy node: failing open)"
			}
			w.begin()
			w.push("-m", "comment", "--comment", comment)
			if i < len(backends)-1 {
				w.push("-m", "statistic", "--mode", "random", "--probability", Probability(len(backends)-i))
			}
			w.push("-m", sp.protocol, "-p", sp.protocol, "-j", "DNAT", "--to-destination", to)
			w.end(c)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return rs, nil
}

// validate checks the config and returns the nodes with canonical IPs and the SNAT
// source of proxy mode.
func (cfg LoadBalancerConfig) validate() ([]Node, string, error) {
	var errs []error
	source := ""
	switch cfg.Mode {
	case LoadBalancerDNAT:
	case LoadBalancerProxy:
		ip, err := parseIPSloppy(cfg.Address)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("load balancer: proxy mode needs the load balancer's address: %w", err))
		case !ip.Is4():
			errs = append(errs, fmt.Errorf("load balancer: address %s is not IPv4", ip))
		default:
			source = ip.String()
		}
	default:
		errs = append(errs, fmt.Errorf("load balancer: unknown mode %q (want dnat or proxy)", cfg.Mode))
	}
	if len(cfg.Nodes) == 0 {
		errs = append(errs, errors.New("load balancer: no nodes to forward to"))
	}
	nodes := make([]Node, 0, len(cfg.Nodes))
	for _, n := range cfg.Nodes {
		ip, err := parseIPSloppy(n.IP)
		if err != nil || !ip.Is4() {
			errs = append(errs, fmt.Errorf("load balancer: node %q: IP %q is not an IPv4 address", n.Name, n.IP))
			continue
		}
		nodes = append(nodes, Node{Name: n.Name, IP: ip.String()})
	}
	return nodes, source, errors.Join(errs...)
}

// nodesWithReadyEndpoints maps each service ("namespace/name") to the nodes hosting a
// ready endpoint of any of its ports: those whose health check node port answers 200.
func (s *Snapshot) nodesWithReadyEndpoints() map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, sp := range s.ports {
		for _, ep := range sp.endpoints {
			if !ep.ready || ep.nodeName == "" {
				continue
			}
			if out[sp.service] == nil {
				out[sp.service] = map[string]bool{}
			}
			out[sp.service][ep.nodeName] = true
		}
	}
	return out
}

func filterNodes(nodes []Node, keep map[string]bool) []Node {
	var out []Node
	for _, n := range nodes {
		if keep[n.Name] {
			out = append(out, n)
		}
	}
	return out
}
