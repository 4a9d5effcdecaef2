package node

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os/exec"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/labctl/labctl/node/iptables"
)

// ConntrackEntry is one entry of a namespace's conntrack table: the flow as it
// arrived (Original) and the reply the host expects (Reply). NAT shows as the
// difference: after DNAT, Reply.Src is the new destination; after SNAT, Reply.Dst is
// the new source.
type ConntrackEntry struct {
	// Proto is the IP protocol number (6 tcp, 17 udp, 1 icmp).
	Proto    uint8
	Original Tuple
	Reply    Tuple
}

// Tuple is one direction of a conntrack entry. Ports are zero for ICMP: the netlink
// library does not report the echo identifier.
type Tuple struct {
	Src, Dst netip.AddrPort
}

func (t Tuple) String() string { return t.Src.String() + " -> " + t.Dst.String() }

// Conntrack lists the conntrack entries (IPv4 and IPv6) of a lab namespace. A
// namespace in which no rule uses conntrack has none.
func Conntrack(netnsName string) ([]ConntrackEntry, error) {
	nsh, err := netns.GetFromPath(NetnsPath(netnsName))
	if err != nil {
		return nil, fmt.Errorf("open namespace %s: %w (is the lab up?)", netnsName, err)
	}
	defer nsh.Close()
	h, err := netlink.NewHandleAt(nsh, unix.NETLINK_NETFILTER)
	if err != nil {
		return nil, fmt.Errorf("netlink in namespace %s: %w", netnsName, err)
	}
	defer h.Close()
	var out []ConntrackEntry
	for _, family := range []netlink.InetFamily{unix.AF_INET, unix.AF_INET6} {
		flows, err := listFlows(h, family)
		if err != nil {
			return nil, fmt.Errorf("list conntrack entries of namespace %s: %w", netnsName, err)
		}
		for _, f := range flows {
			out = append(out, ConntrackEntry{
				Proto:    f.Forward.Protocol,
				Original: tupleOf(f.Forward),
				Reply:    tupleOf(f.Reverse),
			})
		}
	}
	return out, nil
}

// listFlows dumps the table, retrying a dump that changed while it was read.
func listFlows(h *netlink.Handle, family netlink.InetFamily) ([]*netlink.ConntrackFlow, error) {
	var flows []*netlink.ConntrackFlow
	var err error
	for range 5 {
		flows, err = h.ConntrackTableList(netlink.ConntrackTable, family)
		if !errors.Is(err, netlink.ErrDumpInterrupted) {
			return flows, err
		}
	}
	return flows, err
}

func tupleOf(t netlink.IPTuple) Tuple {
	return Tuple{Src: addrPort(t.SrcIP, t.SrcPort), Dst: addrPort(t.DstIP, t.DstPort)}
}

func addrPort(ip net.IP, port uint16) netip.AddrPort {
	a, _ := netip.AddrFromSlice(ip)
	return netip.AddrPortFrom(a.Unmap(), port)
}

func rulesRunner(backend, instance string) iptables.Runner {
	return iptables.Runner{Backend: backend, LockDir: instanceDir(instance)}
}

// SaveCounters returns iptables-save -c of a lab namespace: every rule with its
// packet and byte counters.
func SaveCounters(ctx context.Context, backend, instance, netnsName string) ([]byte, error) {
	out, err := rulesRunner(backend, instance).Save(ctx, NetnsPath(netnsName), true)
	if err != nil {
		return nil, fmt.Errorf("read rule counters of namespace %s: %w", netnsName, err)
	}
	return out, nil
}

// LoadRules replaces the iptables state of a lab namespace with payload in one atomic
// iptables-restore. Conntrack entries are not touched: established flows keep the
// NAT they got.
func LoadRules(ctx context.Context, backend, instance, netnsName string, payload []byte) error {
	if err := rulesRunner(backend, instance).Restore(ctx, NetnsPath(netnsName), payload); err != nil {
		return fmt.Errorf("load rules into namespace %s: %w", netnsName, err)
	}
	return nil
}

// RunIn runs a shell command inside a lab namespace, marked as a process of the lab
// (so down ends it if it outlives labctl), and returns its combined output. It
// fails if the command exits non-zero or runs longer than timeout.
func RunIn(ctx context.Context, instance, netnsName, command string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", command)
	cmd.Env = markerEnv(instance)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := InNetns(netnsName, cmd.Run); err != nil {
		return out.String(), fmt.Errorf("command %q in namespace %s: %w: %s", command, netnsName, err, firstLines(out.String(), 5))
	}
	return out.String(), nil
}
