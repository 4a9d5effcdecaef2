package plan

import (
	"bytes"
	"fmt"
	"net/netip"
	"strings"
)

// Machine is one machine of a lab spread over several: where its share runs and
// where the other machines send that share's tunnel traffic.
type Machine struct {
	Name    string     `json:"name"`
	Address netip.Addr `json:"address"`
	Dev     string     `json:"dev,omitempty"`
}

// Underlay is where this machine's share sends and receives its tunnels: the
// machine's address and device, in the network namespace named NetNS (empty: the
// namespace labctl runs in, the machine's own). The VXLAN sockets of the tunnels
// are the only objects labctl creates outside lab namespaces, and they live here.
type Underlay struct {
	Address netip.Addr `json:"address"`
	Dev     string     `json:"dev,omitempty"`
	NetNS   string     `json:"netns,omitempty"`
	// Port is the UDP port of every tunnel of the lab.
	Port int `json:"port"`
}

// Tunnel is a VXLAN device standing in for what a segment spanning machines would be
// on one machine: a link's end (Remote set: unicast to the other machine), or a
// network's port into its bridge (Peers set: all-zero-MAC forwarding entries towards
// every other machine with members, head-end replication, learning on). The device
// lives in Namespace; its UDP socket lives in the plan's underlay namespace.
type Tunnel struct {
	Namespace string `json:"namespace"`
	Name      string `json:"name"`
	// Segment names what the tunnel carries ("link router:eth1 server:eth0",
	// "network nodes"); VNI and Port derive from it and the lab name.
	Segment string       `json:"segment"`
	VNI     int          `json:"vni"`
	Port    int          `json:"port"`
	Local   netip.Addr   `json:"local"`
	Remote  netip.Addr   `json:"remote,omitzero"`
	Peers   []netip.Addr `json:"peers,omitempty"`
	Master  string       `json:"master,omitempty"`
	Alias   string       `json:"alias,omitempty"`
	MTU     int          `json:"mtu"`
	// MAC is the fixed MAC of the link end the tunnel replaces (static neighbours).
	MAC string `json:"mac,omitempty"`
	// Addresses are those of the link end the tunnel replaces.
	Addresses []netip.Prefix `json:"addresses,omitempty"`
}

// RemoteHost is a host of the lab that runs on another machine: probes from it run
// there, and its kernel state (conntrack, counters) is not readable from here.
type RemoteHost struct {
	Name      string       `json:"name"`
	Kind      string       `json:"kind"`
	Machine   string       `json:"machine"`
	Addresses []netip.Addr `json:"addresses,omitempty"`
}

// Remote returns the host of another machine with that name, or nil.
func (p *Plan) Remote(name string) *RemoteHost {
	for i := range p.Elsewhere {
		if p.Elsewhere[i].Name == name {
			return &p.Elsewhere[i]
		}
	}
	return nil
}

// VXLANOverhead is what VXLAN adds to each frame over an underlay of addr's family:
// outer IP, UDP, VXLAN header and inner Ethernet header (the kernel's VXLAN_HEADROOM
// and VXLAN6_HEADROOM). topo lowers tunnelled MTUs by it; node checks the underlay
// path with it.
func VXLANOverhead(underlay netip.Addr) int {
	if underlay.Is6() {
		return 70
	}
	return 50
}

// InstanceName is the instance of a machine's share of a lab: lab@machine.
func InstanceName(lab, machine string) string {
	if machine == "" {
		return lab
	}
	return lab + "@" + machine
}

// writeMachine writes the share's header: which machine, its underlay, what is
// created outside lab namespaces, and the hosts that run elsewhere.
func (p *Plan) writeMachine(b *bytes.Buffer) {
	names := make([]string, len(p.Machines))
	for i, m := range p.Machines {
		names[i] = fmt.Sprintf("%s (%s)", m.Name, m.Address)
	}
	fmt.Fprintf(b, "machine %s of %s\n", p.Machine, strings.Join(names, ", "))
	if u := p.Underlay; u != nil {
		where := "the namespace labctl runs in (the machine's own)"
		if u.NetNS != "" {
			where = "netns " + u.NetNS
		}
		dev := "any device (routing decides)"
		if u.Dev != "" {
			dev = "dev " + u.Dev
		}
		fmt.Fprintf(b, "underlay %s, %s, in %s\n", u.Address, dev, where)
		fmt.Fprintf(b, "outside lab namespaces labctl creates only the VXLAN sockets of the tunnels below (UDP port %d) in that namespace\n", u.Port)
	}
	for _, r := range p.Elsewhere {
		fmt.Fprintf(b, "elsewhere: %s %s on machine %s\n", r.Kind, r.Name, r.Machine)
	}
}

func writeTunnel(b *bytes.Buffer, t Tunnel) {
	fmt.Fprintf(b, "  tunnel %s vxlan vni %d port %d local %s", t.Name, t.VNI, t.Port, t.Local)
	if t.Remote.IsValid() {
		fmt.Fprintf(b, " remote %s", t.Remote)
	}
	for _, peer := range t.Peers {
		fmt.Fprintf(b, " fdb 00:00:00:00:00:00 dst %s", peer)
	}
	if t.Master != "" {
		fmt.Fprintf(b, " master %s learning", t.Master)
	}
	if len(t.Addresses) > 0 {
		fmt.Fprintf(b, " %s", prefixes(t.Addresses))
	}
	fmt.Fprintf(b, " mtu %d  (%s)\n", t.MTU, t.Segment)
}
