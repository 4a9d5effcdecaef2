package agent

import (
	"context"
	"fmt"
	"net"

	"github.com/containernetworking/plugins/pkg/ns"
)

// Dialer makes the client socket of a call. The probe engine passes one that
// creates sockets in the client host's namespace; *net.Dialer and *NetNSDialer
// are Dialers.
type Dialer interface {
	DialContext(ctx context.Context, network, address string) (net.Conn, error)
}

// NetNSDialer creates its sockets inside a network namespace: it locks an OS
// thread, enters NetNS, creates and connects the socket, and returns to the
// thread's namespace. The socket stays in NetNS for its whole life. Targets must
// be IP literals (name resolution would not run in NetNS).
//
// The thread stays locked while the connect is in progress, so each dial in
// flight costs one OS thread.
type NetNSDialer struct {
	// NetNS is the namespace; nil dials from the caller's own namespace.
	NetNS  ns.NetNS
	Dialer net.Dialer
}

// DialContext dials address from d.NetNS.
func (d *NetNSDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	var conn net.Conn
	err := inNetNS(d.NetNS, func() error {
		var err error
		conn, err = d.Dialer.DialContext(ctx, network, address)
		return err
	})
	return conn, err
}

// inNetNS runs fn on a locked OS thread inside netns (nil: right here), so
// sockets fn creates belong to netns.
func inNetNS(netns ns.NetNS, fn func() error) error {
	if netns == nil {
		return fn()
	}
	return netns.Do(func(ns.NetNS) error { return fn() })
}

// namespaces opens each namespace path once, however many hosts share it, and
// keeps the handles open while the agent runs: listeners are opened in them at
// start, and relays dial from them at any time later.
type namespaces struct {
	byPath map[string]ns.NetNS
}

func (n *namespaces) open(path string) (ns.NetNS, error) {
	if path == "" {
		return nil, nil
	}
	if handle, ok := n.byPath[path]; ok {
		return handle, nil
	}
	handle, err := ns.GetNS(path)
	if err != nil {
		return nil, fmt.Errorf("open network namespace %s: %w (is the lab up? `labctl up` creates it)", path, err)
	}
	if n.byPath == nil {
		n.byPath = map[string]ns.NetNS{}
	}
	n.byPath[path] = handle
	return handle, nil
}

func (n *namespaces) closeAll() {
	for _, handle := range n.byPath {
		handle.Close()
	}
	n.byPath = nil
}
