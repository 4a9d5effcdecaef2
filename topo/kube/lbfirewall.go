package kube

import "github.com/labctl/labctl/topo/rules"

// lbFirewall enforces loadBalancerSourceRanges on the load balancer host, where clouds
// enforce them (GCE firewall rules, AWS security groups, Azure NSGs): packets from other
// sources are dropped without an answer, so those clients time out. The nodes' KUBE-FW
// chains never see this traffic: the load balancer forwards to NodePorts, and source
// ranges do not apply to NodePorts.
//
// The chains mirror kube-proxy's. LB-FW-<hash> (nat) sends the listed sources on to the
// DNAT chain; nat cannot drop, so what falls through keeps the VIP as destination, is
// delivered locally (the VIP is the host's own address) and is dropped by LB-FIREWALL
// in filter INPUT. Connections that were DNATed no longer match "-d <VIP>" there.
type lbFirewall struct {
	rs   *rules.Ruleset
	w    *ruleWriter
	drop *rules.Chain // LB-FIREWALL, created for the first service port with ranges
}

// admit returns the chain LB-SERVICES jumps to for sp: next itself, or, when sp has
// source ranges, a new LB-FW chain that admits them to next.
func (f *lbFirewall) admit(nat *rules.Table, sp *servicePort, next string) string {
	if len(sp.sourceRanges) == 0 {
		return next
	}
	w := f.w
	if f.drop == nil {
		filter := f.rs.Table("filter")
		f.drop = w.chain(filter, lbFirewallChain)
		w.add(filter.Lookup("INPUT"), "-m", "conntrack", "--ctstate", "NEW",
			"-m", "comment", "--comment", "cloud load balancer source ranges", "-j", lbFirewallChain)
	}
	name := lbFirewallChainPrefix + portProtoHash(sp.name, Protocol(sp.protocol))
	c := w.chain(nat, name)
	for _, r := range sp.sourceRanges {
		w.add(c, "-m", "comment", "--comment", sp.name+" loadbalancer source range", "-s", r.String(), "-j", next)
	}
	w.add(c, "-m", "comment", "--comment", "other traffic to "+sp.name+" loadbalancer will be dropped by "+lbFirewallChain)
	for _, vip := range sp.lbIngressIPs {
		w.add(f.drop, "-m", "comment", "--comment", sp.name+" traffic not accepted by "+name,
			"-m", sp.protocol, "-p", sp.protocol, "-d", vip, "--dport", sp.port, "-j", "DROP")
	}
	return name
}
