package node

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sys/unix"

	"github.com/labctl/labctl/node/rtnl"
	"github.com/labctl/labctl/topo/plan"
)

// build carries one run of Up through its stages.
//
// Namespaces are of two sorts. A hub holds bridges or the A side of veths (networks,
// nodes, routers); a leaf holds only B sides (Pods, plain hosts on networks). Hubs are
// few: they are created first and keep a netlink socket and a namespace descriptor
// open. Leaves are the many: each is built whole by one worker, on the thread that
// created it, while it is inside: namespace, sysctls, loopback, its veths (the hub side
// born directly in the hub with its bridge master and up, the leaf side here),
// addresses and routes, in two netlink batches and without a single lookup.
type build struct {
	plan   *plan.Plan
	opts   UpOptions
	state  *State
	res    *UpResult
	spaces map[string]*space
	hubs   []*space
	leaves []*space
	// links holds, per plan veth, the indexes the kernel gave its A (Index) and B
	// (PeerIndex) sides; fromLeaf marks the veths a leaf created (hub side not yet up).
	links    []rtnl.Link
	fromLeaf []bool
	// hubIndex is the interface index asked for each veth's A (hub) side; see
	// hubIndexBase.
	hubIndex []int32
	progress *reporter
	rules    *ruleLoader
	// inherited holds the writes that undo what new namespaces inherit (see baseline),
	// read once in the first namespace.
	inherited atomic.Pointer[[]plan.Sysctl]
	neighbors neighborTable // static neighbours, see neighbors.go
}

// space is the build state of one namespace.
type space struct {
	ns    *plan.Namespace
	aEnds []int // plan.Veths indexes whose A side is here
	bEnds []int // ... whose B side is here
	early []plan.Sysctl
	late  []plan.Sysctl // per-interface and default.* keys: written once links exist
	// Hubs only, set while the namespace is created and read-only afterwards:
	fd      int
	conn    *rtnl.Conn
	bridges map[string]int32
}

func (s *space) hub() bool {
	return len(s.aEnds) > 0 || len(s.ns.Bridges) > 0 || len(s.ns.Vxlans) > 0 || len(s.ns.Tunnels) > 0
}

// hubIndexBase starts the interface indexes of hub-side veth ends. The kernel handles
// the carrier change of a veth whose index equals its peer's (possible, indexes are per
// namespace) as not urgent and applies it up to a second late, so such a link loses
// its first packets (ENOBUFS, a SYN dropped). Hub sides numbered from here never meet
// the small indexes the kernel gives the other sides.
const hubIndexBase = 10000

func newBuild(p *plan.Plan, opts UpOptions, st *State) *build {
	b := &build{plan: p, opts: opts, state: st, res: &UpResult{State: st}, spaces: make(map[string]*space, len(p.Namespaces)), links: make([]rtnl.Link, len(p.Veths)), fromLeaf: make([]bool, len(p.Veths))}
	for _, n := range p.Namespaces {
		s := &space{ns: n, fd: -1}
		s.early, s.late = splitSysctls(n.Sysctls)
		b.spaces[n.Name] = s
	}
	b.hubIndex = make([]int32, len(p.Veths))
	for i, v := range p.Veths {
		a := b.spaces[v.A.Namespace]
		b.hubIndex[i] = hubIndexBase + int32(len(a.aEnds))
		a.aEnds = append(a.aEnds, i)
		b.spaces[v.B.Namespace].bEnds = append(b.spaces[v.B.Namespace].bEnds, i)
	}
	for _, n := range p.Namespaces {
		if s := b.spaces[n.Name]; s.hub() {
			b.hubs = append(b.hubs, s)
		} else {
			b.leaves = append(b.leaves, s)
		}
	}
	return b
}

// check makes sure every veth joins two namespaces of the plan, so later stages can
// index spaces without looking.
func (b *build) check() error {
	for _, v := range b.plan.Veths {
		for _, e := range []plan.End{v.A, v.B} {
			if b.spaces[e.Namespace] == nil {
				return fmt.Errorf("plan error: veth %s names unknown namespace %q", e.Name, e.Namespace)
			}
		}
	}
	return nil
}

// close releases the hubs' sockets and namespace descriptors.
func (b *build) close() {
	for _, s := range b.hubs {
		if s.conn != nil {
			s.conn.Close()
		}
		if s.fd >= 0 {
			unix.Close(s.fd)
		}
	}
}

// stages lists what Up does, in order; the iptables loader runs beside them from the
// moment the first namespace exists, since rules need no interface to exist.
func (b *build) stages() []stage {
	return []stage{
		{"namespaces", len(b.hubs), b.createHubs},
		{"links", b.hubLinkCount(), b.linkHubs},
		{"hosts and pods", len(b.leaves), b.buildLeaves},
		{"addresses and routes", len(b.hubs), b.configureHubs},
		{"links up", len(b.hubs) + len(b.leaves), b.waitLinksUp},
		{"iptables", b.rules.count, nil},
		{"processes", b.processCount(), b.processes},
	}
}

type stage struct {
	name  string
	total int
	fn    func(context.Context, *counter) error
}

// parallel runs fn for each space with at most opts.Workers at once, counting each.
func (b *build) parallel(ctx context.Context, spaces []*space, c *counter, fn func(*space) error) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(b.opts.Workers)
	for _, s := range spaces {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(s); err != nil {
				return fmt.Errorf("%s %s: %w", s.ns.Kind, s.ns.Name, err)
			}
			c.add(1)
			return nil
		})
	}
	return g.Wait()
}

// splitSysctls separates the sysctls that can be written as soon as the namespace
// exists from those naming an interface (or the defaults new interfaces copy), which
// are written after the links, as before.
func splitSysctls(all []plan.Sysctl) (early, late []plan.Sysctl) {
	for _, s := range all {
		parts := strings.Split(s.Key, ".")
		if len(parts) >= 4 && (parts[2] == "conf" || parts[2] == "neigh") && parts[3] != "all" {
			late = append(late, s)
			continue
		}
		early = append(early, s)
	}
	return early, late
}

// baseline writes what every lab namespace gets before anything else, from the
// thread inside it, then the namespace's own early sysctls.
//
// New namespaces inherit IPv4 conf (rp_filter, ip_forward and the conf/all and
// conf/default forwarding it drives) from the machine's root namespace: on a Docker
// host every lab host would forward. A lab behaves the same everywhere, so what
// differs from the lab's starting point is reset here.
//
// Each sysctl write costs a path walk whose last steps compare against the same entry
// of every other namespace (the /proc/sys dentries of all namespaces share hash
// chains): with a thousand namespaces the writes are a tenth of up. So what new
// namespaces inherit is read once, in the first namespace, and only what differs is
// written.
func (b *build) baseline(early []plan.Sysctl) error {
	resets := b.inherited.Load()
	if resets == nil {
		r := inheritResets(readSysctl)
		b.inherited.CompareAndSwap(nil, &r)
		resets = b.inherited.Load()
	}
	return writeSysctls(baselineSysctls(*resets, b.plan.IPv6, early))
}

// inheritResets returns the writes that bring a new namespace's inherited IPv4
// settings to the lab's starting point: rp_filter 0 and forwarding off.
func inheritResets(read func(key string) string) []plan.Sysctl {
	var out []plan.Sysctl
	if read("net.ipv4.conf.all.rp_filter") != "0" || read("net.ipv4.conf.default.rp_filter") != "0" {
		out = append(out, plan.Sysctl{Key: "net.ipv4.conf.all.rp_filter", Value: "0"},
			plan.Sysctl{Key: "net.ipv4.conf.default.rp_filter", Value: "0"})
	}
	// ip_forward is conf/all/forwarding; changing it also sets conf/default/forwarding
	// and every interface's, but writing the value it already has changes nothing.
	switch {
	case read(ipForward) != "0":
		out = append(out, plan.Sysctl{Key: ipForward, Value: "0"})
	case read("net.ipv4.conf.default.forwarding") != "0":
		out = append(out, plan.Sysctl{Key: "net.ipv4.conf.default.forwarding", Value: "0"})
	}
	return out
}

const ipForward = "net.ipv4.ip_forward"

// baselineSysctls is what baseline writes, in order: the resets (less the ip_forward
// reset when the namespace sets ip_forward itself), IPv6 off unless the lab keeps it,
// then the namespace's own early sysctls, which win over anything before them.
func baselineSysctls(resets []plan.Sysctl, ipv6 bool, early []plan.Sysctl) []plan.Sysctl {
	setsForward := slices.ContainsFunc(early, func(s plan.Sysctl) bool { return s.Key == ipForward })
	out := make([]plan.Sysctl, 0, len(resets)+2+len(early))
	for _, s := range resets {
		if s.Key != ipForward || !setsForward {
			out = append(out, s)
		}
	}
	if !ipv6 {
		// No link-local addresses, DAD or MLD on every port: this chatter floods shared
		// bridges and makes large labs quadratically slower.
		out = append(out, plan.Sysctl{Key: "net.ipv6.conf.all.disable_ipv6", Value: "1"},
			plan.Sysctl{Key: "net.ipv6.conf.default.disable_ipv6", Value: "1"})
	}
	return append(out, early...)
}

// procSys is where sysctls are read and written; tests point it elsewhere.
var procSys = "/proc/sys/"

func readSysctl(key string) string {
	data, err := os.ReadFile(procSys + strings.ReplaceAll(key, ".", "/"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

// writeSysctls writes net.* sysctls of the calling thread's namespace.
func writeSysctls(sysctls []plan.Sysctl) error {
	for _, s := range sysctls {
		// No O_CREATE: a key the kernel does not have must fail, not become a file.
		f, err := os.OpenFile(procSys+strings.ReplaceAll(s.Key, ".", "/"), os.O_WRONLY|os.O_TRUNC, 0)
		if err == nil {
			_, err = f.Write([]byte(s.Value))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && strings.HasPrefix(s.Key, "net.bridge.") {
				if s.Value == "0" {
					// Without br_netfilter bridged frames never go through iptables:
					// the setting asked for is already what happens.
					continue
				}
				return fmt.Errorf("sysctl %s: %w", s.Key, MissingError{What: "the br_netfilter kernel module", How: "load it with modprobe br_netfilter"})
			}
			return fmt.Errorf("sysctl %s=%s: %w", s.Key, s.Value, err)
		}
	}
	return nil
}

// kernelHint turns "operation not supported" into the missing kernel feature.
func kernelHint(err error, kind string) error {
	if errors.Is(err, unix.EOPNOTSUPP) || errors.Is(err, unix.EAFNOSUPPORT) {
		return MissingError{What: fmt.Sprintf("kernel support for %s devices", kind), How: fmt.Sprintf("load the %s module or use a kernel built with it", kind)}
	}
	return err
}
