package verify

import (
	"context"
	"fmt"

	"github.com/labctl/labctl/node"
)

// A plain router (ip_forward on, no rules) keeps no conntrack entry and counts no
// rule, so a trace built from those two alone would skip it. Its namespace's IP MIB
// still counts every datagram it forwards (Ip: ForwDatagrams in /proc/net/snmp): read
// around a trace's one try, while nothing else sends in the lab, a host whose count
// grew forwarded that try's packets. ARP does not count (it is not IP), so hosts that
// only answered who-has for a neighbour stay out.

// forwardCounter is the optional part of an Env that reads forwarding counters.
type forwardCounter interface {
	// Forwarded returns how many IP datagrams the host has forwarded so far.
	Forwarded(ctx context.Context, host string) (uint64, error)
}

// Forwarded reads the host's forwarding counter through node, like conntrack and
// rule counters.
func (k *Kernel) Forwarded(_ context.Context, host string) (uint64, error) {
	name, err := k.netnsName(host)
	if err != nil {
		return 0, err
	}
	n, err := node.Forwarded(name)
	if err != nil {
		return 0, fmt.Errorf("host %s: %w", host, err)
	}
	return n, nil
}

// forwardedAround reads the forwarding counters of hosts, runs fn, reads them again
// and returns the hosts whose count grew, with the growth. Without a forwardCounter,
// or when a read fails, it returns nil: the trace then shows what conntrack and rule
// counters say, as before.
func forwardedAround(ctx context.Context, env Env, hosts []string, fn func()) map[string]uint64 {
	fc, ok := env.(forwardCounter)
	if !ok {
		fn()
		return nil
	}
	before := map[string]uint64{}
	for _, h := range hosts {
		n, err := fc.Forwarded(ctx, h)
		if err != nil {
			fn()
			return nil
		}
		before[h] = n
	}
	fn()
	out := map[string]uint64{}
	for _, h := range hosts {
		n, err := fc.Forwarded(ctx, h)
		if err != nil {
			return nil
		}
		if n > before[h] {
			out[h] = n - before[h]
		}
	}
	return out
}
