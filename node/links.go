package node

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/labctl/labctl/topo/plan"
)

// setupInside configures a namespace from a thread that is inside it (right after
// creation): baseline sysctls, loopback, bridges. The package-level netlink functions
// open their sockets in the calling thread's namespace.
func setupInside(p *plan.Plan, n *plan.Namespace) error {
	baseline := []plan.Sysctl{
		// Same behaviour whatever the machine's root namespace has configured: new
		// namespaces inherit IPv4 conf defaults from it.
		{Key: "net.ipv4.conf.all.rp_filter", Value: "0"},
		{Key: "net.ipv4.conf.default.rp_filter", Value: "0"},
	}
	if !p.IPv6 {
		// No link-local addresses, DAD or MLD on every port: this chatter floods shared
		// bridges and makes large labs quadratically slower.
		baseline = append(baseline, plan.Sysctl{Key: "net.ipv6.conf.all.disable_ipv6", Value: "1"},
			plan.Sysctl{Key: "net.ipv6.conf.default.disable_ipv6", Value: "1"})
	}
	if err := writeSysctls(baseline); err != nil {
		return err
	}
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return fmt.Errorf("find lo: %w", err)
	}
	for _, a := range n.Loopback {
		if err := netlink.AddrAdd(lo, &netlink.Addr{IPNet: ipNet(a)}); err != nil {
			return fmt.Errorf("add %s to lo: %w", a, err)
		}
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return fmt.Errorf("set lo up: %w", err)
	}
	for _, br := range n.Bridges {
		attrs := netlink.NewLinkAttrs()
		attrs.Name, attrs.MTU, attrs.Flags = br.Name, br.MTU, net.FlagUp
		bridge := &netlink.Bridge{LinkAttrs: attrs}
		if err := netlink.LinkAdd(bridge); err != nil {
			return fmt.Errorf("add bridge %s: %w", br.Name, kernelHint(err, "bridge"))
		}
		for _, a := range br.Addresses {
			if err := netlink.AddrAdd(bridge, &netlink.Addr{IPNet: ipNet(a)}); err != nil {
				return fmt.Errorf("add %s to bridge %s: %w", a, br.Name, err)
			}
		}
	}
	return nil
}

// writeSysctls writes net.* sysctls of the calling thread's namespace.
func writeSysctls(sysctls []plan.Sysctl) error {
	for _, s := range sysctls {
		path := "/proc/sys/" + strings.ReplaceAll(s.Key, ".", "/")
		if err := os.WriteFile(path, []byte(s.Value), 0o644); err != nil {
			if errors.Is(err, os.ErrNotExist) && strings.HasPrefix(s.Key, "net.bridge.") {
				return fmt.Errorf("sysctl %s: %w", s.Key, MissingError{What: "the br_netfilter kernel module", How: "load it with modprobe br_netfilter"})
			}
			return fmt.Errorf("sysctl %s=%s: %w", s.Key, s.Value, err)
		}
	}
	return nil
}

// handles opens one netlink handle per namespace on demand and closes them all at the end.
type handles map[string]*netlink.Handle

func (hs handles) get(netnsName string) (*netlink.Handle, error) {
	if h, ok := hs[netnsName]; ok {
		return h, nil
	}
	fd, err := netns.GetFromPath(NetnsPath(netnsName))
	if err != nil {
		return nil, fmt.Errorf("open namespace %s: %w", netnsName, err)
	}
	defer fd.Close()
	h, err := netlink.NewHandleAt(fd)
	if err != nil {
		return nil, fmt.Errorf("netlink handle in %s: %w", netnsName, err)
	}
	hs[netnsName] = h
	return h, nil
}

func (hs handles) close() {
	for name, h := range hs {
		h.Close()
		delete(hs, name)
	}
}

// addVeth creates a veth pair in A's namespace with its peer born in B's namespace,
// enslaves A to its bridge and sets hairpin mode. No interface ever changes namespace.
func addVeth(hs handles, p *plan.Plan, v plan.Veth) error {
	aNS, bNS := p.Namespace(v.A.Namespace), p.Namespace(v.B.Namespace)
	h, err := hs.get(aNS.NetNS)
	if err != nil {
		return err
	}
	peerFD, err := netns.GetFromPath(NetnsPath(bNS.NetNS))
	if err != nil {
		return fmt.Errorf("open namespace %s: %w", bNS.NetNS, err)
	}
	defer peerFD.Close()
	attrs := netlink.NewLinkAttrs()
	attrs.Name, attrs.MTU, attrs.Alias, attrs.Flags = v.A.Name, v.A.MTU, v.A.Alias, net.FlagUp
	if v.A.Master != "" {
		br, err := h.LinkByName(v.A.Master)
		if err != nil {
			return fmt.Errorf("find bridge %s: %w", v.A.Master, err)
		}
		attrs.MasterIndex = br.Attrs().Index
	}
	veth := &netlink.Veth{LinkAttrs: attrs, PeerName: v.B.Name, PeerMTU: uint32(v.B.MTU), PeerNamespace: netlink.NsFd(peerFD)}
	if err := h.LinkAdd(veth); err != nil {
		return fmt.Errorf("add veth %s (peer %s:%s): %w", v.A.Name, v.B.Namespace, v.B.Name, kernelHint(err, "veth"))
	}
	if v.A.Hairpin {
		if err := h.LinkSetHairpin(veth, true); err != nil {
			return fmt.Errorf("set hairpin mode on %s: %w", v.A.Name, err)
		}
	}
	return nil
}

// configureEnds gives the veth ends of one namespace their addresses and brings the
// peer (B) sides up, creates its VXLAN devices, then adds its routes (which need the
// addresses to reach their gateways). A sides were created up and with their alias.
func configureEnds(h *netlink.Handle, n *plan.Namespace, ends []plan.End, aSides map[string]bool) error {
	for _, e := range ends {
		if aSides[e.Name] && len(e.Addresses) == 0 {
			continue
		}
		link, err := h.LinkByName(e.Name)
		if err != nil {
			return fmt.Errorf("find %s: %w", e.Name, err)
		}
		for _, a := range e.Addresses {
			if err := h.AddrAdd(link, &netlink.Addr{IPNet: ipNet(a)}); err != nil {
				return fmt.Errorf("add %s to %s: %w", a, e.Name, err)
			}
		}
		if aSides[e.Name] {
			continue
		}
		if e.Alias != "" {
			if err := h.LinkSetAlias(link, e.Alias); err != nil {
				return fmt.Errorf("set alias of %s: %w", e.Name, err)
			}
		}
		if err := h.LinkSetUp(link); err != nil {
			return fmt.Errorf("set %s up: %w", e.Name, err)
		}
	}
	if err := addVxlans(h, n); err != nil {
		return err
	}
	for _, r := range n.Routes {
		if err := addRoute(h, r); err != nil {
			return err
		}
	}
	return nil
}

func addRoute(h *netlink.Handle, r plan.Route) error {
	route := &netlink.Route{}
	if r.To.Bits() > 0 {
		route.Dst = ipNet(r.To)
	}
	if r.Via.IsValid() {
		route.Gw = r.Via.AsSlice()
	}
	if r.Src.IsValid() {
		route.Src = r.Src.AsSlice()
	}
	if r.OnLink {
		route.Flags = int(netlink.FLAG_ONLINK)
	}
	if r.Dev != "" {
		link, err := h.LinkByName(r.Dev)
		if err != nil {
			return fmt.Errorf("route %s: find %s: %w", r, r.Dev, err)
		}
		route.LinkIndex = link.Attrs().Index
	}
	if err := h.RouteAdd(route); err != nil {
		return fmt.Errorf("add route %s: %w", r, err)
	}
	return nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// kernelHint turns "operation not supported" into the missing kernel feature.
func kernelHint(err error, kind string) error {
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EAFNOSUPPORT) {
		return MissingError{What: fmt.Sprintf("kernel support for %s devices", kind), How: fmt.Sprintf("load the %s module or use a kernel built with it", kind)}
	}
	return err
}
