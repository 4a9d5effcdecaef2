package agent

import (
	"fmt"
	"net"
	"testing"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/google/go-cmp/cmp"
	"github.com/labctl/labctl/node/nodetest"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Addresses of the test namespaces (TEST-NET-1, only ever inside them).
const (
	addrA       = "192.0.2.1"
	addrA2      = "192.0.2.11" // a second address on A's link
	addrB       = "192.0.2.2"
	unroutedDst = "198.51.100.1" // TEST-NET-2: no route to it anywhere in the test
)

// tempNetNS makes an anonymous network namespace that lives as long as the test
// holds it (and no longer than the test process): nothing to sweep after a crash.
// Its path for a Config is the /proc/self/fd entry of the handle.
func tempNetNS(t testing.TB) (ns.NetNS, string) {
	t.Helper()
	handle, err := ns.TempNetNS()
	if err != nil {
		t.Fatalf("create network namespace: %v", err)
	}
	t.Cleanup(func() { handle.Close() })
	return handle, fmt.Sprintf("/proc/self/fd/%d", handle.Fd())
}

// netlinkIn opens a netlink handle working inside netnsHandle, so nothing the test
// configures can land in the root namespace.
func netlinkIn(t testing.TB, netnsHandle ns.NetNS) *netlink.Handle {
	t.Helper()
	h, err := netlink.NewHandleAt(netns.NsHandle(netnsHandle.Fd()))
	if err != nil {
		t.Fatalf("netlink in %s: %v", netnsHandle.Path(), err)
	}
	t.Cleanup(h.Close)
	return h
}

func linkUp(t testing.TB, h *netlink.Handle, name string, cidrs ...string) {
	t.Helper()
	link, err := h.LinkByName(name)
	if err != nil {
		t.Fatalf("find link %s: %v", name, err)
	}
	for _, cidr := range cidrs {
		addr, err := netlink.ParseAddr(cidr)
		if err != nil {
			t.Fatal(err)
		}
		if err := h.AddrAdd(link, addr); err != nil {
			t.Fatalf("add %s to %s: %v", cidr, name, err)
		}
	}
	if err := h.LinkSetUp(link); err != nil {
		t.Fatalf("set %s up: %v", name, err)
	}
}

// twoNamespaces makes namespaces A and B joined by a veth pair (a0 in A with
// addrA and addrA2, b0 in B with addrB), loopback up in both. The veth is created
// from inside A with its peer placed directly in B.
func twoNamespaces(t *testing.T) (a ns.NetNS, aPath string, b ns.NetNS, bPath string) {
	t.Helper()
	before := nodetest.SnapshotRoot(t)
	t.Cleanup(func() {
		if changed := before.Diff(nodetest.SnapshotRoot(t)); len(changed) > 0 {
			t.Errorf("the root namespace changed: %v", changed)
		}
	})
	a, aPath = tempNetNS(t)
	b, bPath = tempNetNS(t)
	inA, inB := netlinkIn(t, a), netlinkIn(t, b)
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "a0"}, PeerName: "b0", PeerNamespace: netlink.NsFd(int(b.Fd()))}
	if err := inA.LinkAdd(veth); err != nil {
		t.Fatalf("add veth a0/b0: %v", err)
	}
	linkUp(t, inA, "lo")
	linkUp(t, inB, "lo")
	linkUp(t, inA, "a0", addrA+"/24", addrA2+"/24")
	linkUp(t, inB, "b0", addrB+"/24")
	return a, aPath, b, bPath
}

func TestListenersAndRelaysLiveInTheirHostsNamespace(t *testing.T) {
	nodetest.RequireRoot(t)
	_, aPath, b, bPath := twoNamespaces(t)
	// The same loopback port in both namespaces: only possible if each listener
	// really is in its own namespace.
	startAgent(t, Config{Hosts: []Host{
		{Name: "a", NetNS: aPath, Listeners: []Listener{
			{Port: 7000, Protocol: TCP}, {Port: 7000, Protocol: UDP}, {Port: 7080, Protocol: HTTP},
			{Port: 9000, Protocol: TCP, Address: "127.0.0.1"},
		}},
		{Name: "b", NetNS: bPath, Listeners: []Listener{
			{Port: 7000, Protocol: TCP}, {Port: 9000, Protocol: TCP, Address: "127.0.0.1"},
		}},
	}})
	fromB := &NetNSDialer{NetNS: b}
	at := func(ip string, port int) string { return net.JoinHostPort(ip, fmt.Sprint(port)) }

	type seen struct{ Host, Local, RemoteIP string }
	view := func(ans Answer) seen {
		ip, _, _ := net.SplitHostPort(ans.Remote)
		return seen{ans.Host, ans.Local, ip}
	}
	tests := []struct {
		name  string
		to    Hop
		relay []Hop
		want  []seen
	}{
		{"tcp from B to A", Hop{Target: at(addrA, 7000), Protocol: TCP}, nil,
			[]seen{{"a", at(addrA, 7000), addrB}}},
		{"udp to A's second address answers from it", Hop{Target: at(addrA2, 7000), Protocol: UDP}, nil,
			[]seen{{"a", at(addrA2, 7000), addrB}}},
		{"http from B to A", Hop{Target: at(addrA, 7080), Protocol: HTTP}, nil,
			[]seen{{"a", at(addrA, 7080), addrB}}},
		{"loopback in B is B's", Hop{Target: "127.0.0.1:9000", Protocol: TCP}, nil,
			[]seen{{"b", "127.0.0.1:9000", "127.0.0.1"}}},
		{"relay from A dials from A", Hop{Target: at(addrA, 7000), Protocol: TCP}, []Hop{{Target: at(addrB, 7000), Protocol: TCP}},
			[]seen{{"a", at(addrA, 7000), addrB}, {"b", at(addrB, 7000), addrA}}},
		{"relay to loopback stays in A", Hop{Target: at(addrA, 7080), Protocol: HTTP}, []Hop{{Target: "127.0.0.1:9000", Protocol: TCP}},
			[]seen{{"a", at(addrA, 7080), addrB}, {"a", "127.0.0.1:9000", "127.0.0.1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ans, _, err := Ask(t.Context(), fromB, tt.to, Request{Relay: tt.relay})
			if err != nil {
				t.Fatal(err)
			}
			var got []seen
			for _, a := range ans.Chain() {
				got = append(got, view(a))
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("chain (-want +got):\n%s", diff)
			}
		})
	}

	failures := []struct {
		name string
		to   Hop
		want Outcome
	}{
		{"closed port on A", Hop{Target: at(addrA, 7001), Protocol: TCP}, Refused},
		{"no route from B", Hop{Target: at(unroutedDst, 7000), Protocol: TCP}, Unreachable},
	}
	for _, tt := range failures {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Ask(t.Context(), fromB, tt.to, Request{})
			if got := outcomeOf(t, err); got != tt.want {
				t.Errorf("outcome %s (%v), want %s", got, err, tt.want)
			}
		})
	}
}
