package node

import (
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
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
