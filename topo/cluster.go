package topo

import (
	"fmt"
	"strconv"
	"strings"
)

// Cluster is a Kubernetes cluster emulated without Kubernetes: nodes and Pods are
// namespaces, the CNI wiring is flannel's, Services are kube-proxy's iptables rules.
// labctl plan shows the plain hosts, links and rules it expands into.
type Cluster struct {
	Meta             `yaml:"-"`
	Network          string        `yaml:"network" default:"nodes" doc:"The node network (underlay), declared under networks; nodes get their addresses from it."`
	ClusterCIDR      string        `yaml:"clusterCIDR" default:"10.244.0.0/16" doc:"Pod network of the cluster; node Pod CIDRs are carved from it."`
	NodeCIDRMaskSize int           `yaml:"nodeCIDRMaskSize" default:"24" doc:"Prefix length of each node's Pod CIDR (kube-controller-manager --node-cidr-mask-size)."`
	ServiceCIDR      string        `yaml:"serviceCIDR" default:"10.96.0.0/12" doc:"Range ClusterIPs are allocated from."`
	CNI              CNI           `yaml:"cni" doc:"How Pods are wired: bridge, cross-node routing, masquerade."`
	KubeProxy        KubeProxy     `yaml:"kubeProxy" doc:"kube-proxy options that change its rules."`
	Gateway          string        `yaml:"gateway" doc:"Host the nodes use as default gateway (default: the load balancer, if any)."`
	Nodes            []ClusterNode `yaml:"nodes" required:"true" doc:"The nodes."`
	Pods             []Pod         `yaml:"pods" doc:"The Pods: each a namespace with one veth into its node's bridge and the agent answering on its ports."`
	Services         []Service     `yaml:"services" doc:"Services, compiled to kube-proxy's rules on every node."`
	LoadBalancer     *LoadBalancer `yaml:"loadBalancer" doc:"A cloud load balancer: a host outside the cluster that owns the LoadBalancer VIPs and forwards to nodeIP:nodePort."`
	Placement        string        `yaml:"placement" enum:"first,spread" default:"first" doc:"Lab spread over machines: where nodes without machine: go. first: the first machine; spread: node i on machine i mod (number of machines), round-robin. Pods go where their node is."`
}

// CNI selects the Pod wiring.
type CNI struct {
	Meta               `yaml:"-"`
	Backend            string   `yaml:"backend" enum:"host-gw,vxlan" default:"host-gw" doc:"Cross-node Pod routing as flannel does it: host-gw (routes via node IPs) or vxlan (a flannel.1 device per node)."`
	Bridge             string   `yaml:"bridge" default:"cni0" doc:"Name of each node's Pod bridge (cni0, or docker0 as in Docker-based setups)."`
	HairpinMode        *bool    `yaml:"hairpinMode" default:"true" doc:"Hairpin mode on the Pods' bridge ports, so a Pod can reach itself through a Service."`
	Masquerade         string   `yaml:"masquerade" enum:"flannel,docker-default,docker-optimized,ip-masq-agent,none" default:"flannel" doc:"Masquerade rules for Pod traffic: flannel's FLANNEL-POSTRTG, Docker's bridge default (-s podCIDR ! -o bridge), its optimized form (! -d clusterCIDR), ip-masq-agent, or none."`
	NonMasqueradeCIDRs []string `yaml:"nonMasqueradeCIDRs" doc:"ip-masq-agent: destinations reached with the Pod IP kept (default: the RFC 1918 ranges, as ip-masq-agent)."`
	VNI                int      `yaml:"vni" default:"1" doc:"vxlan: VXLAN network identifier (flannel.<vni>)."`
	Port               int      `yaml:"port" default:"8472" doc:"vxlan: UDP port (flannel's default 8472)."`
}

// KubeProxy holds the kube-proxy options that change its rules.
type KubeProxy struct {
	Meta               `yaml:"-"`
	Mode               string `yaml:"mode" enum:"iptables" default:"iptables" doc:"Proxy mode; labctl emulates iptables mode."`
	DetectLocal        string `yaml:"detectLocal" enum:"ClusterCIDR,NodeCIDR,BridgeInterface,InterfaceNamePrefix,None" default:"ClusterCIDR" doc:"How kube-proxy tells Pod traffic from other traffic (--detect-local-mode)."`
	InterfacePrefix    string `yaml:"interfacePrefix" doc:"InterfaceNamePrefix mode (required there, as kube-proxy's --pod-interface-name-prefix): prefix of the interfaces Pod traffic enters the node by. Pods here hang off a bridge, so their packets enter by the bridge and a veth prefix marks every one for masquerade; BridgeInterface matches them."`
	MasqueradeAll      bool   `yaml:"masqueradeAll" doc:"Masquerade all traffic to ClusterIPs (--masquerade-all)."`
	MasqueradeBit      *int   `yaml:"masqueradeBit" default:"14" doc:"fwmark bit of KUBE-MARK-MASQ (14 gives 0x4000)."`
	RandomFully        *bool  `yaml:"randomFully" default:"true" doc:"Add --random-fully to KUBE-POSTROUTING's MASQUERADE."`
	LocalhostNodePorts *bool  `yaml:"localhostNodePorts" default:"true" doc:"Answer NodePorts on 127.0.0.1 (sets route_localnet on nodes)."`
}

// ClusterNode is a Kubernetes node.
type ClusterNode struct {
	Meta        `yaml:"-"`
	Name        string `yaml:"name" required:"true" doc:"Node name."`
	Address     string `yaml:"address" doc:"Node IP on the node network (default: the next free address)."`
	PodCIDR     string `yaml:"podCIDR" doc:"This node's Pod CIDR (default: the next free block of the cluster CIDR)."`
	HairpinMode *bool  `yaml:"hairpinMode" doc:"Override cni.hairpinMode on this node, e.g. false to show a Pod failing to reach itself through its Service."`
	IPTables    string `yaml:"iptables" doc:"iptables command lines applied on top of the rules kube-proxy and the CNI generate for this node, e.g. to delete one and see what breaks."`
	Machine     string `yaml:"machine" doc:"Lab spread over machines: the machine this node (and its Pods) runs on (default: per cluster.placement)."`
}

// Pod is a Pod: a namespace with one veth into its node's bridge.
type Pod struct {
	Meta      `yaml:"-"`
	Name      string            `yaml:"name" required:"true" doc:"Pod name (also the host name in probes and labctl exec)."`
	Namespace string            `yaml:"namespace" default:"default" doc:"Kubernetes namespace."`
	Node      string            `yaml:"node" required:"true" doc:"Node the Pod runs on."`
	Address   string            `yaml:"address" doc:"Pod IP (default: the next free address of the node's Pod CIDR)."`
	Labels    map[string]string `yaml:"labels" doc:"Labels, matched by Service selectors."`
	Ports     []ContainerPort   `yaml:"ports" doc:"Container ports; the agent answers on each: 8080, \"53/udp\" or {name, port, protocol}."`
	Ready     *bool             `yaml:"ready" default:"true" doc:"Readiness: not-ready Pods are not Service endpoints."`
	Servers   []Server          `yaml:"servers" doc:"Extra agent listeners, e.g. an http proxy with proxyTo (ingress controller)."`
}

// ContainerPort is a port a Pod's container listens on.
type ContainerPort struct {
	Meta     `yaml:"-"`
	Name     string `yaml:"name" doc:"Port name, usable as a Service targetPort."`
	Port     int    `yaml:"port" required:"true" doc:"Port number."`
	Protocol string `yaml:"protocol" enum:"TCP,UDP,tcp,udp" default:"TCP" doc:"TCP or UDP."`
}

func (p *ContainerPort) fromScalar(s string) error {
	port, proto, _ := strings.Cut(s, "/")
	n, err := strconv.Atoi(port)
	if err != nil {
		return fmt.Errorf("port %q: want a number, number/protocol (53/udp) or an object", s)
	}
	p.Port, p.Protocol = n, strings.ToUpper(proto)
	return nil
}

// Service is a Kubernetes Service.
type Service struct {
	Meta                          `yaml:"-"`
	Name                          string            `yaml:"name" required:"true" doc:"Service name."`
	Namespace                     string            `yaml:"namespace" default:"default" doc:"Kubernetes namespace."`
	Type                          string            `yaml:"type" enum:"ClusterIP,NodePort,LoadBalancer" default:"ClusterIP" doc:"Service type."`
	ClusterIP                     string            `yaml:"clusterIP" doc:"ClusterIP (default: the next free address of the service CIDR)."`
	Selector                      map[string]string `yaml:"selector" doc:"Pods whose labels match are the endpoints."`
	Endpoints                     []ServiceEndpoint `yaml:"endpoints" doc:"Explicit endpoints for a Service without selector: Pod names or IPs."`
	Ports                         []ServicePort     `yaml:"ports" required:"true" doc:"Ports: several, named, TCP or UDP."`
	ExternalTrafficPolicy         string            `yaml:"externalTrafficPolicy" enum:"Cluster,Local" default:"Cluster" doc:"Local keeps the client IP but only nodes with a local endpoint answer."`
	InternalTrafficPolicy         string            `yaml:"internalTrafficPolicy" enum:"Cluster,Local" default:"Cluster" doc:"Local sends ClusterIP traffic only to endpoints on the same node."`
	SessionAffinity               string            `yaml:"sessionAffinity" enum:"None,ClientIP" default:"None" doc:"ClientIP sends a client to the same endpoint every time."`
	SessionAffinityTimeoutSeconds int               `yaml:"sessionAffinityTimeoutSeconds" default:"10800" doc:"sessionAffinityConfig.clientIP.timeoutSeconds."`
	ExternalIPs                   []string          `yaml:"externalIPs" doc:"External IPs captured on every node."`
	LoadBalancerIP                string            `yaml:"loadBalancerIP" doc:"VIP of a LoadBalancer Service, owned by the cluster's load balancer host (default: the next free address of the load balancer's VIP range)."`
	LoadBalancerSourceRanges      []string          `yaml:"loadBalancerSourceRanges" doc:"Client ranges allowed to use the VIP (KUBE-FW chain)."`
	HealthCheckNodePort           int               `yaml:"healthCheckNodePort" doc:"Health check node port of an externalTrafficPolicy: Local LoadBalancer (default: allocated)."`
}

// ServicePort is one port of a Service.
type ServicePort struct {
	Meta       `yaml:"-"`
	Name       string `yaml:"name" doc:"Port name; required when the Service has several ports."`
	Protocol   string `yaml:"protocol" enum:"TCP,UDP,tcp,udp" default:"TCP" doc:"TCP or UDP."`
	Port       int    `yaml:"port" required:"true" doc:"Service port."`
	TargetPort string `yaml:"targetPort" types:"integer,string" doc:"Container port number or name (default: port)."`
	NodePort   int    `yaml:"nodePort" doc:"NodePort for NodePort and LoadBalancer Services (default: allocated from 30000-32767)."`
}

// ServiceEndpoint is an explicit endpoint of a Service without selector.
type ServiceEndpoint struct {
	Meta  `yaml:"-"`
	Pod   string `yaml:"pod" doc:"A Pod of the cluster."`
	IP    string `yaml:"ip" doc:"Or an IP (e.g. an API server outside the Pod network)."`
	Node  string `yaml:"node" doc:"Node the IP is on, for traffic policies (default: the node owning the IP, if any)."`
	Ready *bool  `yaml:"ready" default:"true" doc:"Ready condition."`
}

func (e *ServiceEndpoint) fromScalar(s string) error {
	if strings.ContainsAny(s, ".:") {
		e.IP = s
	} else {
		e.Pod = s
	}
	return nil
}

// LoadBalancer is the cloud load balancer in front of the cluster.
type LoadBalancer struct {
	Meta     `yaml:"-"`
	Name     string `yaml:"name" default:"lb" doc:"Host name of the load balancer."`
	Mode     string `yaml:"mode" enum:"dnat,proxy" default:"dnat" doc:"dnat forwards keeping the client's source address; proxy also SNATs to the load balancer's own address."`
	Network  string `yaml:"network" required:"true" doc:"External network the load balancer faces (clients reach the VIPs through it)."`
	Address  string `yaml:"address" doc:"Its address on the external network (default: next free)."`
	VIPRange string `yaml:"vipRange" default:"198.51.100.0/24" doc:"Range LoadBalancer VIPs are allocated from when a Service gives none."`
	Machine  string `yaml:"machine" doc:"Lab spread over machines: the machine the load balancer runs on (default: the first)."`
}
