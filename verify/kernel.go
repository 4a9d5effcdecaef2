package verify

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"golang.org/x/sys/unix"

	"github.com/labctl/labctl/node"
	"github.com/labctl/labctl/topo/plan"
	"github.com/labctl/labctl/topo/rules"
	"github.com/labctl/labctl/verify/agent"
)

// Kernel is the Env of a running lab. One process enters the lab's namespaces itself:
// each socket is created inside the sending host's namespace, so a probe costs a
// connection, not a process.
type Kernel struct {
	plan   *plan.Plan
	owners map[netip.Addr]string // address -> host, to name who answered a ping

	mu       sync.Mutex
	handles  map[string]ns.NetNS
	sessions map[string]*agent.Session
}

var _ Env = (*Kernel)(nil)

// NewKernel returns the Env of the running lab p describes. Close it when done.
func NewKernel(p *plan.Plan) *Kernel {
	return &Kernel{plan: p, owners: addressOwners(p), handles: map[string]ns.NetNS{}, sessions: map[string]*agent.Session{}}
}

// addressOwners maps every address of the lab to its host.
func addressOwners(p *plan.Plan) map[netip.Addr]string {
	out := map[netip.Addr]string{}
	ends := p.EndPairs()
	for _, n := range p.Namespaces {
		if n.Kind == plan.KindNetwork {
			continue
		}
		for _, pair := range ends[n.Name] {
			for _, a := range pair[0].Addresses {
				out[a.Addr()] = n.Name
			}
		}
		for _, br := range n.Bridges {
			for _, a := range br.Addresses {
				out[a.Addr()] = n.Name
			}
		}
		for _, a := range n.Loopback {
			out[a.Addr()] = n.Name
		}
	}
	shareOwners(p, out)
	return out
}

// Close closes the sessions and namespace handles.
func (k *Kernel) Close() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	for name, s := range k.sessions {
		s.Close()
		delete(k.sessions, name)
	}
	for host, h := range k.handles {
		h.Close()
		delete(k.handles, host)
	}
	return nil
}

func (k *Kernel) netnsName(host string) (string, error) {
	n := k.plan.Namespace(host)
	if n == nil || n.Kind == plan.KindNetwork {
		return "", fmt.Errorf("lab %s has no host %q", k.plan.Instance, host)
	}
	return n.NetNS, nil
}

// handle opens the host's namespace once.
func (k *Kernel) handle(host string) (ns.NetNS, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if h, ok := k.handles[host]; ok {
		return h, nil
	}
	name, err := k.netnsName(host)
	if err != nil {
		return nil, err
	}
	h, err := ns.GetNS(node.NetnsPath(name))
	if err != nil {
		return nil, fmt.Errorf("host %s: open namespace %s: %w (is lab %s up? labctl up creates it)", host, name, err, k.plan.Instance)
	}
	k.handles[host] = h
	return h, nil
}

// Send makes one try of p from its host's namespace.
func (k *Kernel) Send(ctx context.Context, p plan.Probe) Try {
	h, err := k.handle(p.From)
	if err != nil {
		return Try{Outcome: agent.Failed, Error: err.Error()}
	}
	if p.Protocol == plan.ICMP {
		return k.ping(ctx, h, p)
	}
	d := newRecordingDialer(h)
	first := hopOf(p.To, p.Protocol, p.Timeout, p.HTTPPath, p.HTTPHost)
	req := agent.Request{}
	for _, hop := range p.Then {
		req.Relay = append(req.Relay, hopOf(hop.To, hop.Protocol, hop.Timeout, hop.HTTPPath, hop.HTTPHost))
	}
	if p.Session != "" {
		return k.sessionTry(ctx, d, p, req)
	}
	ans, rtt, err := agent.Ask(ctx, d, first, req)
	return tryOf(ans, rtt, err, d.local())
}

func hopOf(t plan.Target, proto string, timeout plan.Duration, path, host string) agent.Hop {
	return agent.Hop{Target: t.AddrPort(), Protocol: agent.Protocol(proto), Path: path, Host: host, TimeoutMS: int(timeout.D() / time.Millisecond)}
}

func tryOf(ans agent.Answer, rtt time.Duration, err error, client netip.AddrPort) Try {
	t := Try{Outcome: agent.Classify(err), Client: client, RTT: rtt}
	if err != nil {
		t.Error = err.Error()
		return t
	}
	t.Answer, t.Host = &ans, ans.Host
	return t
}

// sessionTry sends one request on the probe's session, opening it on first use.
func (k *Kernel) sessionTry(ctx context.Context, d *recordingDialer, p plan.Probe, req agent.Request) Try {
	k.mu.Lock()
	s := k.sessions[p.Session]
	k.mu.Unlock()
	if s == nil {
		openCtx, cancel := context.WithTimeout(ctx, p.Timeout.D())
		var err error
		s, err = agent.Open(openCtx, d, p.To.AddrPort())
		cancel()
		if err != nil {
			return tryOf(agent.Answer{}, 0, err, d.local())
		}
		k.mu.Lock()
		k.sessions[p.Session] = s
		k.mu.Unlock()
	}
	budget := append([]agent.Hop{{Target: p.To.AddrPort(), Protocol: agent.TCP, TimeoutMS: int(p.Timeout.D() / time.Millisecond)}}, req.Relay...)
	askCtx, cancel := context.WithTimeout(ctx, agent.Budget(budget...))
	defer cancel()
	ans, rtt, err := s.Ask(askCtx, req)
	client, _ := netip.ParseAddrPort(s.LocalAddr().String())
	return tryOf(ans, rtt, err, client)
}

// recordingDialer remembers the local address of the connection it made: the flow's
// original source, which conntrack entries are matched against. It binds the socket
// to an ephemeral port before connecting, so the port is known even when the connect
// fails (a refused or dropped flow still left conntrack entries worth tracing).
type recordingDialer struct {
	inner *agent.NetNSDialer
	mu    sync.Mutex
	last  netip.AddrPort
}

func newRecordingDialer(h ns.NetNS) *recordingDialer {
	d := &recordingDialer{}
	d.inner = &agent.NetNSDialer{NetNS: h, Dialer: net.Dialer{Control: d.control}}
	return d
}

func (d *recordingDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	conn, err := d.inner.DialContext(ctx, network, address)
	if err == nil {
		if ap, perr := netip.ParseAddrPort(conn.LocalAddr().String()); perr == nil {
			d.set(unmap(ap))
		}
	}
	return conn, err
}

// control runs inside the sender's namespace, between socket() and connect().
func (d *recordingDialer) control(_, address string, c syscall.RawConn) error {
	dst, err := netip.ParseAddrPort(address)
	if err != nil {
		return nil
	}
	var port int
	var bindErr error
	err = c.Control(func(fd uintptr) {
		var sa unix.Sockaddr = &unix.SockaddrInet4{}
		if dst.Addr().Is6() {
			sa = &unix.SockaddrInet6{}
		}
		if bindErr = unix.Bind(int(fd), sa); bindErr != nil {
			return
		}
		switch got, _ := unix.Getsockname(int(fd)); a := got.(type) {
		case *unix.SockaddrInet4:
			port = a.Port
		case *unix.SockaddrInet6:
			port = a.Port
		}
	})
	if err != nil {
		return err
	}
	if bindErr != nil {
		return fmt.Errorf("bind an ephemeral port: %w", bindErr)
	}
	d.set(netip.AddrPortFrom(routeSource(dst.Addr()), uint16(port)))
	return nil
}

func (d *recordingDialer) set(ap netip.AddrPort) {
	d.mu.Lock()
	d.last = ap
	d.mu.Unlock()
}

func (d *recordingDialer) local() netip.AddrPort {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.last
}

// Conntrack reads the host's conntrack table.
func (k *Kernel) Conntrack(_ context.Context, host string) ([]node.ConntrackEntry, error) {
	name, err := k.netnsName(host)
	if err != nil {
		return nil, err
	}
	return node.Conntrack(name)
}

// Counters reads the host's rules with their counters.
func (k *Kernel) Counters(ctx context.Context, host string) (*rules.Ruleset, error) {
	name, err := k.netnsName(host)
	if err != nil {
		return nil, err
	}
	dump, err := node.SaveCounters(ctx, k.plan.Backend, k.plan.Instance, name)
	if err != nil {
		return nil, fmt.Errorf("host %s: %w", host, err)
	}
	rs, err := rules.ParseSave(dump)
	if err != nil {
		return nil, fmt.Errorf("host %s: read iptables-save -c: %w", host, err)
	}
	return rs, nil
}

// LoadRules replaces the host's rules in one atomic restore.
func (k *Kernel) LoadRules(ctx context.Context, host string, payload []byte) error {
	name, err := k.netnsName(host)
	if err != nil {
		return err
	}
	return node.LoadRules(ctx, k.plan.Backend, k.plan.Instance, name, payload)
}

// Exec runs a shell command in the host.
func (k *Kernel) Exec(ctx context.Context, host, command string) (string, error) {
	name, err := k.netnsName(host)
	if err != nil {
		return "", err
	}
	return node.RunIn(ctx, k.plan.Instance, name, command, 2*time.Minute)
}
