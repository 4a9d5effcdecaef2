package kube

import "github.com/labctl/labctl/topo/rules"

// routing is what kube-proxy decides for one service port on one node before it writes
// any rule: which chains internal (ClusterIP) and external (NodePort, external IP, LB IP)
// traffic goes to, and what the filter table does when there is nowhere to go.
type routing struct {
	eps nodeEndpoints

	internalChain       string // KUBE-SVC, or KUBE-SVL with iTP=Local
	hasInternal         bool   // internal traffic has endpoints to go to
	externalPolicyChain string // KUBE-SVC, or KUBE-SVL with eTP=Local
	hasExternal         bool   // external traffic has endpoints to go to
	// usesExternalChain: KUBE-EXT exists whenever the service has endpoints somewhere,
	// since even with eTP=Local it short-circuits Pod and node traffic.
	usesExternalChain bool
	usesFirewallChain bool   // loadBalancerSourceRanges apply
	loadBalancerChain string // where LB VIP traffic goes: KUBE-EXT or KUBE-FW

	// Without endpoints anywhere, traffic is rejected; with endpoints on other nodes
	// only (Local policies), dropped.
	internalFilterTarget, internalFilterComment string
	externalFilterTarget, externalFilterComment string
}

func (p *proxier) route(sp *servicePort) routing {
	r := routing{eps: sp.categorize(p.n.nodeName)}
	r.internalChain, r.hasInternal = sp.svcChain, r.eps.hasAny
	if sp.internalLocal {
		r.internalChain = sp.svlChain
		r.hasInternal = r.hasInternal && len(r.eps.local) > 0
	}
	r.externalPolicyChain, r.hasExternal = sp.svcChain, r.eps.hasAny
	if sp.externalLocal {
		r.externalPolicyChain = sp.svlChain
		r.hasExternal = r.hasExternal && len(r.eps.local) > 0
	}
	r.usesExternalChain = r.eps.hasAny && sp.externallyAccessible
	r.usesFirewallChain = r.eps.hasAny && len(sp.lbVIPs) > 0 && len(sp.sourceRanges) > 0
	r.loadBalancerChain = sp.extChain
	if r.usesFirewallChain {
		r.loadBalancerChain = sp.fwChain
	}
	r.internalFilterTarget, r.internalFilterComment = "DROP", sp.comments.noLocalEndpoints
	r.externalFilterTarget, r.externalFilterComment = "DROP", sp.comments.noLocalEndpoints
	if !r.eps.hasAny {
		r.internalFilterTarget, r.internalFilterComment = "REJECT", sp.comments.noEndpoints
		r.externalFilterTarget, r.externalFilterComment = "REJECT", sp.comments.noEndpoints
	}
	return r
}

// writeServicePort writes the rules of one service port on this node, following
// kube-proxy's syncProxyRules loop.
func (p *proxier) writeServicePort(sp *servicePort) {
	r := p.route(sp)
	p.writeCaptureRules(sp, &r)
	p.writeServiceChains(sp, &r)
}

// writeCaptureRules writes the rules in the top-level chains: KUBE-SERVICES and
// KUBE-NODEPORTS capture the service's addresses, the filter table rejects or drops
// what has no endpoint and accepts health checks.
func (p *proxier) writeCaptureRules(sp *servicePort, r *routing) {
	w, c, proto := &p.w, &sp.comments, sp.protocol
	if r.hasInternal {
		w.add(p.natServices, "-m", "comment", "--comment", c.clusterIP, "-m", proto, "-p", proto,
			"-d", sp.clusterIP, "--dport", sp.port, "-j", r.internalChain)
	} else {
		w.add(p.filterServices, "-m", "comment", "--comment", r.internalFilterComment, "-m", proto, "-p", proto,
			"-d", sp.clusterIP, "--dport", sp.port, "-j", r.internalFilterTarget)
	}
	for _, ip := range sp.externalIPs {
		if r.eps.hasAny {
			w.add(p.natServices, "-m", "comment", "--comment", c.externalIP, "-m", proto, "-p", proto,
				"-d", ip, "--dport", sp.port, "-j", sp.extChain)
		}
		if !r.hasExternal {
			w.add(p.filterExternal, "-m", "comment", "--comment", r.externalFilterComment, "-m", proto, "-p", proto,
				"-d", ip, "--dport", sp.port, "-j", r.externalFilterTarget)
		}
	}
	for _, vip := range sp.lbVIPs {
		if r.eps.hasAny {
			w.add(p.natServices, "-m", "comment", "--comment", c.loadBalancerIP, "-m", proto, "-p", proto,
				"-d", vip, "--dport", sp.port, "-j", r.loadBalancerChain)
		}
		if r.usesFirewallChain {
			w.add(p.filterFirewall, "-m", "comment", "--comment", c.firewallDrop, "-m", proto, "-p", proto,
				"-d", vip, "--dport", sp.port, "-j", "DROP")
		}
	}
	if !r.hasExternal {
		for _, vip := range sp.lbVIPs {
			w.add(p.filterExternal, "-m", "comment", "--comment", r.externalFilterComment, "-m", proto, "-p", proto,
				"-d", vip, "--dport", sp.port, "-j", r.externalFilterTarget)
		}
	}
	if sp.nodePort != "" {
		if r.eps.hasAny {
			// NodePorts are not subject to loadBalancerSourceRanges.
			if p.n.localhostNodePorts && p.n.nfacct {
				w.add(p.natNodePorts, "-m", "comment", "--comment", sp.name, "-m", proto, "-p", proto,
					"-d", "127.0.0.0/8", "--dport", sp.nodePort,
					"-m", "nfacct", "--nfacct-name", nfacctLocalhostNodePort, "-j", sp.extChain)
			}
			w.add(p.natNodePorts, "-m", "comment", "--comment", sp.name, "-m", proto, "-p", proto,
				"--dport", sp.nodePort, "-j", sp.extChain)
		}
		if !r.hasExternal {
			w.add(p.filterExternal, "-m", "comment", "--comment", r.externalFilterComment,
				"-m", "addrtype", "--dst-type", "LOCAL", "-m", proto, "-p", proto,
				"--dport", sp.nodePort, "-j", r.externalFilterTarget)
		}
	}
	if sp.healthCheckNodePort != "" {
		// Accepted whether or not this node has local endpoints: the answer is the health.
		w.add(p.filterNodePorts, "-m", "comment", "--comment", c.healthCheck, "-m", "tcp", "-p", "tcp",
			"--dport", sp.healthCheckNodePort, "-j", "ACCEPT")
	}
}

// writeServiceChains declares the service port's own chains in kube-proxy's order (EXT,
// FW, SVC, SVL, SEPs) and fills them.
func (p *proxier) writeServiceChains(sp *servicePort, r *routing) {
	w := &p.w
	var extChain, fwChain, svcChain, svlChain *rules.Chain
	if r.usesExternalChain {
		extChain = w.chain(p.nat, sp.extChain)
	}
	if r.usesFirewallChain {
		fwChain = w.chain(p.nat, sp.fwChain)
	}
	if len(r.eps.cluster) > 0 && sp.usesClusterEndpoints {
		svcChain = w.chain(p.nat, sp.svcChain)
	}
	if len(r.eps.local) > 0 && sp.usesLocalEps {
		svlChain = w.chain(p.nat, sp.svlChain)
	}

	internalTarget := svcChain
	if sp.internalLocal {
		internalTarget = svlChain
	}
	if r.hasInternal && internalTarget != nil && (p.n.masqueradeAll || p.n.detectsLocal()) {
		// Masquerade off-cluster traffic to the ClusterIP: it may have been routed to
		// this node from elsewhere and must come back through it.
		w.begin()
		w.push("-m", "comment", "--comment", sp.comments.clusterIP, "-m", sp.protocol, "-p", sp.protocol,
			"-d", sp.clusterIP, "--dport", sp.port)
		if !p.n.masqueradeAll {
			w.push(p.n.ifNotLocal...)
		}
		w.push("-j", chainMarkMasq)
		w.end(internalTarget)
	}

	if extChain != nil {
		p.writeExternalChain(sp, extChain, r.hasExternal, r.externalPolicyChain)
	}
	if fwChain != nil {
		p.writeFirewallChain(sp, fwChain)
	}
	if svcChain != nil {
		p.writeEndpointJumps(sp, svcChain, r.eps.cluster)
	}
	if svlChain != nil {
		p.writeEndpointJumps(sp, svlChain, r.eps.local)
	}
	for _, ep := range r.eps.reachable {
		p.writeEndpointChain(sp, ep)
	}
}
