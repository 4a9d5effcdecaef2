package kube

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
)

// DetectLocalMode is kube-proxy's --detect-local-mode: how it tells pod traffic (which
// keeps its source address) from traffic that must be masqueraded.
type DetectLocalMode string

// Local-traffic detection modes.
const (
	// DetectLocalClusterCIDR: traffic from the cluster CIDR ("-s <cidr>") is local.
	DetectLocalClusterCIDR DetectLocalMode = "ClusterCIDR"
	// DetectLocalNodeCIDR: traffic from the node's Pod CIDR ("-s <cidr>") is local; the
	// rules are those of ClusterCIDR with the node's CIDR as the value.
	DetectLocalNodeCIDR DetectLocalMode = "NodeCIDR"
	// DetectLocalBridgeInterface: traffic entering from the CNI bridge ("-i <bridge>").
	DetectLocalBridgeInterface DetectLocalMode = "BridgeInterface"
	// DetectLocalInterfaceNamePrefix: traffic entering from pod interfaces ("-i <prefix>+").
	DetectLocalInterfaceNamePrefix DetectLocalMode = "InterfaceNamePrefix"
	// DetectLocalNone: no detection, so no masquerade rule for ClusterIP traffic and no
	// pod short-circuit in KUBE-EXT chains.
	DetectLocalNone DetectLocalMode = "None"
)

// Config is the kube-proxy configuration of one node. Pointer fields are nil for the
// kube-proxy default, as in KubeProxyConfiguration.
type Config struct {
	// NodeName decides which endpoints are local: those whose NodeName equals it.
	NodeName string
	// NodeIPs are the node's addresses. The first IPv4 one is kube-proxy's node IP
	// (loadBalancerSourceRanges that contain it also admit the LB IPs as sources); all
	// of them answer NodePorts when NodePortAddresses is set.
	NodeIPs []string
	// DetectLocalMode defaults to ClusterCIDR; DetectLocal is its value: the cluster
	// or node CIDR, the bridge name or the interface prefix. A CIDR mode with an empty
	// value detects nothing, as kube-proxy does without --cluster-cidr.
	DetectLocalMode DetectLocalMode
	DetectLocal     string
	// MasqueradeAll masquerades all ClusterIP traffic.
	MasqueradeAll bool
	// MasqueradeBit is the fwmark bit of KUBE-MARK-MASQ (default 14, mark 0x4000).
	MasqueradeBit *int32
	// RandomFully appends --random-fully to the MASQUERADE rule. Default true: every
	// iptables since 1.6.2 supports it and kube-proxy then always uses it.
	RandomFully *bool
	// LocalhostNodePorts makes NodePorts answer on 127.0.0.1 (default true); it needs
	// net.ipv4.conf.all.route_localnet=1 on the node.
	LocalhostNodePorts *bool
	// NodePortAddresses restricts NodePorts to node addresses in these CIDRs ("primary"
	// means the first node IP); empty means every local address.
	NodePortAddresses []string
	// NFAcctCounters adds kube-proxy's "-m nfacct" metric matches. Off by default: they
	// need the nfacct objects, which kube-proxy creates through netlink on a real node.
	NFAcctCounters bool
	// ConntrackTCPLiberal says net.netfilter.nf_conntrack_tcp_be_liberal is set, in which
	// case kube-proxy installs no DROP rule for INVALID packets.
	ConntrackTCPLiberal bool
	// KubeletFirewallFirst says the kubelet prepended its "-j KUBE-FIREWALL" jumps
	// (kubelet_network_linux.go) before kube-proxy started, as on real nodes, where
	// the kubelet starts kube-proxy: kube-proxy's prepended jumps then sit above them,
	// and kube-proxy's copies of the kubelet's jumps exist already (-C), so they stay
	// last. False is kube-proxy alone on empty chains, as in its unit tests.
	KubeletFirewallFirst bool
	// UnitTestMarkFormat writes the mark as kube-proxy's unit tests do ("0x4000")
	// instead of as kube-proxy formats it ("0x00004000"). The kernel stores the same
	// value; only the restore text differs.
	UnitTestMarkFormat bool
}

// Sysctls returns the sysctls kube-proxy itself sets on the node with this
// configuration: route_localnet, so that NodePorts on 127.0.0.1 can be DNATed off the
// node. (The conntrack sysctls it may tune are global to the kernel, not per node.)
func (c Config) Sysctls() map[string]string {
	n, err := c.settings()
	if err != nil || !n.localhostNodePorts {
		return nil
	}
	return map[string]string{"net.ipv4.conf.all.route_localnet": "1"}
}

// DefaultMasqueradeBit is kube-proxy's default masquerade bit.
const DefaultMasqueradeBit = 14

// nodeSettings is a Config resolved into the strings the rules use.
type nodeSettings struct {
	nodeName           string
	nodeIP             netip.Addr // invalid without an IPv4 node IP
	mark               string
	markAndMask        string
	ifLocal            []string
	ifNotLocal         []string
	masqueradeAll      bool
	randomFully        bool
	localhostNodePorts bool
	nodePortsMatchAll  bool
	nodePortIPs        []string
	// nodePortsOnLoopback: the NodePort addresses include 127.0.0.1.
	nodePortsOnLoopback bool
	nfacct              bool
	tcpLiberal          bool
	kubeletFirst        bool
}

func (c Config) settings() (nodeSettings, error) {
	var errs []error
	n := nodeSettings{
		nodeName:      c.NodeName,
		masqueradeAll: c.MasqueradeAll,
		randomFully:   c.RandomFully == nil || *c.RandomFully,
		nfacct:        c.NFAcctCounters,
		tcpLiberal:    c.ConntrackTCPLiberal,
		kubeletFirst:  c.KubeletFirewallFirst,
	}
	if c.NodeName == "" {
		errs = append(errs, errors.New("node name is empty"))
	}
	var nodeIPs []netip.Addr
	for _, s := range c.NodeIPs {
		ip, err := parseIPSloppy(s)
		if err != nil {
			errs = append(errs, fmt.Errorf("node IP: %w", err))
			continue
		}
		if ip.Is4() {
			nodeIPs = append(nodeIPs, ip)
		}
	}
	if len(nodeIPs) > 0 {
		n.nodeIP = nodeIPs[0]
	}

	bit := int32(DefaultMasqueradeBit)
	if c.MasqueradeBit != nil {
		bit = *c.MasqueradeBit
	}
	if bit < 0 || bit > 31 {
		errs = append(errs, fmt.Errorf("masquerade bit %d is outside 0..31", bit))
		bit = DefaultMasqueradeBit
	}
	if c.UnitTestMarkFormat {
		n.mark = fmt.Sprintf("%#x", uint32(1)<<bit)
	} else {
		n.mark = fmt.Sprintf("%#08x", uint32(1)<<bit)
	}
	n.markAndMask = n.mark + "/" + n.mark

	if err := n.setLocalDetector(c.DetectLocalMode, c.DetectLocal); err != nil {
		errs = append(errs, err)
	}
	if err := n.setNodePortAddresses(c.NodePortAddresses, nodeIPs); err != nil {
		errs = append(errs, err)
	}
	// Like kube-proxy: localhost NodePorts need the loopback address among the
	// NodePort addresses.
	n.localhostNodePorts = (c.LocalhostNodePorts == nil || *c.LocalhostNodePorts) && n.nodePortsOnLoopback
	if len(errs) > 0 {
		return n, fmt.Errorf("kube-proxy config of node %q: %w", c.NodeName, errors.Join(errs...))
	}
	return n, nil
}

func (n *nodeSettings) setLocalDetector(mode DetectLocalMode, value string) error {
	switch mode {
	case "", DetectLocalClusterCIDR, DetectLocalNodeCIDR:
		if value == "" {
			return nil
		}
		cidr, err := parseCIDRSloppy(value)
		if err != nil {
			return fmt.Errorf("detect-local %s: %w", cmp.Or(mode, DetectLocalClusterCIDR), err)
		}
		n.ifLocal = []string{"-s", cidr.String()}
		n.ifNotLocal = []string{"!", "-s", cidr.String()}
	case DetectLocalBridgeInterface:
		if value == "" {
			return errors.New("detect-local mode BridgeInterface needs the bridge name")
		}
		n.ifLocal = []string{"-i", value}
		n.ifNotLocal = []string{"!", "-i", value}
	case DetectLocalInterfaceNamePrefix:
		if value == "" {
			return errors.New("detect-local mode InterfaceNamePrefix needs the prefix")
		}
		n.ifLocal = []string{"-i", value + "+"}
		n.ifNotLocal = []string{"!", "-i", value + "+"}
	case DetectLocalNone:
	default:
		return fmt.Errorf("unknown detect-local mode %q (want ClusterCIDR, NodeCIDR, BridgeInterface, InterfaceNamePrefix or None)", mode)
	}
	return nil
}

// detectsLocal reports whether a local-traffic detector is configured.
func (n *nodeSettings) detectsLocal() bool { return n.ifLocal != nil }

var loopback = netip.MustParseAddr("127.0.0.1")

// setNodePortAddresses resolves --nodeport-addresses against the node's addresses; the
// loopback address counts as one, as lo always has it.
func (n *nodeSettings) setNodePortAddresses(cidrs []string, nodeIPs []netip.Addr) error {
	if len(cidrs) == 0 {
		n.nodePortsMatchAll, n.nodePortsOnLoopback = true, true
		return nil
	}
	var prefixes []netip.Prefix
	for _, s := range cidrs {
		if s == "primary" {
			if len(nodeIPs) > 0 {
				prefixes = append(prefixes, netip.PrefixFrom(nodeIPs[0], 32))
			}
			continue
		}
		p, err := parseCIDRSloppy(s)
		if err != nil {
			return fmt.Errorf("nodePortAddresses: %w", err)
		}
		if !p.Addr().Is4() {
			continue
		}
		if p.Bits() == 0 {
			n.nodePortsMatchAll, n.nodePortsOnLoopback = true, true
			n.nodePortIPs = nil
			return nil
		}
		prefixes = append(prefixes, p)
	}
	for _, ip := range append([]netip.Addr{loopback}, nodeIPs...) {
		for _, p := range prefixes {
			if p.Contains(ip) {
				n.nodePortIPs = append(n.nodePortIPs, ip.String())
				n.nodePortsOnLoopback = n.nodePortsOnLoopback || ip == loopback
				break
			}
		}
	}
	return nil
}
