package kube

import "github.com/labctl/labctl/topo/rules"

// writeServicePort writes the rules of one service port on this node, following
// kube-proxy's syncProxyRules loop: capture rules in KUBE-SERVICES / KUBE-NODEPORTS,
// REJECT and DROP rules in the filter table, then the SVC, SVL, EXT, FW and SEP chains.
func (p *proxier) writeServicePort(sp *servicePort) {
	w, n, c := &p.w, &p.n, &sp.comments
	eps := sp.categorize(n.nodeName)

	// Which chain internal (ClusterIP) and external traffic ends in, and whether it
	// has endpoints there.
	internalChain, hasInternal := sp.svcChain, eps.hasAny
	if sp.internalLocal {
		internalChain = sp.svlChain
		hasInternal = hasInternal && len(eps.local) > 0
	}
	externalPolicyChain, hasExternal := sp.svcChain, eps.hasAny
	if sp.externalLocal {
		externalPolicyChain = sp.svlChain
		hasExternal = hasExternal && len(eps.local) > 0
	}
	// The EXT chain exists whenever the service has endpoints somewhere: eTP=Local
	// still short-circuits pod and host traffic to the Cluster endpoints.
	usesExternalChain := eps.hasAny && sp.externallyAccessible
	usesFirewallChain := eps.hasAny && len(sp.lbVIPs) > 0 && len(sp.sourceRanges) > 0
	loadBalancerChain := sp.extChain
	if usesFirewallChain {
		loadBalancerChain = sp.fwChain
	}

	// Without endpoints anywhere, traffic is rejected; with endpoints elsewhere only
	// (Local policy), dropped.
	internalFilterTarget, internalFilterComment := "DROP", c.noLocalEndpoints
	externalFilterTarget, externalFilterComment := "DROP", c.noLocalEndpoints
	if !eps.hasAny {
		internalFilterTarget, internalFilterComment = "REJECT", c.noEndpoints
		externalFilterTarget, externalFilterComment = "REJECT", c.noEndpoints
	}

	proto := sp.protocol
	if hasInternal {
		w.add(p.natServices, "-m", "comment", "--comment", c.clusterIP, "-m", proto, "-p", proto,
			"-d", sp.clusterIP, "--dport", sp.port, "-j", internalChain)
	} else {
		w.add(p.filterServices, "-m", "comment", "--comment", internalFilterComment, "-m", proto, "-p", proto,
			"-d", sp.clusterIP, "--dport", sp.port, "-j", internalFilterTarget)
	}
	for _, ip := range sp.externalIPs {
		if eps.hasAny {
			w.add(p.natServices, "-m", "comment", "--comment", c.externalIP, "-m", proto, "-p", proto,
				"-d", ip, "--dport", sp.port, "-j", sp.extChain)
		}
		if !hasExternal {
			w.add(p.filterExternal, "-m", "comment", "--comment", externalFilterComment, "-m", proto, "-p", proto,
				"-d", ip, "--dport", sp.port, "-j", externalFilterTarget)
		}
	}
	for _, vip := range sp.lbVIPs {
		if eps.hasAny {
			w.add(p.natServices, "-m", "comment", "--comment", c.loadBalancerIP, "-m", proto, "-p", proto,
				"-d", vip, "--dport", sp.port, "-j", loadBalancerChain)
		}
		if usesFirewallChain {
			w.add(p.filterFirewall, "-m", "comment", "--comment", c.firewallDrop, "-m", proto, "-p", proto,
				"-d", vip, "--dport", sp.port, "-j", "DROP")
		}
	}
	if !hasExternal {
		for _, vip := range sp.lbVIPs {
			w.add(p.filterExternal, "-m", "comment", "--comment", externalFilterComment, "-m", proto, "-p", proto,
				"-d", vip, "--dport", sp.port, "-j", externalFilterTarget)
		}
	}
	if sp.nodePort != "" {
		if eps.hasAny {
			// NodePorts are not subject to loadBalancerSourceRanges.
			if n.localhostNodePorts && n.nfacct {
				w.add(p.natNodePorts, "-m", "comment", "--comment", sp.name, "-m", proto, "-p", proto,
					"-d", "127.0.0.0/8", "--dport", sp.nodePort,
					"-m", "nfacct", "--nfacct-name", nfacctLocalhostNodePort, "-j", sp.extChain)
			}
			w.add(p.natNodePorts, "-m", "comment", "--comment", sp.name, "-m", proto, "-p", proto,
				"--dport", sp.nodePort, "-j", sp.extChain)
		}
		if !hasExternal {
			w.add(p.filterExternal, "-m", "comment", "--comment", externalFilterComment,
				"-m", "addrtype", "--dst-type", "LOCAL", "-m", proto, "-p", proto,
				"--dport", sp.nodePort, "-j", externalFilterTarget)
		}
	}
	if sp.healthCheckNodePort != "" {
		// Accepted whether or not this node has local endpoints: the answer is the health.
		w.add(p.filterNodePorts, "-m", "comment", "--comment", c.healthCheck, "-m", "tcp", "-p", "tcp",
			"--dport", sp.healthCheckNodePort, "-j", "ACCEPT")
	}

	// The per-service chains, declared in kube-proxy's order.
	var extChain, fwChain, svcChain, svlChain *rules.Chain
	if usesExternalChain {
		extChain = w.chain(p.nat, sp.extChain)
	}
	if usesFirewallChain {
		fwChain = w.chain(p.nat, sp.fwChain)
	}
	if len(eps.cluster) > 0 && sp.usesClusterEndpoints {
		svcChain = w.chain(p.nat, sp.svcChain)
	}
	if len(eps.local) > 0 && sp.usesLocalEps {
		svlChain = w.chain(p.nat, sp.svlChain)
	}

	internalTarget := svcChain
	if sp.internalLocal {
		internalTarget = svlChain
	}
	if hasInternal && internalTarget != nil && (n.masqueradeAll || n.detectsLocal()) {
		// Masquerade off-cluster traffic to the ClusterIP: it may have been routed to
		// this node from elsewhere and must come back through it.
		w.begin()
		w.push("-m", "comment", "--comment", c.clusterIP, "-m", proto, "-p", proto,
			"-d", sp.clusterIP, "--dport", sp.port)
		if !n.masqueradeAll {
			w.push(n.ifNotLocal...)
		}
		w.push("-j", chainMarkMasq)
		w.end(internalTarget)
	}

	if extChain != nil {
		p.writeExternalChain(sp, extChain, hasExternal, externalPolicyChain)
	}
	if fwChain != nil {
		p.writeFirewallChain(sp, fwChain)
	}
	if svcChain != nil {
		p.writeEndpointJumps(sp, svcChain, eps.cluster)
	}
	if svlChain != nil {
		p.writeEndpointJumps(sp, svlChain, eps.local)
	}
	for _, ep := range eps.reachable {
		p.writeEndpointChain(sp, ep)
	}
}

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
