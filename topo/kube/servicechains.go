package kube

import "github.com/labctl/labctl/topo/rules"

// writeExternalChain fills KUBE-EXT: masquerade and go to the Cluster endpoints, or with
// eTP=Local keep the client address and go to the local endpoints, except for traffic
// from pods and from the node itself, which is short-circuited to the Cluster endpoints.
func (p *proxier) writeExternalChain(sp *servicePort, ext *rules.Chain, hasExternal bool, policyChain string) {
	w, c := &p.w, &sp.comments
	if !sp.externalLocal {
		w.add(ext, "-m", "comment", "--comment", c.externalMasquerade, "-j", chainMarkMasq)
	} else {
		if p.n.detectsLocal() {
			w.begin()
			w.push("-m", "comment", "--comment", c.podTraffic)
			w.push(p.n.ifLocal...)
			w.push("-j", sp.svcChain)
			w.end(ext)
		}
		// The node's own traffic to an external IP has a local source address, which
		// the endpoint could not answer: masquerade it.
		w.add(ext, "-m", "comment", "--comment", c.localMasquerade,
			"-m", "addrtype", "--src-type", "LOCAL", "-j", chainMarkMasq)
		w.add(ext, "-m", "comment", "--comment", c.localRoute,
			"-m", "addrtype", "--src-type", "LOCAL", "-j", sp.svcChain)
	}
	if hasExternal {
		w.add(ext, "-j", policyChain)
	}
}

// writeFirewallChain fills KUBE-FW, which admits loadBalancerSourceRanges; what falls
// through is dropped by the KUBE-PROXY-FIREWALL rule in the filter table.
func (p *proxier) writeFirewallChain(sp *servicePort, fw *rules.Chain) {
	w, c := &p.w, &sp.comments
	allowFromNode := false
	for _, r := range sp.sourceRanges {
		w.add(fw, "-m", "comment", "--comment", c.loadBalancerIP, "-s", r.String(), "-j", sp.extChain)
		if p.n.nodeIP.IsValid() && r.Contains(p.n.nodeIP) {
			allowFromNode = true
		}
	}
	if allowFromNode {
		// A node reaching a VIP that is local to it talks from the VIP itself.
		for _, vip := range sp.lbVIPs {
			w.add(fw, "-m", "comment", "--comment", c.loadBalancerIP, "-s", vip, "-j", sp.extChain)
		}
	}
	w.add(fw, "-m", "comment", "--comment", c.firewallOther)
}

// writeEndpointJumps fills a KUBE-SVC or KUBE-SVL chain: session-affinity checks first,
// then one jump per endpoint; rule i of n matches with probability 1/(n-i), which
// spreads connections evenly, and the last one always matches.
func (p *proxier) writeEndpointJumps(sp *servicePort, c *rules.Chain, eps []*endpoint) {
	w := &p.w
	if sp.affinity {
		for _, ep := range eps {
			w.begin()
			p.pushEndpointComment(ep.jumpComment)
			w.push("-m", "recent", "--name", ep.chain, "--rcheck", "--seconds", sp.stickySeconds, "--reap", "-j", ep.chain)
			w.end(c)
		}
	}
	for i, ep := range eps {
		w.begin()
		p.pushEndpointComment(ep.jumpComment)
		if i < len(eps)-1 {
			w.push("-m", "statistic", "--mode", "random", "--probability", p.s.probabilities[len(eps)-i])
		}
		w.push("-j", ep.chain)
		w.end(c)
	}
}

// writeEndpointChain fills a KUBE-SEP chain: mark hairpin traffic (the endpoint calling
// its own service) for masquerade, so that the reply comes back through the node, then
// DNAT to the endpoint.
func (p *proxier) writeEndpointChain(sp *servicePort, ep *endpoint) {
	w := &p.w
	c := w.chain(p.nat, ep.chain)
	c.Rules = make([]rules.Rule, 0, 2)
	w.begin()
	p.pushEndpointComment(sp.name)
	w.push("-s", ep.ip, "-j", chainMarkMasq)
	w.end(c)
	w.begin()
	p.pushEndpointComment(sp.name)
	if sp.affinity {
		w.push("-m", "recent", "--name", ep.chain, "--set")
	}
	w.push("-m", sp.protocol, "-p", sp.protocol, "-j", "DNAT", "--to-destination", ep.hostPort)
	w.end(c)
}

// pushEndpointComment adds a comment to endpoint rules, except in kube-proxy's
// large-cluster mode, where dropping them shrinks the ruleset by 40 %.
func (p *proxier) pushEndpointComment(comment string) {
	if !p.s.largeCluster {
		p.w.push("-m", "comment", "--comment", comment)
	}
}
