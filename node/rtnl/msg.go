package rtnl

import (
	"fmt"
	"net/netip"

	"golang.org/x/sys/unix"
)

// NoNS means "the socket's own namespace" where a namespace file descriptor is asked.
const NoNS = -1

// Veth describes a veth pair to create. The link itself is created in NetNS (or the
// socket's namespace), its peer in PeerNetNS (or the socket's namespace): neither
// ever moves, which would cost about 20 ms per move.
type Veth struct {
	Name      string
	MTU       int
	Up        bool
	Master    int32 // bridge index in the link's namespace, 0 for none
	NetNS     int   // namespace fd of the link, or NoNS
	PeerName  string
	PeerMTU   int
	PeerNetNS int // namespace fd of the peer, or NoNS
	// Index and PeerIndex, when not 0, ask the kernel for these interface indexes
	// (each in its own namespace) instead of letting it pick; it refuses with EBUSY
	// when one is taken.
	Index, PeerIndex int32
	// MAC and PeerMAC, when set, are the ends' addresses (else the kernel's random ones).
	MAC, PeerMAC []byte
}

// AddVeth queues the creation of a veth pair. into (optional) receives the link's
// index and its peer's, echoed by the kernel.
func (c *Conn) AddVeth(v Veth, into *Link) {
	flags := uint16(unix.NLM_F_CREATE | unix.NLM_F_EXCL)
	if into != nil {
		flags |= unix.NLM_F_ECHO
	}
	off := c.begin(unix.RTM_NEWLINK, flags)
	c.ifinfo(v.Index, v.Up)
	c.linkAttrs(v.Name, v.MTU, v.NetNS)
	c.mac(v.MAC)
	if v.Master != 0 {
		// Set in the creating request: the kernel enslaves the new link before it
		// answers, no second request needed.
		c.u32(unix.IFLA_MASTER, uint32(v.Master))
	}
	info := c.nest(unix.IFLA_LINKINFO)
	c.str(unix.IFLA_INFO_KIND, "veth")
	data := c.nest(unix.IFLA_INFO_DATA)
	peer := c.nest(vethInfoPeer)
	// The peer cannot be created up (the kernel refuses with ENOTCONN while its own
	// side is not registered yet); SetLink brings it up.
	c.ifinfo(v.PeerIndex, false)
	c.linkAttrs(v.PeerName, v.PeerMTU, v.PeerNetNS)
	c.mac(v.PeerMAC)
	c.end(peer)
	c.end(data)
	c.end(info)
	c.add(off, fmt.Sprintf("add veth %s (peer %s)", v.Name, v.PeerName), into, 0)
}

// AddBridge queues the creation of an up bridge; into (optional) receives its index.
func (c *Conn) AddBridge(name string, mtu int, into *Link) { c.AddBridgeMAC(name, mtu, nil, into) }

// AddBridgeMAC is AddBridge with a fixed MAC (nil: the kernel's). A bridge given its
// address keeps it; else it takes its ports' lowest, which changes as ports join, and
// each change flushes the bridge's neighbour entries, permanent ones too.
func (c *Conn) AddBridgeMAC(name string, mtu int, mac []byte, into *Link) {
	flags := uint16(unix.NLM_F_CREATE | unix.NLM_F_EXCL)
	if into != nil {
		flags |= unix.NLM_F_ECHO
	}
	off := c.begin(unix.RTM_NEWLINK, flags)
	c.ifinfo(0, true)
	c.linkAttrs(name, mtu, NoNS)
	c.mac(mac)
	info := c.nest(unix.IFLA_LINKINFO)
	c.str(unix.IFLA_INFO_KIND, "bridge")
	c.end(info)
	c.add(off, "add bridge "+name, into, 0)
}

// LinkSet changes an existing link, found by index, or by name when index is 0.
type LinkSet struct {
	Index int32
	Name  string
	Up    bool
	Alias string
	// Master, when not 0, enslaves the link to this bridge (index).
	Master int32
	// Hairpin, when set, changes the hairpin mode of the link's bridge port. The
	// link must already be a port: the kernel applies port settings before a new
	// master, so enslaving and hairpin take two requests.
	Hairpin *bool
}

// SetLink queues a change of an existing link: up, alias and bridge port hairpin
// mode in one request.
func (c *Conn) SetLink(s LinkSet) {
	// RTM_NEWLINK on an existing link (no NLM_F_CREATE) applies do_setlink and the
	// bridge port's slave data together; RTM_SETLINK would ignore the slave data.
	off := c.begin(unix.RTM_NEWLINK, 0)
	c.ifinfo(s.Index, s.Up)
	if s.Index == 0 {
		c.str(unix.IFLA_IFNAME, s.Name)
	}
	if s.Alias != "" {
		c.attr(unix.IFLA_IFALIAS, []byte(s.Alias))
	}
	if s.Master != 0 {
		c.u32(unix.IFLA_MASTER, uint32(s.Master))
	}
	if s.Hairpin != nil {
		info := c.nest(unix.IFLA_LINKINFO)
		c.str(unix.IFLA_INFO_SLAVE_KIND, "bridge")
		data := c.nest(unix.IFLA_INFO_SLAVE_DATA)
		c.attr(unix.IFLA_BRPORT_MODE, []byte{boolByte(*s.Hairpin)})
		c.end(data)
		c.end(info)
	}
	name := s.Name
	if name == "" {
		name = fmt.Sprintf("index %d", s.Index)
	}
	c.add(off, "configure "+name, nil, 0)
}

// AddAddr queues adding an address to the link with the given index. IPv4 addresses
// get their broadcast address, as ip address add ... brd + and vishvananda/netlink do.
func (c *Conn) AddAddr(index int32, p netip.Prefix, dev string) {
	off := c.begin(unix.RTM_NEWADDR, unix.NLM_F_CREATE|unix.NLM_F_EXCL)
	a := p.Addr()
	c.buf = append(c.buf, family(a), byte(p.Bits()), 0, 0)
	c.buf = native.AppendUint32(c.buf, uint32(index))
	c.attr(unix.IFA_LOCAL, a.AsSlice())
	c.attr(unix.IFA_ADDRESS, a.AsSlice())
	if a.Is4() && p.Bits() < 31 {
		b := a.As4()
		host := ^uint32(0) >> p.Bits()
		for i := range 4 { // b is in network order: b[0] holds the top 8 bits
			b[i] |= byte(host >> (8 * (3 - i)))
		}
		c.attr(unix.IFA_BROADCAST, b[:])
	}
	c.add(off, fmt.Sprintf("add %s to %s", p, dev), nil, 0)
}

// Route is a static route of the main table.
type Route struct {
	To     netip.Prefix // zero-length or zero prefix: default route
	Via    netip.Addr
	Src    netip.Addr
	Dev    int32 // output interface index, 0: the kernel picks the one reaching Via
	OnLink bool
}

// AddRoute queues adding a route; what describes it in errors.
func (c *Conn) AddRoute(r Route, what string) {
	off := c.begin(unix.RTM_NEWROUTE, unix.NLM_F_CREATE|unix.NLM_F_EXCL)
	fam := family(r.To.Addr())
	if !r.To.IsValid() {
		fam = family(r.Via) // a default route written as a zero prefix
	}
	var flags uint32
	if r.OnLink {
		flags = unix.RTNH_F_ONLINK
	}
	// family, dst_len, src_len, tos, table, protocol, scope, type, flags
	c.buf = append(c.buf, fam, byte(max(r.To.Bits(), 0)), 0, 0, unix.RT_TABLE_MAIN, unix.RTPROT_BOOT, unix.RT_SCOPE_UNIVERSE, unix.RTN_UNICAST)
	c.buf = native.AppendUint32(c.buf, flags)
	if r.To.Bits() > 0 {
		c.attr(unix.RTA_DST, r.To.Masked().Addr().AsSlice())
	}
	if r.Via.IsValid() {
		c.attr(unix.RTA_GATEWAY, r.Via.AsSlice())
	}
	if r.Src.IsValid() {
		c.attr(unix.RTA_PREFSRC, r.Src.AsSlice())
	}
	if r.Dev != 0 {
		c.u32(unix.RTA_OIF, uint32(r.Dev))
	}
	c.add(off, "add route "+what, nil, 0)
}

func family(a netip.Addr) byte {
	if a.Is4() || a.Is4In6() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// ifinfo appends an ifinfomsg: family, pad, type, index, flags, change.
func (c *Conn) ifinfo(index int32, up bool) {
	c.buf = append(c.buf, unix.AF_UNSPEC, 0, 0, 0)
	c.buf = native.AppendUint32(c.buf, uint32(index))
	var flags uint32
	if up {
		flags = unix.IFF_UP
	}
	c.buf = native.AppendUint32(c.buf, flags)
	c.buf = native.AppendUint32(c.buf, flags) // change: only the up bit, when asked
}

func (c *Conn) linkAttrs(name string, mtu, netns int) {
	c.str(unix.IFLA_IFNAME, name)
	if mtu > 0 {
		c.u32(unix.IFLA_MTU, uint32(mtu))
	}
	if netns != NoNS {
		c.u32(unix.IFLA_NET_NS_FD, uint32(netns))
	}
}

func (c *Conn) attr(typ uint16, data []byte) {
	c.buf = native.AppendUint16(c.buf, uint16(4+len(data)))
	c.buf = native.AppendUint16(c.buf, typ)
	c.buf = append(c.buf, data...)
	for len(c.buf)%4 != 0 {
		c.buf = append(c.buf, 0)
	}
}

func (c *Conn) str(typ uint16, s string) { c.attr(typ, append([]byte(s), 0)) }

func (c *Conn) u32(typ uint16, v uint32) { c.attr(typ, native.AppendUint32(nil, v)) }

// nest starts a nested attribute; end sets its length.
func (c *Conn) nest(typ uint16) int {
	off := len(c.buf)
	c.buf = native.AppendUint16(c.buf, 0)
	c.buf = native.AppendUint16(c.buf, typ|unix.NLA_F_NESTED)
	return off
}

func (c *Conn) end(off int) { native.PutUint16(c.buf[off:], uint16(len(c.buf)-off)) }

// vethInfoPeer is VETH_INFO_PEER of linux/veth.h, which x/sys/unix does not define.
const vethInfoPeer = 1
