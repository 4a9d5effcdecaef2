// Package topo reads lab files: strict YAML decoding with positions, validation that
// reports every problem with file:line:col and a hint, and compilation into a plan
// (package topo/plan). It never touches the kernel.
package topo

import (
	"fmt"
	"strconv"
	"strings"
)

// APIVersion is the lab file format this package reads.
const APIVersion = "labctl.dev/v1"

// Lab is a lab file: hosts (network namespaces), the L2 segments and point-to-point links
// that join them, and the Kubernetes cluster, probes and steps built on top of them.
type Lab struct {
	Meta        `yaml:"-"`
	File        string    `yaml:"-"`
	APIVersion  string    `yaml:"apiVersion" required:"true" enum:"labctl.dev/v1" doc:"Lab file format version."`
	Kind        string    `yaml:"kind" required:"true" enum:"Lab" doc:"Always Lab."`
	Name        string    `yaml:"name" required:"true" doc:"Lab name: lowercase letters, digits and '-', at most 24 characters. Namespaces are named lc.<name>.<host>."`
	Description string    `yaml:"description" doc:"What the lab shows; printed by labctl plan and up."`
	Options     Options   `yaml:"options" doc:"Lab-wide settings."`
	Machines    []Machine `yaml:"machines" doc:"Machines the lab spreads over (see docs/multi-machine.md): each runs its share with labctl up --machine NAME; links and networks joining hosts of different machines become VXLAN tunnels over the underlay."`
	Networks    []Network `yaml:"networks" doc:"L2 segments: each a Linux bridge in a namespace of its own that hosts attach to."`
	Hosts       []Host    `yaml:"hosts" doc:"Hosts: each becomes a network namespace with its own interfaces, routes, sysctls and iptables rules."`
	Links       []Link    `yaml:"links" doc:"Point-to-point veth pairs between two hosts."`
	Cluster     *Cluster  `yaml:"cluster" doc:"A Kubernetes cluster: nodes, Pods, Services and a cloud load balancer, expanded into hosts, links and kube-proxy's rules."`
	Probes      []Probe   `yaml:"probes" doc:"Probes labctl verify runs: real traffic from a host, and what must happen (who answers, the source they see, NAT entries, rules hit)."`
	Steps       []Step    `yaml:"steps" doc:"An ordered scenario: run probes, change rules, run commands, wait. Probes no step names run first, in file order."`
}

// Options are lab-wide settings.
type Options struct {
	Meta       `yaml:"-"`
	IPTables   string `yaml:"iptables" enum:"nft,legacy" default:"nft" doc:"iptables backend used to load rules: nft (iptables-nft, the default of current distributions) or legacy (iptables-legacy)."`
	IPv6       bool   `yaml:"ipv6" doc:"Keep IPv6 enabled in lab namespaces (default off: no link-local chatter, faster builds)."`
	TunnelPort int    `yaml:"tunnelPort" doc:"Lab spread over machines: UDP port of its VXLAN tunnels (default: derived from the lab name, between 24000 and 31999)."`
	// StaticNeighbors: see neighbors.go.
	StaticNeighbors AutoBool `yaml:"staticNeighbors" default:"auto" doc:"Fixed MACs and a permanent ARP entry for every address of each segment, so no ARP is needed: true, false, or auto (the default: on for labs of more than 200 hosts, whose ARP entries would not fit the kernel's machine-wide neighbour table)."`
}

// Network is an L2 segment: a bridge in its own namespace, never in the root namespace.
type Network struct {
	Meta `yaml:"-"`
	Name string `yaml:"name" required:"true" doc:"Network name, unique among hosts and networks."`
	CIDR string `yaml:"cidr" doc:"Subnet of the segment; interfaces attached without an address get the next free one."`
	MTU  int    `yaml:"mtu" doc:"MTU of the bridge and of every interface attached to it (default 1500)."`
}

// Host is one network namespace: a container-less Linux host.
type Host struct {
	Meta        `yaml:"-"`
	Name        string            `yaml:"name" required:"true" doc:"Host name: lowercase letters, digits and '-', unique among hosts and networks."`
	Description string            `yaml:"description" doc:"What this host stands for."`
	Interfaces  []Interface       `yaml:"interfaces" doc:"Interfaces attached to networks or to a bridge inside another host. A plain string is a network name, or host/bridge."`
	Bridges     []Bridge          `yaml:"bridges" doc:"Bridges inside this host, like a node's cni0 or docker0 holding its Pods' veths."`
	Loopback    []string          `yaml:"loopback" doc:"Extra addresses on lo, e.g. a VIP the host owns (a bare IP means /32)."`
	Routes      []Route           `yaml:"routes" doc:"Static routes."`
	Forwarding  bool              `yaml:"forwarding" doc:"Route packets between interfaces (net.ipv4.ip_forward=1)."`
	Sysctls     map[string]string `yaml:"sysctls" doc:"net.* sysctls of this namespace, e.g. net.ipv4.conf.all.rp_filter: 0."`
	IPTables    string            `yaml:"iptables" doc:"NAT and filter rules, as iptables command lines (iptables -t nat -A ...) or as iptables-restore text."`
	Commands    []Command         `yaml:"commands" doc:"Commands run in the host after the lab is built, in order. A plain string must exit 0; background: true keeps a server running until labctl down."`
	Servers     []Server          `yaml:"servers" doc:"Ports on which the labctl agent answers probes in this host: 8080, \"53/udp\", \"80/http\" or an object."`
	Machine     string            `yaml:"machine" doc:"Lab spread over machines: the machine this host runs on (default: the machine of the host whose bridge it attaches to, else the first machine)."`
}

// Interface attaches a host to a network or to a bridge of another host.
type Interface struct {
	Meta    `yaml:"-"`
	Name    string `yaml:"name" doc:"Interface name in the host (default eth0, eth1, ... in order)."`
	Network string `yaml:"network" doc:"Network to attach to."`
	Bridge  string `yaml:"bridge" doc:"Bridge inside another host to attach to, as host/bridge (e.g. node-1/cni0)."`
	Address string `yaml:"address" doc:"Address with or without prefix length (the segment's prefix length is used); omitted or auto: the next free address of the segment; none: no address."`
	Hairpin *bool  `yaml:"hairpin" doc:"Hairpin mode of the bridge port: let frames go back out the port they came in (default: the bridge's setting)."`
	MTU     int    `yaml:"mtu" doc:"Interface MTU (default: the segment's)."`
}

func (i *Interface) fromScalar(s string) error {
	if strings.Contains(s, "/") {
		i.Bridge = s
	} else {
		i.Network = s
	}
	return nil
}

// Bridge is a Linux bridge inside a host.
type Bridge struct {
	Meta    `yaml:"-"`
	Name    string `yaml:"name" required:"true" doc:"Bridge name, e.g. cni0 or docker0."`
	Address string `yaml:"address" doc:"Address of the bridge itself with prefix length, e.g. 10.244.1.1/24 (the Pods' gateway)."`
	Hairpin *bool  `yaml:"hairpin" doc:"Default hairpin mode of the bridge's ports (default true, as CNI's bridge plugin with hairpinMode)."`
	MTU     int    `yaml:"mtu" doc:"Bridge MTU (default 1500)."`
}

// Route is a static route.
type Route struct {
	Meta `yaml:"-"`
	To   string `yaml:"to" required:"true" doc:"Destination CIDR, or default."`
	Via  string `yaml:"via" doc:"Gateway: an IP, or the name of a host sharing a segment with this one."`
	Dev  string `yaml:"dev" doc:"Output interface (default: the one that reaches the gateway)."`
	Src  string `yaml:"src" doc:"Preferred source address."`
}

// Command is run inside a host once the lab is built.
type Command struct {
	Meta       `yaml:"-"`
	Run        string `yaml:"run" required:"true" doc:"Shell command (run with /bin/sh -c)."`
	Background bool   `yaml:"background" doc:"Keep it running (a server) instead of waiting for it; stopped by labctl down."`
}

func (c *Command) fromScalar(s string) error { c.Run = s; return nil }

// Server is a port on which the labctl agent answers probes, telling who it is and
// which client address it saw.
type Server struct {
	Meta     `yaml:"-"`
	Port     int    `yaml:"port" required:"true" doc:"Port to listen on."`
	Protocol string `yaml:"protocol" enum:"tcp,udp,http" default:"tcp" doc:"tcp, udp or http."`
	ProxyTo  string `yaml:"proxyTo" doc:"http only: act as an L7 proxy to this ip:port, adding X-Forwarded-For (like an ingress controller)."`
}

func (s *Server) fromScalar(v string) error {
	port, proto, _ := strings.Cut(v, "/")
	n, err := strconv.Atoi(port)
	if err != nil {
		return fmt.Errorf("server %q: want a port, port/protocol (e.g. 53/udp) or an object", v)
	}
	s.Port, s.Protocol = n, proto
	return nil
}

// Link is a point-to-point veth pair between two hosts.
type Link struct {
	Meta    `yaml:"-"`
	Between []LinkEnd `yaml:"between" required:"true" doc:"The two ends: host, host:interface, or an object with host, name and address."`
	CIDR    string    `yaml:"cidr" doc:"Subnet of the link; ends without an address get the first free ones."`
	MTU     int       `yaml:"mtu" doc:"MTU of both ends (default 1500)."`
}

// LinkEnd is one end of a Link.
type LinkEnd struct {
	Meta    `yaml:"-"`
	Host    string `yaml:"host" required:"true" doc:"Host of this end."`
	Name    string `yaml:"name" doc:"Interface name in the host (default: the next ethN)."`
	Address string `yaml:"address" doc:"Address of this end (default: the next free address of the link's cidr)."`
}

func (e *LinkEnd) fromScalar(s string) error {
	e.Host, e.Name, _ = strings.Cut(s, ":")
	return nil
}
