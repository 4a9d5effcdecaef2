package node

import (
	"context"
	"fmt"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// linksUpTimeout bounds the wait for the kernel to activate new veths. It is
// normally a few milliseconds; a link that stays down longer is broken.
const linksUpTimeout = 5 * time.Second

// waitLinksUp returns once every veth of the lab is operationally up.
//
// A veth end created up waits for its peer; when the peer comes up the kernel sets
// the carrier of both at once but activates the first end (its queueing discipline,
// its operational state, the bridge port it is) only later, from its link-watch
// worker, which needs the RTNL lock the rest of the build keeps busy. Until then the
// end drops what it sends: a Pod's first ARP request is lost and a probe sent right
// after up waits a second for the retry. The rules are still loading meanwhile, so
// the wait costs no time in big labs.
func (b *build) waitLinksUp(ctx context.Context, c *counter) error {
	deadline := time.Now().Add(linksUpTimeout)
	spaces := append(append([]*space(nil), b.hubs...), b.leaves...)
	return b.parallel(ctx, spaces, c, func(s *space) error {
		return waitVethsUp(ctx, s.ns.NetNS, deadline)
	})
}

func waitVethsUp(ctx context.Context, netnsName string, deadline time.Time) error {
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
	for {
		down, err := vethsDown(h)
		if err != nil || len(down) == 0 {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("veth %v still not operationally up %s after it was created: the kernel did not activate it (dmesg may say why)", down, linksUpTimeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// vethsDown lists the veths of the handle's namespace that are not up yet.
func vethsDown(h *netlink.Handle) ([]string, error) {
	links, err := h.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list links: %w", err)
	}
	var down []string
	for _, l := range links {
		if l.Type() == "veth" && l.Attrs().OperState != netlink.OperUp {
			down = append(down, l.Attrs().Name)
		}
	}
	return down, nil
}
