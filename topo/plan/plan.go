// Package plan is the compiled form of a lab: every namespace, link, address, route,
// sysctl, ruleset and process labctl will create, with kernel names already chosen.
// It is plain data. topo builds it; node realises it; labctl plan prints it.
package plan

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"net/netip"

	"github.com/labctl/labctl/topo/rules"
)

// NetNSPrefix starts the name of every network namespace labctl creates.
const NetNSPrefix = "lc."

// NetNSName is the kernel name of a lab namespace: lc.<instance>.<name>.
func NetNSName(instance, name string) string { return NetNSPrefix + instance + "." + name }

// InstancePrefix is the name prefix shared by every namespace of a lab instance.
func InstancePrefix(instance string) string { return NetNSPrefix + instance + "." }

// Kinds of namespace.
const (
	KindHost         = "host"
	KindNetwork      = "network"
	KindNode         = "node"
	KindPod          = "pod"
	KindLoadBalancer = "loadbalancer"
)

// Plan is everything labctl builds for one lab instance.
type Plan struct {
	Lab      string `json:"lab"`
	Instance string `json:"instance"`
	Machine  string `json:"machine,omitempty"`
	// Machines, Underlay and Elsewhere describe a machine's share of a lab spread
	// over several machines (see machines.go); empty for a lab on one machine.
	Machines    []Machine    `json:"machines,omitempty"`
	Underlay    *Underlay    `json:"underlay,omitempty"`
	Elsewhere   []RemoteHost `json:"elsewhere,omitempty"`
	Source      string       `json:"source,omitempty"`
	Description string       `json:"description,omitempty"`
	Backend     string       `json:"iptablesBackend"`
	IPv6        bool         `json:"ipv6"`
	Namespaces  []*Namespace `json:"namespaces"`
	Veths       []Veth       `json:"veths"`

	// StaticNeighbors, when set, fixes every MAC and has node write permanent
	// neighbour entries for each segment (see neighbors.go).
	StaticNeighbors *StaticNeighbors `json:"staticNeighbors,omitempty"`
	// Services are the Kubernetes Services of the lab's cluster, so probes and
	// reports can name them (service/web:80) instead of their addresses.
	Services []Service `json:"services,omitempty"`
	// Probes and Steps say how labctl verify proves the lab works (see probe.go).
	// They build nothing, so they are not part of the Digest.
	Probes []Probe `json:"probes,omitempty"`
	Steps  []Step  `json:"steps,omitempty"`
}

// Service is a Kubernetes Service as the cluster layer compiled it.
type Service struct {
	Namespace string     `json:"namespace"`
	Name      string     `json:"name"`
	Type      string     `json:"type"`
	ClusterIP netip.Addr `json:"clusterIP"`
	// LoadBalancerIP is the VIP owned by the cluster's load balancer host, if any.
	LoadBalancerIP netip.Addr    `json:"loadBalancerIP,omitzero"`
	ExternalIPs    []netip.Addr  `json:"externalIPs,omitempty"`
	Ports          []ServicePort `json:"ports"`
	// Endpoints are the ready endpoints, per port name.
	Endpoints []Endpoint `json:"endpoints,omitempty"`
}

// ServicePort is one port of a Service.
type ServicePort struct {
	Name     string `json:"name,omitempty"`
	Protocol string `json:"protocol"`
	Port     int    `json:"port"`
	NodePort int    `json:"nodePort,omitempty"`
}

// Endpoint is one ready endpoint of a Service port.
type Endpoint struct {
	Port string         `json:"port,omitempty"`
	Pod  string         `json:"pod,omitempty"`
	Node string         `json:"node,omitempty"`
	Addr netip.AddrPort `json:"addr"`
}

// Service returns the Service ns/name (ns defaults to "default"), or nil.
func (p *Plan) Service(ns, name string) *Service {
	if ns == "" {
		ns = "default"
	}
	for i := range p.Services {
		if p.Services[i].Namespace == ns && p.Services[i].Name == name {
			return &p.Services[i]
		}
	}
	return nil
}

// Namespace is a host (or a network's bridge holder) and everything configured inside it.
type Namespace struct {
	Name     string         `json:"name"`
	Kind     string         `json:"kind"`
	NetNS    string         `json:"netns"`
	Group    string         `json:"group,omitempty"`
	Sysctls  []Sysctl       `json:"sysctls,omitempty"`
	Loopback []netip.Prefix `json:"loopback,omitempty"`
	Bridges  []Bridge       `json:"bridges,omitempty"`
	Vxlans   []Vxlan        `json:"vxlans,omitempty"`
	// Neighbors and FDB are static entries, as flannel's vxlan backend writes them.
	Neighbors []Neighbor `json:"neighbors,omitempty"`
	FDB       []FDBEntry `json:"fdb,omitempty"`
	// Tunnels carry segments that span machines (see machines.go).
	Tunnels  []Tunnel       `json:"tunnels,omitempty"`
	Routes   []Route        `json:"routes,omitempty"`
	Rules    *rules.Ruleset `json:"-"`
	Commands []Command      `json:"commands,omitempty"`
	Servers  []Server       `json:"servers,omitempty"`
}

// Payload renders the namespace's rules as one iptables-restore payload (nil if none).
func (n *Namespace) Payload() ([]byte, []rules.Origin) {
	if n.Rules == nil || n.Rules.Empty() {
		return nil, nil
	}
	return n.Rules.Render()
}

// MarshalJSON adds the rendered restore payload, which is what tools and golden tests read.
func (n *Namespace) MarshalJSON() ([]byte, error) {
	type plain Namespace
	payload, _ := n.Payload()
	return json.Marshal(struct {
		*plain
		IPTablesRestore string `json:"iptablesRestore,omitempty"`
	}{(*plain)(n), string(payload)})
}

// Sysctl is one net.* setting of a namespace.
type Sysctl struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Bridge is a Linux bridge inside a namespace.
type Bridge struct {
	Name      string         `json:"name"`
	Addresses []netip.Prefix `json:"addresses,omitempty"`
	MTU       int            `json:"mtu,omitempty"`
	// MAC is set with static neighbours only; else the kernel picks one.
	MAC string `json:"mac,omitempty"`
}

// Veth is a veth pair. A is created in its namespace with the peer B born directly in
// B's namespace, so no interface ever moves between namespaces (moves cost ~20 ms each).
type Veth struct {
	A End `json:"a"`
	B End `json:"b"`
}

// End is one side of a veth pair.
type End struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Alias is the readable identity of the far side, shown by ip link.
	Alias     string         `json:"alias,omitempty"`
	Master    string         `json:"master,omitempty"`
	Hairpin   bool           `json:"hairpin,omitempty"`
	Addresses []netip.Prefix `json:"addresses,omitempty"`
	MTU       int            `json:"mtu,omitempty"`
	// MAC is set with static neighbours only; else the kernel picks one.
	MAC string `json:"mac,omitempty"`
}

// Route is a static route. A zero Via means a directly connected route on Dev.
type Route struct {
	To  netip.Prefix `json:"to"`
	Via netip.Addr   `json:"via,omitzero"`
	Dev string       `json:"dev,omitempty"`
	Src netip.Addr   `json:"src,omitzero"`
	// OnLink makes the gateway reachable on Dev without a subnet route (flannel's
	// vxlan routes point at the remote VTEP's /32).
	OnLink bool `json:"onlink,omitempty"`
}

// Vxlan is a VXLAN device inside a namespace.
type Vxlan struct {
	Name string `json:"name"`
	VNI  int    `json:"vni"`
	Port int    `json:"port"`
	// Local is the source address of the tunnel's packets; Dev the interface they use.
	Local     netip.Addr     `json:"local"`
	Dev       string         `json:"dev"`
	MAC       string         `json:"mac"`
	MTU       int            `json:"mtu,omitempty"`
	Learning  bool           `json:"learning,omitempty"`
	Addresses []netip.Prefix `json:"addresses,omitempty"`
}

// Neighbor is a permanent ARP entry.
type Neighbor struct {
	Dev string     `json:"dev"`
	IP  netip.Addr `json:"ip"`
	MAC string     `json:"mac"`
}

// FDBEntry is a permanent forwarding entry of a VXLAN device: frames for MAC go to Dst.
type FDBEntry struct {
	Dev string     `json:"dev"`
	MAC string     `json:"mac"`
	Dst netip.Addr `json:"dst"`
}

// Command runs inside a namespace after the lab is built.
type Command struct {
	Run        string `json:"run"`
	Background bool   `json:"background,omitempty"`
	// Line is where the command was written in the lab file, for error messages.
	Line int `json:"line,omitempty"`
}

// Server is an agent listener.
type Server struct {
	Port     int    `json:"port"`
	Protocol string `json:"protocol"`
	ProxyTo  string `json:"proxyTo,omitempty"`
}

// Namespace returns the namespace with the given logical name, or nil.
func (p *Plan) Namespace(name string) *Namespace {
	for _, n := range p.Namespaces {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// Ends returns the veth ends that live in the named namespace, in plan order.
func (p *Plan) Ends(namespace string) []End {
	var out []End
	for _, v := range p.Veths {
		for _, e := range []End{v.A, v.B} {
			if e.Namespace == namespace {
				out = append(out, e)
			}
		}
	}
	return out
}

// EndPairs maps each namespace to its veth ends, each with its peer ([end, peer]), in
// plan order, in one pass over the veths: Ends for every namespace would compare each
// namespace with each veth, a million comparisons in a 1,000-Pod cluster.
func (p *Plan) EndPairs() map[string][][2]End {
	out := make(map[string][][2]End, len(p.Namespaces))
	for _, v := range p.Veths {
		out[v.A.Namespace] = append(out[v.A.Namespace], [2]End{v.A, v.B})
		out[v.B.Namespace] = append(out[v.B.Namespace], [2]End{v.B, v.A})
	}
	return out
}

// Digest identifies the plan's content: two plans with the same digest build the same lab.
func (p *Plan) Digest() string {
	built := *p
	// Probes build nothing, and the same file given by another path builds the same
	// lab: neither may make a running lab look stale.
	built.Probes, built.Steps, built.Source = nil, nil, ""
	// Streamed into the hash one namespace at a time: the whole plan as one JSON
	// document is 30 MB for a 1,000-Pod cluster, and building it doubled labctl up's
	// peak memory.
	namespaces := built.Namespaces
	built.Namespaces = nil
	// Each payload goes in as it is, after its length, not as a JSON string: escaping
	// 26 MB of rules cost more than hashing them.
	h := sha256.New()
	enc := json.NewEncoder(h)
	mustEncode := func(v any) {
		if err := enc.Encode(v); err != nil {
			panic("plan: marshal: " + err.Error()) // plain data always marshals
		}
	}
	mustEncode(&built)
	type plain Namespace
	var size [8]byte
	for _, n := range namespaces {
		mustEncode((*plain)(n))
		payload, _ := n.Payload()
		binary.BigEndian.PutUint64(size[:], uint64(len(payload)))
		h.Write(size[:])
		h.Write(payload)
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}
