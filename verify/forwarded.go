package verify

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/containernetworking/plugins/pkg/ns"
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

// Forwarded reads Ip: ForwDatagrams of the host's namespace.
func (k *Kernel) Forwarded(_ context.Context, host string) (uint64, error) {
	h, err := k.handle(host)
	if err != nil {
		return 0, err
	}
	var data []byte
	// /proc/thread-self/net is the netns of the calling thread, which Do has moved
	// into the host's namespace (/proc/self/net would be the main thread's).
	err = h.Do(func(ns.NetNS) error {
		var rerr error
		data, rerr = os.ReadFile("/proc/thread-self/net/snmp")
		return rerr
	})
	if err != nil {
		return 0, fmt.Errorf("host %s: read IP counters: %w", host, err)
	}
	n, err := forwDatagrams(data)
	if err != nil {
		return 0, fmt.Errorf("host %s: %w", host, err)
	}
	return n, nil
}

// forwDatagrams finds ForwDatagrams in /proc/net/snmp: a header line of names after
// "Ip:", then a line of values in the same order.
func forwDatagrams(snmp []byte) (uint64, error) {
	sc := bufio.NewScanner(bytes.NewReader(snmp))
	var names []string
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || fields[0] != "Ip:" {
			continue
		}
		if names == nil {
			names = fields
			continue
		}
		for i, name := range names {
			if name == "ForwDatagrams" && i < len(fields) {
				return strconv.ParseUint(fields[i], 10, 64)
			}
		}
		break
	}
	return 0, fmt.Errorf("no Ip: ForwDatagrams in /proc/net/snmp")
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
