// Package floor builds what a plan asks of the kernel's network stack (named
// namespaces, bridges, veth pairs, addresses, routes) with the leanest Go we could
// write, and nothing more: no sysctls but IPv6 off, no iptables rules, no aliases or
// hairpin modes, no state record, no processes. It is the yardstick of labctl up.
//
// Lean means: every namespace created by one thread that stays inside it while it
// sets it up; one netlink socket per namespace; interface indexes chosen by us, so no
// request waits for an answer it needs (a Pod's whole build, veth included, is one
// sendmsg); the veth's hub side born in the hub, up and enslaved, in the same request.
package floor

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"

	"github.com/labctl/labctl/node/rtnl"
	"github.com/labctl/labctl/topo/plan"
)

// Lab is a built floor lab.
type Lab struct {
	Names  []string // mount names under /run/netns
	spaces map[string]*space
	plan   *plan.Plan
	prefix string
	idx    [][2]int32 // per veth: the A and B side indexes we chose
}

type space struct {
	ns      *plan.Namespace
	path    string
	hub     bool
	fd      int
	conn    *rtnl.Conn
	bridges map[string]int32
	next    atomic.Int32 // next interface index we hand out in this namespace
	ends    map[string]int32
}

// Build creates the plan's namespaces as <prefix><host> under /run/netns. On error
// the caller still calls Remove.
func Build(p *plan.Plan, prefix string, workers int) (*Lab, error) {
	l := &Lab{spaces: map[string]*space{}, plan: p, prefix: prefix, idx: make([][2]int32, len(p.Veths))}
	// A fresh machine has no /run/netns until its first named namespace.
	if err := os.MkdirAll("/run/netns", 0o755); err != nil {
		return l, err
	}
	for _, n := range p.Namespaces {
		s := &space{ns: n, path: filepath.Join("/run/netns", prefix+n.Name), fd: -1, hub: len(n.Bridges) > 0, ends: map[string]int32{"lo": 1}}
		// Indexes above any a fresh namespace has (lo is 1) or a bridge was given.
		s.next.Store(100)
		l.spaces[n.Name] = s
		l.Names = append(l.Names, prefix+n.Name)
	}
	for _, v := range p.Veths {
		l.spaces[v.A.Namespace].hub = true
	}
	var hubs, leaves []*space
	for _, n := range p.Namespaces {
		if s := l.spaces[n.Name]; s.hub {
			hubs = append(hubs, s)
		} else {
			leaves = append(leaves, s)
		}
	}
	if err := each(hubs, workers, func(s *space) error { return l.inNew(s, func() error { return l.hub(s) }) }); err != nil {
		return l, err
	}
	// Veths between hubs, sent from their A side, each B side configured from its own.
	for i, v := range p.Veths {
		a, b := l.spaces[v.A.Namespace], l.spaces[v.B.Namespace]
		if b.hub {
			l.veth(a.conn, i, a, b.fd)
		}
	}
	if err := each(hubs, workers, func(s *space) error { return s.conn.Flush() }); err != nil {
		return l, err
	}
	if err := each(leaves, workers, func(s *space) error { return l.inNew(s, func() error { return l.leaf(s) }) }); err != nil {
		return l, err
	}
	return l, each(hubs, workers, func(s *space) error {
		for i, v := range p.Veths {
			if v.A.Namespace == s.ns.Name {
				s.ends[v.A.Name] = l.idx[i][0]
				for _, a := range v.A.Addresses {
					s.conn.AddAddr(l.idx[i][0], a, v.A.Name)
				}
			}
			if v.B.Namespace == s.ns.Name {
				s.conn.SetLink(rtnl.LinkSet{Index: l.idx[i][1], Up: true})
				for _, a := range v.B.Addresses {
					s.conn.AddAddr(l.idx[i][1], a, v.B.Name)
				}
			}
		}
		routes(s)
		return s.conn.Flush()
	})
}

// veth queues veth i from conn, with both indexes chosen here; peerFD is the B side's
// namespace, or rtnl.NoNS when conn is in it.
func (l *Lab) veth(conn *rtnl.Conn, i int, a *space, peerFD int) {
	v := l.plan.Veths[i]
	b := l.spaces[v.B.Namespace]
	spec := rtnl.Veth{Name: v.A.Name, MTU: v.A.MTU, Up: true, Master: a.bridges[v.A.Master], NetNS: rtnl.NoNS,
		PeerName: v.B.Name, PeerMTU: v.B.MTU, PeerNetNS: peerFD, Index: a.next.Add(1), PeerIndex: b.next.Add(1)}
	if peerFD == rtnl.NoNS {
		spec.NetNS = a.fd
	}
	l.idx[i] = [2]int32{spec.Index, spec.PeerIndex}
	if peerFD == rtnl.NoNS {
		b.ends[v.B.Name] = spec.PeerIndex // b is the leaf its own worker builds
	}
	conn.AddVeth(spec, nil)
}

func (l *Lab) hub(s *space) error {
	if err := ipv6Off(); err != nil {
		return err
	}
	fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	s.fd = fd
	if s.conn, err = rtnl.Open(); err != nil {
		return err
	}
	c := s.conn
	c.SetLink(rtnl.LinkSet{Index: 1, Up: true})
	for _, a := range s.ns.Loopback {
		c.AddAddr(1, a, "lo")
	}
	made := make([]rtnl.Link, len(s.ns.Bridges))
	for i, br := range s.ns.Bridges {
		c.AddBridge(br.Name, br.MTU, &made[i])
	}
	if err := c.Flush(); err != nil {
		return err
	}
	s.bridges = map[string]int32{}
	for i, br := range s.ns.Bridges {
		s.bridges[br.Name], s.ends[br.Name] = made[i].Index, made[i].Index
		for _, a := range br.Addresses {
			c.AddAddr(made[i].Index, a, br.Name)
		}
	}
	return c.Flush()
}

// leaf builds a leaf namespace in one batch: loopback, its veths (hub side in the hub),
// their addresses, its routes.
func (l *Lab) leaf(s *space) error {
	if err := ipv6Off(); err != nil {
		return err
	}
	c, err := rtnl.Open()
	if err != nil {
		return err
	}
	s.conn = c
	defer func() { c.Close(); s.conn = nil }()
	s.next.Store(1) // a fresh namespace has only lo
	c.SetLink(rtnl.LinkSet{Index: 1, Up: true})
	for _, a := range s.ns.Loopback {
		c.AddAddr(1, a, "lo")
	}
	for i, v := range l.plan.Veths {
		if v.B.Namespace != s.ns.Name {
			continue
		}
		l.veth(c, i, l.spaces[v.A.Namespace], rtnl.NoNS)
		idx := l.idx[i][1]
		c.SetLink(rtnl.LinkSet{Index: idx, Up: true})
		for _, a := range v.B.Addresses {
			c.AddAddr(idx, a, v.B.Name)
		}
	}
	routes(s)
	return c.Flush()
}

func routes(s *space) {
	for _, r := range s.ns.Routes {
		s.conn.AddRoute(rtnl.Route{To: r.To, Via: r.Via, Src: r.Src, OnLink: r.OnLink, Dev: s.ends[r.Dev]}, r.String())
	}
}

// Remove unmounts every namespace of the lab; the kernel frees them asynchronously.
func (l *Lab) Remove() error {
	var errs []error
	for _, s := range l.spaces {
		if s.conn != nil {
			s.conn.Close()
		}
		if s.fd >= 0 {
			unix.Close(s.fd)
		}
	}
	for _, name := range l.Names {
		path := filepath.Join("/run/netns", name)
		if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, err)
		}
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func ipv6Off() error {
	for _, k := range []string{"all", "default"} {
		if err := os.WriteFile("/proc/sys/net/ipv6/conf/"+k+"/disable_ipv6", []byte("1"), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// inNew runs fn on a thread inside a new namespace mounted at s.path, then takes the
// thread back to its own namespace for reuse (or lets Go discard it if it cannot).
func (l *Lab) inNew(s *space, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		back, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		defer unix.Close(back)
		errc <- func() error {
			f, err := os.OpenFile(s.path, os.O_RDONLY|os.O_CREATE|os.O_EXCL, 0o444)
			if err != nil {
				return err
			}
			f.Close()
			if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
				return err
			}
			if err := unix.Mount("/proc/thread-self/ns/net", s.path, "none", unix.MS_BIND, ""); err != nil {
				return err
			}
			return fn()
		}()
		if unix.Setns(back, unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
	}()
	if err := <-errc; err != nil {
		return fmt.Errorf("%s: %w", s.ns.Name, err)
	}
	return nil
}

func each(spaces []*space, workers int, fn func(*space) error) error {
	var g errgroup.Group
	g.SetLimit(max(workers, 1))
	for _, s := range spaces {
		g.Go(func() error { return fn(s) })
	}
	return g.Wait()
}
