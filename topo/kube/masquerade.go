package kube

import (
	"errors"
	"fmt"
	"slices"

	"github.com/labctl/labctl/topo/rules"
)

// MasqueradeMode chooses who masquerades Pod traffic leaving the node.
type MasqueradeMode string

// Masquerade modes.
const (
	// MasqueradeFlannel: flannel's FLANNEL-POSTRTG and FLANNEL-FWD chains (v0.25+):
	// traffic inside the cluster CIDR keeps its addresses, the rest is masqueraded.
	MasqueradeFlannel MasqueradeMode = "flannel"
	// MasqueradeDockerDefault: Docker's bridge rule, everything from the Pod CIDR not
	// leaving through the bridge is masqueraded, Pod-to-remote-Pod traffic included.
	MasqueradeDockerDefault MasqueradeMode = "docker-default"
	// MasqueradeDockerOptimized: the hand-made variant popular in binary-install
	// tutorials, which exempts the cluster CIDR so remote Pods see Pod addresses.
	MasqueradeDockerOptimized MasqueradeMode = "docker-optimized"
	// MasqueradeIPMasqAgent: ip-masq-agent's IP-MASQ-AGENT chain.
	MasqueradeIPMasqAgent MasqueradeMode = "ip-masq-agent"
	// MasqueradeNone: no masquerade rule at all.
	MasqueradeNone MasqueradeMode = "none"
)

// MasqueradeConfig describes the Pod masquerade of one node.
type MasqueradeConfig struct {
	Mode MasqueradeMode
	// PodCIDR is the node's Pod subnet (flannel's lease, Docker's --bip network).
	PodCIDR string
	// ClusterCIDR is the cluster's Pod network (flannel's "Network").
	ClusterCIDR string
	// Bridge is the Pod bridge of the Docker modes (default docker0).
	Bridge string
	// RandomFully appends --random-fully to MASQUERADE rules. Default true: flannel
	// adds it whenever iptables supports it, and ip-masq-agent's --random-fully flag
	// defaults to true (see addIPMasqAgentRules).
	RandomFully *bool
	// FlannelForwardRules adds FLANNEL-FWD (flannel's --iptables-forward-rules,
	// default true).
	FlannelForwardRules *bool
	// NonMasqueradeCIDRs are ip-masq-agent's destinations kept unmasqueraded
	// (nil: its default, the RFC 1918 ranges).
	NonMasqueradeCIDRs []string
	// MasqLinkLocal masquerades traffic to 169.254.0.0/16 too (ip-masq-agent).
	MasqLinkLocal bool
}

// flannelKubeProxyMark is the mark flannel leaves to kube-proxy, fixed in flannel's
// source whatever kube-proxy's masquerade bit is.
const flannelKubeProxyMark = "0x4000/0x4000"

const ipMasqAgentChain = "IP-MASQ-AGENT"

// AddMasqueradeRules adds the node's Pod masquerade rules to rs, where they land as on a
// real node. Call it after adding kube-proxy's rules: flannel and ip-masq-agent append
// their POSTROUTING jumps, so kube-proxy's prepended KUBE-POSTROUTING jump stays first;
// the optimized Docker rule is inserted at the top of POSTROUTING, as "iptables -I"
// put it.
func AddMasqueradeRules(rs *rules.Ruleset, cfg MasqueradeConfig) error {
	switch cfg.Mode {
	case MasqueradeNone:
		return nil
	case MasqueradeFlannel:
		return addFlannelRules(rs, cfg)
	case MasqueradeDockerDefault, MasqueradeDockerOptimized:
		return addDockerRule(rs, cfg)
	case MasqueradeIPMasqAgent:
		return addIPMasqAgentRules(rs, cfg)
	}
	return fmt.Errorf("masquerade: unknown mode %q (want flannel, docker-default, docker-optimized, ip-masq-agent or none)", cfg.Mode)
}

// requiredCIDR parses a CIDR field of the config, which must be set.
func (cfg MasqueradeConfig) requiredCIDR(field, value string) (string, error) {
	if value == "" {
		return "", fmt.Errorf("masquerade %s: %s is required", cfg.Mode, field)
	}
	p, err := parseCIDRSloppy(value)
	if err != nil {
		return "", fmt.Errorf("masquerade %s: %s: %w", cfg.Mode, field, err)
	}
	return p.String(), nil
}

// podAndClusterCIDR returns the two CIDRs flannel and optimized Docker need.
func (cfg MasqueradeConfig) podAndClusterCIDR() (pod, cluster string, err error) {
	pod, podErr := cfg.requiredCIDR("podCIDR", cfg.PodCIDR)
	cluster, clusterErr := cfg.requiredCIDR("clusterCIDR", cfg.ClusterCIDR)
	return pod, cluster, errors.Join(podErr, clusterErr)
}

// addFlannelRules writes flannel's masqRules and forwardRules (pkg/trafficmngr/iptables).
func addFlannelRules(rs *rules.Ruleset, cfg MasqueradeConfig) error {
	pod, cluster, err := cfg.podAndClusterCIDR()
	if err != nil {
		return err
	}
	o := rules.Origin{By: "flannel"}
	masquerade := []string{"-j", "MASQUERADE"}
	if cfg.RandomFully == nil || *cfg.RandomFully {
		masquerade = append(masquerade, "--random-fully")
	}
	const chain = "FLANNEL-POSTRTG"
	masqRule := func(match []string, target ...string) {
		rs.Append("nat", chain, o, slices.Concat(match, []string{"-m", "comment", "--comment", "flanneld masq"}, target)...)
	}
	rs.Table("nat").Chain(chain, o)
	rs.Append("nat", "POSTROUTING", o, "-m", "comment", "--comment", "flanneld masq", "-j", chain)
	// kube-proxy's KUBE-POSTROUTING masquerades marked packets; masquerading them here
	// too triggered a double-NAT bug on some kernels.
	masqRule([]string{"-m", "mark", "--mark", flannelKubeProxyMark}, "-j", "RETURN")
	// Pod-to-Pod traffic inside the overlay keeps its addresses.
	masqRule([]string{"-s", pod, "-d", cluster}, "-j", "RETURN")
	masqRule([]string{"-s", cluster, "-d", pod}, "-j", "RETURN")
	// External traffic to a local Pod (e.g. a NodePort with eTP=Local) keeps its source.
	masqRule([]string{"!", "-s", cluster, "-d", pod}, "-j", "RETURN")
	// Pods leaving the cluster, except multicast, are masqueraded...
	masqRule([]string{"-s", cluster, "!", "-d", "224.0.0.0/4"}, masquerade...)
	// ...and so is the host talking to Pods over the overlay.
	masqRule([]string{"!", "-s", cluster, "-d", cluster}, masquerade...)

	if cfg.FlannelForwardRules != nil && !*cfg.FlannelForwardRules {
		return nil
	}
	const fwd = "FLANNEL-FWD"
	rs.Table("filter").Chain(fwd, o)
	rs.Append("filter", "FORWARD", o, "-m", "comment", "--comment", "flanneld forward", "-j", fwd)
	rs.Append("filter", fwd, o, "-s", cluster, "-m", "comment", "--comment", "flanneld forward", "-j", "ACCEPT")
	rs.Append("filter", fwd, o, "-d", cluster, "-m", "comment", "--comment", "flanneld forward", "-j", "ACCEPT")
	return nil
}

// addDockerRule writes Docker's bridge masquerade rule, or its optimized variant.
func addDockerRule(rs *rules.Ruleset, cfg MasqueradeConfig) error {
	bridge := cfg.Bridge
	if bridge == "" {
		bridge = "docker0"
	}
	o := rules.Origin{By: "docker"}
	if cfg.Mode == MasqueradeDockerDefault {
		pod, err := cfg.requiredCIDR("podCIDR", cfg.PodCIDR)
		if err != nil {
			return err
		}
		rs.Append("nat", "POSTROUTING", o, "-s", pod, "!", "-o", bridge, "-j", "MASQUERADE")
		return nil
	}
	pod, cluster, err := cfg.podAndClusterCIDR()
	if err != nil {
		return err
	}
	postrouting := rs.Table("nat").Lookup("POSTROUTING")
	return postrouting.Insert(1, rules.Rule{
		Args:   []string{"-s", pod, "!", "-d", cluster, "!", "-o", bridge, "-j", "MASQUERADE"},
		Origin: o,
	})
}

// addIPMasqAgentRules writes ip-masq-agent's chain: RETURN for link-local and each
// non-masquerade CIDR, MASQUERADE for the rest, reached from POSTROUTING for every packet
// not addressed to the node itself.
//
// The rule is that of kubernetes-sigs/ip-masq-agent's current source with its default
// flags: "-j MASQUERADE --random-fully". --random-fully arrived in v2.10.0 (PR 108) and
// its flag defaults to true (PR 126); releases before v2.10.0 wrote a plain
// "-j MASQUERADE" (RandomFully false gives it). "--to-ports" is opt-in (the --to-ports
// flag, PR 162) and then written per protocol, since iptables refuses --to-ports
// without "-p tcp|udp|sctp"; a revision that appended "--to-ports 32768-65535" to the
// protocol-less rule could not have loaded, so labctl does not copy it.
func addIPMasqAgentRules(rs *rules.Ruleset, cfg MasqueradeConfig) error {
	o := rules.Origin{By: "ip-masq-agent"}
	nonMasq := cfg.NonMasqueradeCIDRs
	if nonMasq == nil {
		nonMasq = []string{"10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"}
	}
	var dests []string
	if !cfg.MasqLinkLocal {
		dests = append(dests, "169.254.0.0/16")
	}
	var errs []error
	for _, c := range nonMasq {
		p, err := parseCIDRSloppy(c)
		if err != nil {
			errs = append(errs, fmt.Errorf("masquerade ip-masq-agent: nonMasqueradeCIDRs: %w", err))
			continue
		}
		if p.Addr().Is4() {
			dests = append(dests, p.String())
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	rs.Table("nat").Chain(ipMasqAgentChain, o)
	rs.Append("nat", "POSTROUTING", o, "-m", "comment", "--comment",
		"ip-masq-agent: ensure nat POSTROUTING directs all non-LOCAL destination traffic to our custom IP-MASQ-AGENT chain",
		"-m", "addrtype", "!", "--dst-type", "LOCAL", "-j", ipMasqAgentChain)
	for _, d := range dests {
		rs.Append("nat", ipMasqAgentChain, o, "-m", "comment", "--comment",
			"ip-masq-agent: local traffic is not subject to MASQUERADE", "-d", d, "-j", "RETURN")
	}
	masq := []string{"-m", "comment", "--comment",
		"ip-masq-agent: outbound traffic is subject to MASQUERADE (must be last in chain)", "-j", "MASQUERADE"}
	if cfg.RandomFully == nil || *cfg.RandomFully {
		masq = append(masq, "--random-fully")
	}
	rs.Append("nat", ipMasqAgentChain, o, masq...)
	return nil
}
