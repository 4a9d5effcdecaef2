package kube

import (
	"slices"

	"github.com/labctl/labctl/topo/rules"
)

// kube-proxy's top-level chains.
const (
	chainServices         = "KUBE-SERVICES"
	chainExternalServices = "KUBE-EXTERNAL-SERVICES"
	chainNodePorts        = "KUBE-NODEPORTS"
	chainPostrouting      = "KUBE-POSTROUTING"
	chainMarkMasq         = "KUBE-MARK-MASQ"
	chainForward          = "KUBE-FORWARD"
	chainProxyFirewall    = "KUBE-PROXY-FIREWALL"
	chainCanary           = "KUBE-PROXY-CANARY"
	// chainKubeletFirewall duplicates the kubelet's chain of the same name.
	chainKubeletFirewall = "KUBE-FIREWALL"
)

// kube-proxy's nfacct counters (metrics), matched only with Config.NFAcctCounters.
const (
	nfacctInvalidDropped    = "ct_state_invalid_dropped_pkts"
	nfacctLocalhostNodePort = "localhost_nps_accepted_pkts"
)

var (
	kubeProxyOrigin = rules.Origin{By: "kube-proxy"}
	kubeletOrigin   = rules.Origin{By: "kubelet"}
)

// proxier holds the state of one node's generation: the chains every service writes to.
type proxier struct {
	s *Snapshot
	n nodeSettings
	w ruleWriter

	nat *rules.Table

	filterServices, filterExternal, filterForward    *rules.Chain
	filterNodePorts, filterFirewall, kubeletFirewall *rules.Chain
	natServices, natNodePorts                        *rules.Chain
	natPostrouting, natMarkMasq                      *rules.Chain
}

// KubeProxyRules returns the filter and nat tables of a node as kube-proxy (iptables
// mode) leaves them after its first, full sync: the KUBE-* chains of its restore payload,
// the jumps it prepends to the built-in chains (after the kubelet's KUBE-FIREWALL
// jumps, see Config.KubeletFirewallFirst) and its empty KUBE-PROXY-CANARY chains
// (mangle, filter, nat). Services are visited in namespace/name order, where kube-proxy
// uses Go map order; only the order of rules from different services in KUBE-SERVICES
// and KUBE-NODEPORTS differs, which no packet can observe.
func (s *Snapshot) KubeProxyRules(cfg Config) (*rules.Ruleset, error) {
	n, err := cfg.settings()
	if err != nil {
		return nil, err
	}
	rs := &rules.Ruleset{}
	p := &proxier{s: s, n: n, w: ruleWriter{origin: kubeProxyOrigin}}
	mangle := rs.Table("mangle")
	filter := rs.Table("filter")
	p.nat = rs.Table("nat")

	// Chains in the order of kube-proxy's restore payload.
	p.filterServices = p.w.chain(filter, chainServices)
	p.filterExternal = p.w.chain(filter, chainExternalServices)
	p.filterForward = p.w.chain(filter, chainForward)
	p.filterNodePorts = p.w.chain(filter, chainNodePorts)
	p.filterFirewall = p.w.chain(filter, chainProxyFirewall)
	// KUBE-FIREWALL exists even without its rule: kube-proxy ensures it for its jumps.
	p.kubeletFirewall = p.w.chain(filter, chainKubeletFirewall)
	p.natServices = p.w.chain(p.nat, chainServices)
	p.natNodePorts = p.w.chain(p.nat, chainNodePorts)
	p.natPostrouting = p.w.chain(p.nat, chainPostrouting)
	p.natMarkMasq = p.w.chain(p.nat, chainMarkMasq)

	p.writeFixedRules()
	for _, sp := range s.ports {
		p.writeServicePort(sp)
	}
	p.writeTrailingRules()

	// ipt.Monitor creates the canaries to notice when someone flushes the tables.
	for _, t := range []*rules.Table{mangle, filter, p.nat} {
		p.w.chain(t, chainCanary)
	}
	addJumpRules(rs, n.kubeletFirst)
	return rs, nil
}

// writeFixedRules writes the rules every sync writes before the services.
func (p *proxier) writeFixedRules() {
	w, n := &p.w, &p.n
	w.add(p.natPostrouting, "-m", "mark", "!", "--mark", n.markAndMask, "-j", "RETURN")
	// Clear the mark so that a packet traversing the stack again is not masqueraded twice.
	w.add(p.natPostrouting, "-j", "MARK", "--xor-mark", n.mark)
	w.begin()
	w.push("-m", "comment", "--comment", "kubernetes service traffic requiring SNAT", "-j", "MASQUERADE")
	if n.randomFully {
		w.push("--random-fully")
	}
	w.end(p.natPostrouting)
	w.add(p.natMarkMasq, "-j", "MARK", "--or-mark", n.mark)

	if n.localhostNodePorts {
		// route_localnet lets 127.0.0.1 NodePorts be DNATed off the node; this rule
		// closes the hole it opens (kubernetes issue 90259).
		w.add(p.kubeletFirewall, "-m", "comment", "--comment", "block incoming localnet connections",
			"-d", "127.0.0.0/8", "!", "-s", "127.0.0.0/8",
			"-m", "conntrack", "!", "--ctstate", "RELATED,ESTABLISHED,DNAT", "-j", "DROP")
	}
}

// writeTrailingRules writes the rules every sync writes after the services.
func (p *proxier) writeTrailingRules() {
	w, n := &p.w, &p.n
	const lastRuleComment = "kubernetes service nodeports; NOTE: this must be the last rule in this chain"
	if n.nodePortsMatchAll {
		w.begin()
		w.push("-m", "comment", "--comment", lastRuleComment, "-m", "addrtype", "--dst-type", "LOCAL")
		if !n.localhostNodePorts {
			w.push("!", "-d", "127.0.0.0/8")
		}
		w.push("-j", chainNodePorts)
		w.end(p.natServices)
	} else {
		for _, ip := range n.nodePortIPs {
			if ip == loopback.String() && !n.localhostNodePorts {
				continue
			}
			w.add(p.natServices, "-m", "comment", "--comment", lastRuleComment, "-d", ip, "-j", chainNodePorts)
		}
	}

	if !n.tcpLiberal {
		// INVALID packets would otherwise reach pods un-DNATed and reset connections
		// (kubernetes issues 74839, 117924).
		w.begin()
		w.push("-m", "conntrack", "--ctstate", "INVALID")
		if n.nfacct {
			w.push("-m", "nfacct", "--nfacct-name", nfacctInvalidDropped)
		}
		w.push("-j", "DROP")
		w.end(p.filterForward)
	}
	w.add(p.filterForward, "-m", "comment", "--comment", "kubernetes forwarding rules",
		"-m", "mark", "--mark", n.markAndMask, "-j", "ACCEPT")
	w.add(p.filterForward, "-m", "comment", "--comment", "kubernetes forwarding conntrack rule",
		"-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT")
}

// jumpRule is one jump kube-proxy ensures from a built-in chain into its own chains.
type jumpRule struct {
	table, from, to, comment string
	extra                    []string
}

var ctstateNew = []string{"-m", "conntrack", "--ctstate", "NEW"}

// kubeProxyJumps are ensured, in this order, with "iptables -I" (prepend) on every full
// sync; kubeletJumps are kube-proxy's copies of the kubelet's jumps.
var (
	kubeProxyJumps = []jumpRule{
		{"filter", "INPUT", chainExternalServices, "kubernetes externally-visible service portals", ctstateNew},
		{"filter", "FORWARD", chainExternalServices, "kubernetes externally-visible service portals", ctstateNew},
		{"filter", "INPUT", chainNodePorts, "kubernetes health check service ports", nil},
		{"filter", "FORWARD", chainServices, "kubernetes service portals", ctstateNew},
		{"filter", "OUTPUT", chainServices, "kubernetes service portals", ctstateNew},
		{"filter", "FORWARD", chainForward, "kubernetes forwarding rules", nil},
		{"filter", "INPUT", chainProxyFirewall, "kubernetes load balancer firewall", ctstateNew},
		{"filter", "OUTPUT", chainProxyFirewall, "kubernetes load balancer firewall", ctstateNew},
		{"filter", "FORWARD", chainProxyFirewall, "kubernetes load balancer firewall", ctstateNew},
		{"nat", "OUTPUT", chainServices, "kubernetes service portals", nil},
		{"nat", "PREROUTING", chainServices, "kubernetes service portals", nil},
		{"nat", "POSTROUTING", chainPostrouting, "kubernetes postrouting rules", nil},
	}
	kubeletJumps = []jumpRule{
		{"filter", "INPUT", chainKubeletFirewall, "", nil},
		{"filter", "OUTPUT", chainKubeletFirewall, "", nil},
	}
)

// addJumpRules replays kube-proxy's EnsureRule(Prepend) calls on empty built-in chains:
// each jump is inserted at position 1 unless an identical rule exists, so the last one
// ensured ends up first. With kubeletFirst the kubelet's own EnsureRule(Prepend) calls
// come before them.
func addJumpRules(rs *rules.Ruleset, kubeletFirst bool) {
	order := slices.Concat(kubeProxyJumps, kubeletJumps)
	if kubeletFirst {
		order = slices.Concat(kubeletJumps, kubeProxyJumps)
	}
	for i, j := range order {
		origin := kubeProxyOrigin
		if kubeletFirst && i < len(kubeletJumps) {
			origin = kubeletOrigin
		}
		args := slices.Clone(j.extra)
		if j.comment != "" {
			args = append(args, "-m", "comment", "--comment", j.comment)
		}
		args = append(args, "-j", j.to)
		c := rs.Table(j.table).Lookup(j.from)
		if slices.ContainsFunc(c.Rules, func(r rules.Rule) bool { return slices.Equal(r.Args, args) }) {
			continue
		}
		c.Rules = slices.Insert(c.Rules, 0, rules.Rule{Args: args, Origin: origin})
	}
}
