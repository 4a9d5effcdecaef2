package node

import (
	"context"
	"fmt"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// linksUpTimeout bounds the wait for veths that an older kernel activates late.
const linksUpTimeout = 3 * time.Second

// waitLinksUp returns once every veth of the lab is operationally up, or after
// linksUpTimeout: a late link costs a lost first packet, not a broken lab.
//
// A veth end created up waits for its peer; when the peer comes up the kernel sets
// the carrier of both at once but activates the first end (its queueing discipline,
// its operational state, the bridge port it is) only later, from its link-watch
// worker, which needs the RTNL lock that the rest of the build keeps busy (seconds,
// in a big lab). Until then the end drops what it sends: a Pod's first ARP request is
// lost and a probe sent right after up waits a second for the retry. Asking for the
// link by index (RTM_GETLINK, not a dump) makes the kernel run that pending work at
// once (Linux 6.8, "synchronize link-watch when carrier is queried"); older kernels
// are polled. The rules are still loading meanwhile, so this costs no time in big labs.
func (b *build) waitLinksUp(ctx context.Context, c *counter) error {
	deadline := time.Now().Add(linksUpTimeout)
	spaces := append(append([]*space(nil), b.hubs...), b.leaves...)
	return b.parallel(ctx, spaces, c, func(s *space) error {
		return activateVeths(ctx, s.ns.NetNS, deadline)
	})
}

func activateVeths(ctx context.Context, netnsName string, deadline time.Time) error {
	nsh, err := netns.GetFromPath(NetnsPath(netnsName))
	if err != nil {
		return fmt.Errorf("open namespace: %w", err)
	}
	defer nsh.Close()
	h, err := netlink.NewHandleAt(nsh)
	if err != nil {
		return fmt.Errorf("netlink: %w", err)
	}
	defer h.Close()
	down, err := vethsDown(h)
	for wait := time.Millisecond; err == nil && len(down) > 0; wait = min(2*wait, 50*time.Millisecond) {
		down, err = getEach(h, down)
		if err != nil || len(down) == 0 || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
	return err
}

// vethsDown lists the indexes of the veths of the handle's namespace that are not up.
func vethsDown(h *netlink.Handle) ([]int, error) {
	links, err := h.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	var down []int
	for _, l := range links {
		if l.Type() == "veth" && l.Attrs().OperState != netlink.OperUp {
			down = append(down, l.Attrs().Index)
		}
	}
	return down, nil
}

// getEach asks for each link by index, which activates it (see waitLinksUp), and
// returns those still not up.
func getEach(h *netlink.Handle, indexes []int) ([]int, error) {
	var down []int
	for _, i := range indexes {
		l, err := h.LinkByIndex(i)
		if err != nil {
			return nil, fmt.Errorf("get link %d: %w", i, err)
		}
		if l.Attrs().OperState != netlink.OperUp {
			down = append(down, i)
		}
	}
	return down, nil
}
