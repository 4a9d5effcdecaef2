package node

import (
	"fmt"
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/labctl/labctl/topo/plan"
)

// addVxlans creates the namespace's VXLAN devices with their static neighbour and
// forwarding entries, as flannel's vxlan backend does: learning off, every remote
// VTEP written by hand.
func addVxlans(h *netlink.Handle, n *plan.Namespace) error {
	for _, v := range n.Vxlans {
		dev, err := h.LinkByName(v.Dev)
		if err != nil {
			return fmt.Errorf("vxlan %s: find %s: %w", v.Name, v.Dev, err)
		}
		mac, err := net.ParseMAC(v.MAC)
		if err != nil {
			return fmt.Errorf("vxlan %s: %w", v.Name, err)
		}
		attrs := netlink.NewLinkAttrs()
		attrs.Name, attrs.MTU, attrs.HardwareAddr, attrs.Flags = v.Name, v.MTU, mac, net.FlagUp
		link := &netlink.Vxlan{LinkAttrs: attrs, VxlanId: v.VNI, VtepDevIndex: dev.Attrs().Index, SrcAddr: v.Local.AsSlice(), Port: v.Port, Learning: v.Learning}
		if err := h.LinkAdd(link); err != nil {
			return fmt.Errorf("add vxlan %s: %w", v.Name, kernelHint(err, "vxlan"))
		}
		for _, a := range v.Addresses {
			if err := h.AddrAdd(link, &netlink.Addr{IPNet: ipNet(a)}); err != nil {
				return fmt.Errorf("add %s to %s: %w", a, v.Name, err)
			}
		}
	}
	for _, nb := range n.Neighbors {
		link, mac, err := linkAndMAC(h, nb.Dev, nb.MAC)
		if err != nil {
			return err
		}
		if err := h.NeighSet(&netlink.Neigh{LinkIndex: link.Attrs().Index, State: netlink.NUD_PERMANENT, IP: nb.IP.AsSlice(), HardwareAddr: mac}); err != nil {
			return fmt.Errorf("neighbour %s on %s: %w", nb.IP, nb.Dev, err)
		}
	}
	for _, f := range n.FDB {
		link, mac, err := linkAndMAC(h, f.Dev, f.MAC)
		if err != nil {
			return err
		}
		entry := &netlink.Neigh{LinkIndex: link.Attrs().Index, Family: unix.AF_BRIDGE, Flags: netlink.NTF_SELF, State: netlink.NUD_PERMANENT, IP: f.Dst.AsSlice(), HardwareAddr: mac}
		if err := h.NeighSet(entry); err != nil {
			return fmt.Errorf("fdb %s dst %s on %s: %w", f.MAC, f.Dst, f.Dev, err)
		}
	}
	return nil
}

func linkAndMAC(h *netlink.Handle, dev, mac string) (netlink.Link, net.HardwareAddr, error) {
	link, err := h.LinkByName(dev)
	if err != nil {
		return nil, nil, fmt.Errorf("find %s: %w", dev, err)
	}
	hw, err := net.ParseMAC(mac)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", dev, err)
	}
	return link, hw, nil
}

// vxlans creates VXLAN devices and their static entries (flannel's vxlan backend)
// with vishvananda/netlink: one per node, not worth a second implementation.
func (b *build) vxlans(s *space, names map[string]int32) error {
	n := s.ns
	if len(n.Vxlans) == 0 && len(n.Neighbors) == 0 && len(n.FDB) == 0 {
		return nil
	}
	h, err := netlink.NewHandleAt(netns.NsHandle(s.fd))
	if err != nil {
		return fmt.Errorf("netlink handle: %w", err)
	}
	defer h.Close()
	if err := addVxlans(h, n); err != nil {
		return err
	}
	for _, v := range n.Vxlans {
		if link, err := h.LinkByName(v.Name); err == nil {
			names[v.Name] = int32(link.Attrs().Index)
		}
	}
	return nil
}

func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
