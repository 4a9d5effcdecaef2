package node

import (
	"context"
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/labctl/labctl/node/rtnl"
	"github.com/labctl/labctl/topo/plan"
)

// createHubs creates the hub namespaces with loopback and bridges, keeping a netlink
// socket and a descriptor of each for the later stages.
func (b *build) createHubs(ctx context.Context, c *counter) error {
	return b.parallel(ctx, b.hubs, c, func(s *space) error {
		err := createNetns(s.ns.NetNS, func() error {
			if err := b.baseline(s.early); err != nil {
				return err
			}
			fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				return fmt.Errorf("open namespace: %w", err)
			}
			s.fd = fd
			if s.conn, err = rtnl.Open(); err != nil {
				return err
			}
			return setupLoopbackAndBridges(s)
		})
		if err == nil {
			b.rules.start(s.ns)
		}
		return err
	})
}

func setupLoopbackAndBridges(s *space) error {
	c := s.conn
	loopback(c, s.ns)
	made := make([]rtnl.Link, len(s.ns.Bridges))
	for i, br := range s.ns.Bridges {
		mac, err := parseMAC(br.MAC, "bridge "+br.Name)
		if err != nil {
			return err
		}
		c.AddBridgeMAC(br.Name, br.MTU, mac, &made[i])
	}
	if err := c.Flush(); err != nil {
		return kernelHint(err, "bridge")
	}
	s.bridges = make(map[string]int32, len(made))
	for i, br := range s.ns.Bridges {
		if made[i].Index == 0 {
			return fmt.Errorf("add bridge %s: the kernel did not say its index", br.Name)
		}
		s.bridges[br.Name] = made[i].Index
		for _, a := range br.Addresses {
			c.AddAddr(made[i].Index, a, "bridge "+br.Name)
		}
	}
	return c.Flush()
}

// loopback queues lo up with its extra addresses; lo is index 1 in every namespace.
func loopback(c *rtnl.Conn, n *plan.Namespace) {
	for _, a := range n.Loopback {
		c.AddAddr(1, a, "lo")
	}
	c.SetLink(rtnl.LinkSet{Index: 1, Name: "lo", Up: true})
}

// hubLinkCount is the number of veths joining two hubs (network to node or router).
func (b *build) hubLinkCount() int {
	n := 0
	for _, v := range b.plan.Veths {
		if b.spaces[v.B.Namespace].hub() {
			n++
		}
	}
	return n
}

// linkHubs creates the veths between hubs, each batch from the A side's socket.
func (b *build) linkHubs(ctx context.Context, c *counter) error {
	return b.parallel(ctx, b.hubs, &counter{}, func(s *space) error {
		n := 0
		for _, vi := range s.aEnds {
			v := b.plan.Veths[vi]
			if peer := b.spaces[v.B.Namespace]; peer.hub() {
				if err := b.addVeth(s, vi, peer.fd); err != nil {
					return err
				}
				n++
			}
		}
		err := s.conn.Flush()
		c.add(n)
		return kernelHint(err, "veth")
	})
}

// addVeth queues hub-to-hub veth vi from the A side's socket: A born up in its
// bridge, B born in its hub (peerFD). The echo gives both indexes.
func (b *build) addVeth(a *space, vi int, peerFD int) error {
	v := b.plan.Veths[vi]
	spec := rtnl.Veth{Name: v.A.Name, Index: b.hubIndex[vi], MTU: v.A.MTU, Up: true, NetNS: rtnl.NoNS, PeerName: v.B.Name, PeerMTU: v.B.MTU, PeerNetNS: peerFD}
	if err := withMACs(&spec, v.A, v.B); err != nil {
		return err
	}
	if v.A.Master != "" {
		if spec.Master = a.bridges[v.A.Master]; spec.Master == 0 {
			return fmt.Errorf("veth %s: no bridge %s in %s", v.A.Name, v.A.Master, a.ns.Name)
		}
	}
	a.conn.AddVeth(spec, &b.links[vi])
	return nil
}

// buildLeaves builds each leaf namespace whole, on the thread that created it.
func (b *build) buildLeaves(ctx context.Context, c *counter) error {
	return b.parallel(ctx, b.leaves, c, func(s *space) error {
		err := createNetns(s.ns.NetNS, func() error { return b.buildLeaf(s) })
		if err == nil {
			b.rules.start(s.ns)
		}
		return err
	})
}

// buildLeaf runs on the thread inside the new leaf. Each veth is created from here
// with the leaf side as the link itself, up, and the hub side as its peer, born in
// the hub: the kernel echoes a new link only to a socket of the link's own namespace,
// so this way the echo comes back here and says both indexes; the hub side is enslaved
// and brought up by configureHubs, in the hub's batch. No lookup by name anywhere.
func (b *build) buildLeaf(s *space) error {
	if err := b.baseline(s.early); err != nil {
		return err
	}
	conn, err := rtnl.Open()
	if err != nil {
		return err
	}
	defer conn.Close()
	loopback(conn, s.ns)
	echo := make([]rtnl.Link, len(s.bEnds))
	for i, vi := range s.bEnds {
		v := b.plan.Veths[vi]
		a := b.spaces[v.A.Namespace]
		// The kernel only honours the peer's requested index when the link asks for
		// one too: a leaf's links are numbered after lo.
		spec := rtnl.Veth{Name: v.B.Name, Index: int32(2 + i), MTU: v.B.MTU, Up: true, NetNS: rtnl.NoNS, PeerName: v.A.Name, PeerIndex: b.hubIndex[vi], PeerMTU: v.A.MTU, PeerNetNS: a.fd}
		if err := withMACs(&spec, v.B, v.A); err != nil {
			return err
		}
		conn.AddVeth(spec, &echo[i])
	}
	if err := conn.Flush(); err != nil {
		return kernelHint(err, "veth")
	}
	names := map[string]int32{"lo": 1}
	for i, vi := range s.bEnds {
		e := b.plan.Veths[vi].B
		if echo[i].Index == 0 {
			// A kernel that does not echo link creations (before 6.3): ask here, and
			// configureHubs asks for the hub side.
			if echo[i].Index, err = conn.LinkIndex(e.Name); err != nil {
				return err
			}
		}
		b.links[vi] = rtnl.Link{Index: echo[i].PeerIndex, PeerIndex: echo[i].Index}
		b.fromLeaf[vi] = true
		names[e.Name] = echo[i].Index
		configureEnd(conn, e, echo[i].Index, false)
		if e.Alias != "" {
			conn.SetLink(rtnl.LinkSet{Index: echo[i].Index, Name: e.Name, Alias: e.Alias})
		}
	}
	b.addNeighbors(conn, s, names)
	addRoutes(conn, s.ns.Routes, names)
	if err := conn.Flush(); err != nil {
		return err
	}
	return writeSysctls(s.late)
}

// peerIndex is the index of veth vi's B side, echoed at its creation or, failing
// that, asked by name from conn, a socket in the B side's namespace.
func (b *build) peerIndex(conn *rtnl.Conn, vi int) (int32, error) {
	if idx := b.links[vi].PeerIndex; idx != 0 {
		return idx, nil
	}
	idx, err := conn.LinkIndex(b.plan.Veths[vi].B.Name)
	b.links[vi].PeerIndex = idx
	return idx, err
}

// configureEnd queues the addresses of a veth end, and for a B side bringing it up
// with its alias (A sides are born up; their alias comes with configureHub).
func configureEnd(c *rtnl.Conn, e plan.End, idx int32, bSide bool) {
	if bSide {
		c.SetLink(rtnl.LinkSet{Index: idx, Name: e.Name, Up: true, Alias: e.Alias})
	}
	for _, a := range e.Addresses {
		c.AddAddr(idx, a, e.Name)
	}
}

// addRoutes queues the routes; names maps the namespace's interfaces to indexes.
func addRoutes(c *rtnl.Conn, routes []plan.Route, names map[string]int32) {
	for _, r := range routes {
		rt := rtnl.Route{To: r.To, Via: r.Via, Src: r.Src, OnLink: r.OnLink}
		if r.Dev != "" {
			rt.Dev = names[r.Dev]
			if rt.Dev == 0 {
				idx, err := c.LinkIndex(r.Dev)
				if err != nil {
					// Queue nothing: the error names the route and the missing device.
					c.Fail(fmt.Errorf("add route %s: find %s: %w", r, r.Dev, err))
					continue
				}
				rt.Dev = idx
			}
		}
		c.AddRoute(rt, r.String())
	}
}

// configureHubs gives the hubs their A sides' aliases and hairpin modes, their B
// sides' state and addresses, VXLAN devices, routes and per-interface sysctls.
func (b *build) configureHubs(ctx context.Context, c *counter) error {
	return b.parallel(ctx, b.hubs, c, func(s *space) error {
		conn := s.conn
		names := map[string]int32{"lo": 1}
		for name, idx := range s.bridges {
			names[name] = idx
		}
		var hairpins []rtnl.LinkSet
		for _, vi := range s.aEnds {
			e := b.plan.Veths[vi].A
			idx := b.links[vi].Index
			if idx == 0 {
				var err error
				if idx, err = conn.LinkIndex(e.Name); err != nil {
					return err
				}
			}
			set := rtnl.LinkSet{Index: idx, Name: e.Name, Alias: e.Alias}
			if b.fromLeaf[vi] {
				// Born down and outside the bridge (see buildLeaf).
				set.Up = true
				if e.Master != "" {
					if set.Master = s.bridges[e.Master]; set.Master == 0 {
						return fmt.Errorf("veth %s: no bridge %s", e.Name, e.Master)
					}
				}
			}
			if e.Hairpin {
				hairpins = append(hairpins, rtnl.LinkSet{Index: idx, Name: e.Name, Hairpin: &e.Hairpin})
			}
			if set.Up || set.Alias != "" || set.Master != 0 {
				conn.SetLink(set)
			}
			configureEnd(conn, e, idx, false)
			names[e.Name] = idx
		}
		for _, h := range hairpins {
			conn.SetLink(h)
		}
		for _, vi := range s.bEnds {
			idx, err := b.peerIndex(conn, vi)
			if err != nil {
				return err
			}
			configureEnd(conn, b.plan.Veths[vi].B, idx, true)
			names[b.plan.Veths[vi].B.Name] = idx
		}
		b.addNeighbors(conn, s, names) // after the SetLinks above: ends are up
		if err := conn.Flush(); err != nil {
			return err
		}
		if err := b.vxlans(s, names); err != nil {
			return err
		}
		if err := b.tunnels(s, names); err != nil {
			return err
		}
		addRoutes(conn, s.ns.Routes, names)
		if err := conn.Flush(); err != nil {
			return err
		}
		if len(s.late) > 0 {
			return InNetns(s.ns.NetNS, func() error { return writeSysctls(s.late) })
		}
		return nil
	})
}
