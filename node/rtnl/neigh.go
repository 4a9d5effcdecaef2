package rtnl

import (
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/sys/unix"
)

// AddNeigh queues a permanent neighbour (ARP or NDP) entry: ip is at mac on the link
// with the given index; dev names it in errors. An entry already there, dynamic or
// not, is replaced, as ip neigh replace does.
//
// Permanent entries are exempt from the neighbour table's gc_thresh limits (Linux
// 4.19 and later), which are machine-wide. They are flushed when their link goes down
// or changes its MAC, so they are written once the link is up with its final MAC.
func (c *Conn) AddNeigh(index int32, ip netip.Addr, mac []byte, dev string) {
	off := c.begin(unix.RTM_NEWNEIGH, unix.NLM_F_CREATE|unix.NLM_F_REPLACE)
	// ndmsg: family, 3 bytes of padding, ifindex, state, flags, type.
	c.buf = append(c.buf, family(ip), 0, 0, 0)
	c.buf = native.AppendUint32(c.buf, uint32(index))
	c.buf = native.AppendUint16(c.buf, unix.NUD_PERMANENT)
	c.buf = append(c.buf, 0, 0)
	c.attr(unix.NDA_DST, ip.Unmap().AsSlice())
	c.attr(unix.NDA_LLADDR, mac)
	c.add(off, fmt.Sprintf("add neighbour %s lladdr %s dev %s", ip, net.HardwareAddr(mac), dev), nil, 0)
}

// mac appends IFLA_ADDRESS when a MAC is given.
func (c *Conn) mac(mac []byte) {
	if len(mac) > 0 {
		c.attr(unix.IFLA_ADDRESS, mac)
	}
}
