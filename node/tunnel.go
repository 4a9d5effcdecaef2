package node

import (
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/labctl/labctl/topo/plan"
)

// A machine's share of a lab spread over machines reaches the other machines through
// VXLAN tunnels (plan.Tunnel). Each device is created from a netlink socket in the
// underlay namespace with the lab namespace as its target (IFLA_NET_NS_FD): the
// kernel keeps the device's UDP socket in the namespace that created it and puts the
// device itself in the lab namespace. So the lab's traffic leaves only as VXLAN over
// the underlay the user named, and deleting the lab namespace deletes the device and
// with the last device the socket: nothing of the lab stays in the underlay.

// underlayHandle is a netlink handle whose sockets are in the underlay namespace: the
// named one (a simulation's "machine"), else the namespace labctl runs in.
func underlayHandle(u *plan.Underlay) (*netlink.Handle, error) {
	path, what := "/proc/self/ns/net", "labctl's own network namespace"
	if u.NetNS != "" {
		path, what = NetnsPath(u.NetNS), "underlay namespace "+u.NetNS
	}
	h, err := netns.GetFromPath(path)
	if err != nil {
		if u.NetNS != "" {
			return nil, fmt.Errorf("open %s: %w (create it first, e.g. ip netns add %s; labctl never creates or deletes it)", what, err, u.NetNS)
		}
		return nil, fmt.Errorf("open %s: %w", what, err)
	}
	defer h.Close() // the handle's sockets keep the namespace
	nl, err := netlink.NewHandleAt(h)
	if err != nil {
		return nil, fmt.Errorf("netlink handle in %s: %w", what, err)
	}
	return nl, nil
}

// tunnels creates and configures the namespace's tunnels; names receives their
// indexes for the routes that follow.
func (b *build) tunnels(s *space, names map[string]int32) error {
	if len(s.ns.Tunnels) == 0 {
		return nil
	}
	u := b.plan.Underlay
	if u == nil {
		return fmt.Errorf("plan error: tunnels without an underlay")
	}
	uh, err := underlayHandle(u)
	if err != nil {
		return err
	}
	defer uh.Close()
	lab, err := netlink.NewHandleAt(netns.NsHandle(s.fd))
	if err != nil {
		return fmt.Errorf("netlink handle in %s: %w", s.ns.Name, err)
	}
	defer lab.Close()
	dev := 0
	if u.Dev != "" {
		l, err := uh.LinkByName(u.Dev)
		if err != nil {
			return fmt.Errorf("underlay device %s (%s): %w", u.Dev, underlayName(u), err)
		}
		dev = l.Attrs().Index
	}
	for _, t := range s.ns.Tunnels {
		idx, err := addTunnel(uh, lab, s, t, dev)
		if err != nil {
			return fmt.Errorf("tunnel %s (%s, vni %d, port %d, underlay %s): %w", t.Name, t.Segment, t.VNI, t.Port, underlayName(u), err)
		}
		names[t.Name] = idx
	}
	return nil
}

func addTunnel(uh, lab *netlink.Handle, s *space, t plan.Tunnel, dev int) (int32, error) {
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.MTU, attrs.Namespace = t.Name, t.MTU, netlink.NsFd(s.fd)
	mac, err := parseMAC(t.MAC, "tunnel "+t.Name)
	if err != nil {
		return 0, err
	}
	attrs.HardwareAddr = mac
	// Learning only on a network's port: the bridge behind it needs to know which
	// machine each MAC is on; a link's device has one remote and nothing to learn.
	vx := &netlink.Vxlan{LinkAttrs: attrs, VxlanId: t.VNI, Port: t.Port, SrcAddr: t.Local.AsSlice(), VtepDevIndex: dev, Learning: t.Master != ""}
	if t.Remote.IsValid() {
		vx.Group = t.Remote.AsSlice()
	}
	if err := uh.LinkAdd(vx); err != nil {
		if errors.Is(err, unix.EEXIST) {
			return 0, fmt.Errorf("the underlay already has a VXLAN device with this VNI and UDP port (another lab, or another share of this lab on the same underlay): give one of the labs another options.tunnelPort, or give each share its own underlay: %w", err)
		}
		return 0, kernelHint(err, "vxlan")
	}
	link, err := lab.LinkByName(t.Name)
	if err != nil {
		return 0, fmt.Errorf("find it in %s: %w", s.ns.Name, err)
	}
	if got := link.Attrs().MTU; got != t.MTU {
		// The kernel caps a VXLAN device's MTU at its underlay device's minus the
		// overhead; the other machine would send frames this one drops.
		return 0, fmt.Errorf("the underlay device allows an MTU of only %d, the plan needs %d: give the machines mtu: (the underlay path's MTU) in the lab file, so every machine plans the same smaller MTU", got, t.MTU)
	}
	if t.Alias != "" {
		if err := lab.LinkSetAlias(link, t.Alias); err != nil {
			return 0, fmt.Errorf("set alias: %w", err)
		}
	}
	if t.Master != "" {
		br := s.bridges[t.Master]
		if br == 0 {
			return 0, fmt.Errorf("no bridge %s in %s", t.Master, s.ns.Name)
		}
		if err := lab.LinkSetMasterByIndex(link, int(br)); err != nil {
			return 0, fmt.Errorf("enslave to %s: %w", t.Master, err)
		}
	}
	for _, a := range t.Addresses {
		if err := lab.AddrAdd(link, &netlink.Addr{IPNet: ipNet(a)}); err != nil {
			return 0, fmt.Errorf("add %s: %w", a, err)
		}
	}
	// Head-end replication: broadcast, unknown unicast and multicast frames go to
	// every other machine with members of the network, one unicast copy each.
	for _, peer := range t.Peers {
		entry := &netlink.Neigh{LinkIndex: link.Attrs().Index, Family: unix.AF_BRIDGE, Flags: netlink.NTF_SELF, State: netlink.NUD_PERMANENT | netlink.NUD_NOARP, IP: peer.AsSlice(), HardwareAddr: make(net.HardwareAddr, 6)}
		if err := lab.NeighAppend(entry); err != nil {
			return 0, fmt.Errorf("fdb 00:00:00:00:00:00 dst %s: %w", peer, err)
		}
	}
	// Up last: this opens the UDP socket, in the underlay.
	if err := lab.LinkSetUp(link); err != nil {
		if errors.Is(err, unix.EADDRINUSE) {
			return 0, fmt.Errorf("UDP port %d is taken in the underlay by another program: set options.tunnelPort to a free port in the lab file: %w", t.Port, err)
		}
		return 0, fmt.Errorf("set up: %w", err)
	}
	return int32(link.Attrs().Index), nil
}

func underlayName(u *plan.Underlay) string {
	if u.NetNS == "" {
		return "labctl's own namespace"
	}
	return "netns " + u.NetNS
}

// removeTunnels deletes the tunnel devices a state record lists before their
// namespaces go: deleting a device closes its UDP socket in the underlay at once,
// where the kernel's teardown of a deleted namespace runs later, so after down the
// underlay is clean when labctl returns, not some milliseconds after.
func removeTunnels(st *State) {
	for _, t := range st.Tunnels {
		h, err := netns.GetFromPath(NetnsPath(t.NetNS))
		if err != nil {
			continue // already gone, and the device with it
		}
		if nl, err := netlink.NewHandleAt(h); err == nil {
			if link, err := nl.LinkByName(t.Name); err == nil {
				_ = nl.LinkDel(link)
			}
			nl.Close()
		}
		h.Close()
	}
}

// TunnelRecord names a tunnel device in the state record, for down.
type TunnelRecord struct {
	NetNS string `json:"netns"`
	Name  string `json:"name"`
}

func recordTunnels(st *State, p *plan.Plan) {
	if p.Underlay != nil {
		st.Underlay = p.Underlay.NetNS
	}
	for _, n := range p.Namespaces {
		for _, t := range n.Tunnels {
			st.Tunnels = append(st.Tunnels, TunnelRecord{NetNS: n.NetNS, Name: t.Name})
			if h := st.Host(n.Name); h != nil {
				h.Addresses = append(h.Addresses, prefixStrings(t.Addresses)...)
			}
		}
	}
}

// checkUnderlay makes sure, before anything is created, that the underlay exists and
// holds this machine's address (and device), so a typo fails with a clear message
// instead of a tunnel that sends nowhere.
func checkUnderlay(p *plan.Plan) error {
	u := p.Underlay
	if u == nil {
		return nil
	}
	if u.NetNS != "" && !netnsExists(u.NetNS) {
		return MissingError{What: fmt.Sprintf("machine %s's underlay namespace %s", p.Machine, u.NetNS), How: "labctl never creates it: create it (ip netns add), or drop --underlay-netns to use this machine's own"}
	}
	nl, err := underlayHandle(u)
	if err != nil {
		return err
	}
	defer nl.Close()
	if u.Dev != "" {
		if _, err := nl.LinkByName(u.Dev); err != nil {
			return MissingError{What: fmt.Sprintf("machine %s's underlay device %s (in %s)", p.Machine, u.Dev, underlayName(u)), How: "fix dev: of the machine in the lab file, or check --machine"}
		}
	}
	addrs, err := nl.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return fmt.Errorf("list the underlay's addresses: %w", err)
	}
	if !slices.ContainsFunc(addrs, func(a netlink.Addr) bool { return a.IP.Equal(u.Address.AsSlice()) }) {
		return MissingError{What: fmt.Sprintf("machine %s's underlay address %s (on no interface of %s)", p.Machine, u.Address, underlayName(u)), How: "is this machine " + p.Machine + "? check --machine and --underlay-netns, or the machine's address: in the lab file"}
	}
	return checkTunnelMTU(nl, p)
}

// checkTunnelMTU refuses tunnels whose frames would not fit the underlay device
// towards a peer once encapsulated. The device is dev:, else the one the route to
// the peer takes in the underlay namespace. Bound to a device the kernel caps a
// VXLAN device's MTU (addTunnel checks that as well); unbound, nothing would, and the
// peer, which planned the same MTU, would send frames this machine's path drops.
func checkTunnelMTU(nl *netlink.Handle, p *plan.Plan) error {
	u := p.Underlay
	need := map[netip.Addr]int{} // peer -> the largest tunnel MTU towards it
	for _, n := range p.Namespaces {
		for _, t := range n.Tunnels {
			for _, peer := range append([]netip.Addr{t.Remote}, t.Peers...) {
				if peer.IsValid() && t.MTU > need[peer] {
					need[peer] = t.MTU
				}
			}
		}
	}
	for _, peer := range slices.SortedFunc(maps.Keys(need), netip.Addr.Compare) {
		machine := machineAt(p, peer)
		dev, mtu, err := underlayPath(nl, u, peer)
		if err != nil {
			return MissingError{What: fmt.Sprintf("a route to machine %s's underlay address %s in %s", machine, peer, underlayName(u)), How: fmt.Sprintf("check the machines' address: in the lab file and the underlay's routes (%v)", err)}
		}
		overhead := plan.VXLANOverhead(peer)
		if fit := mtu - overhead; fit < need[peer] {
			return MissingError{
				What: fmt.Sprintf("an underlay path to machine %s (%s) that fits the plan's tunnel MTU of %d", machine, peer, need[peer]),
				How: fmt.Sprintf("the path goes out %s (MTU %d, in %s), which fits %d once VXLAN adds its %d bytes; give the machines mtu: %d (the underlay path's MTU) in the lab file, so every machine plans the same smaller MTU",
					dev, mtu, underlayName(u), fit, overhead, mtu),
			}
		}
	}
	return nil
}

// underlayPath is the device tunnel packets to peer leave by, and the MTU of that
// path: dev: when the lab names one, else the route's device (and the route's own
// mtu, when it sets a smaller one).
func underlayPath(nl *netlink.Handle, u *plan.Underlay, peer netip.Addr) (string, int, error) {
	if u.Dev != "" {
		l, err := nl.LinkByName(u.Dev)
		if err != nil {
			return "", 0, err
		}
		return u.Dev, l.Attrs().MTU, nil
	}
	routes, err := nl.RouteGet(peer.AsSlice())
	if err != nil {
		return "", 0, err
	}
	if len(routes) == 0 {
		return "", 0, fmt.Errorf("no route")
	}
	l, err := nl.LinkByIndex(routes[0].LinkIndex)
	if err != nil {
		return "", 0, fmt.Errorf("device %d of the route: %w", routes[0].LinkIndex, err)
	}
	mtu := l.Attrs().MTU
	if m := routes[0].MTU; m > 0 && m < mtu {
		mtu = m
	}
	return l.Attrs().Name, mtu, nil
}

// machineAt names the machine with that underlay address.
func machineAt(p *plan.Plan, addr netip.Addr) string {
	for _, m := range p.Machines {
		if m.Address == addr {
			return m.Name
		}
	}
	return "at " + addr.String()
}
