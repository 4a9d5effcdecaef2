package rtnl

import (
	"errors"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/labctl/labctl/node/nodetest"
)

// inScratch runs fn on a thread inside two fresh, unnamed namespaces (a and b). The
// thread is never unlocked, so Go destroys it and the kernel both namespaces when fn
// returns: nothing can leak, whatever fn does.
func inScratch(t testing.TB, fn func(a, b *Conn, fdA, fdB int)) {
	nodetest.RequireRoot(t)
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread()
		open := func() (*Conn, int) {
			if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
				t.Errorf("unshare: %v", err)
				return nil, -1
			}
			fd, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
			if err != nil {
				t.Errorf("open namespace: %v", err)
				return nil, -1
			}
			c, err := Open()
			if err != nil {
				t.Errorf("open: %v", err)
			}
			return c, fd
		}
		a, fdA := open()
		b, fdB := open()
		if a == nil || b == nil {
			return
		}
		defer a.Close()
		defer b.Close()
		defer unix.Close(fdA)
		defer unix.Close(fdB)
		fn(a, b, fdA, fdB)
	}()
	<-done
}

func TestVethBridgeAddressRoute(t *testing.T) {
	inScratch(t, func(a, b *Conn, fdA, fdB int) {
		var br, v Link
		a.AddBridge("br0", 1400, &br)
		if err := a.Flush(); err != nil || br.Index == 0 {
			t.Fatalf("bridge: index %d, err %v", br.Index, err)
		}
		a.AddVeth(Veth{Name: "va", Up: true, Master: br.Index, NetNS: NoNS, PeerName: "vb", PeerMTU: 1400, PeerNetNS: fdB}, &v)
		hairpin := true
		a.SetLink(LinkSet{Name: "va", Alias: "a side", Hairpin: &hairpin})
		if err := a.Flush(); err != nil {
			t.Fatal(err)
		}
		if v.Index == 0 || v.PeerIndex == 0 {
			t.Fatalf("veth indexes not echoed: %+v", v)
		}
		b.SetLink(LinkSet{Index: v.PeerIndex, Up: true, Alias: "b side"})
		b.AddAddr(v.PeerIndex, netip.MustParsePrefix("10.1.0.2/24"), "vb")
		b.AddRoute(Route{Via: netip.MustParseAddr("10.1.0.1")}, "default via 10.1.0.1")
		b.AddRoute(Route{To: netip.MustParsePrefix("10.9.0.0/16"), Via: netip.MustParseAddr("192.0.2.1"), Dev: v.PeerIndex, OnLink: true}, "10.9/16 onlink")
		if err := b.Flush(); err != nil {
			t.Fatal(err)
		}

		ha, err := netlink.NewHandleAt(netns.NsHandle(fdA))
		if err != nil {
			t.Fatal(err)
		}
		defer ha.Close()
		va, err := ha.LinkByName("va")
		if err != nil {
			t.Fatal(err)
		}
		if va.Attrs().MasterIndex != int(br.Index) || va.Attrs().Alias != "a side" || va.Attrs().Index != int(v.Index) {
			t.Errorf("va: master %d alias %q index %d, want %d %q %d", va.Attrs().MasterIndex, va.Attrs().Alias, va.Attrs().Index, br.Index, "a side", v.Index)
		}
		pi, err := ha.LinkGetProtinfo(va)
		if err != nil || !pi.Hairpin {
			t.Errorf("va hairpin: %+v, %v", pi, err)
		}
		hb, err := netlink.NewHandleAt(netns.NsHandle(fdB))
		if err != nil {
			t.Fatal(err)
		}
		defer hb.Close()
		vb, err := hb.LinkByIndex(int(v.PeerIndex))
		if err != nil {
			t.Fatal(err)
		}
		if vb.Attrs().Name != "vb" || vb.Attrs().MTU != 1400 || vb.Attrs().Flags&1 == 0 || vb.Attrs().Alias != "b side" {
			t.Errorf("vb: %+v", vb.Attrs())
		}
		addrs, _ := hb.AddrList(vb, unix.AF_INET)
		if len(addrs) != 1 || addrs[0].IPNet.String() != "10.1.0.2/24" || addrs[0].Broadcast.String() != "10.1.0.255" {
			t.Errorf("vb addresses: %v", addrs)
		}
		routes, _ := hb.RouteList(nil, unix.AF_INET)
		var got []string
		for _, r := range routes {
			got = append(got, r.String())
		}
		if s := strings.Join(got, "\n"); !strings.Contains(s, "Gw: 10.1.0.1") || !strings.Contains(s, "Dst: 10.9.0.0/16") {
			t.Errorf("routes:\n%s", s)
		}
	})
}

func TestBatchErrorsNameTheRequest(t *testing.T) {
	inScratch(t, func(a, _ *Conn, _, fdB int) {
		a.AddBridge("br0", 0, nil)
		a.AddBridge("br0", 0, nil) // exists
		a.AddBridge("br1", 0, nil) // still made: each message of a batch stands alone
		err := a.Flush()
		if !errors.Is(err, unix.EEXIST) || !strings.Contains(err.Error(), "add bridge br0") {
			t.Fatalf("err = %v, want add bridge br0: EEXIST", err)
		}
		if !IsExist(err) {
			t.Errorf("IsExist(%v) = false", err)
		}
		a.SetLink(LinkSet{Name: "br1", Up: true})
		if err := a.Flush(); err != nil {
			t.Errorf("br1 should exist: %v", err)
		}
		a.SetLink(LinkSet{Name: "nope", Up: true})
		if err := a.Flush(); !errors.Is(err, unix.ENODEV) || !strings.Contains(err.Error(), "configure nope") {
			t.Errorf("err = %v, want configure nope: ENODEV", err)
		}
		// A batch bigger than one sendmsg is split and still fully acknowledged.
		for i := range 3 * maxBatchOps {
			a.AddVeth(Veth{Name: "x" + strconv.Itoa(i), NetNS: NoNS, PeerName: "y" + strconv.Itoa(i), PeerNetNS: fdB}, nil)
		}
		if err := a.Flush(); err != nil {
			t.Fatal(err)
		}
		if a.Pending() != 0 {
			t.Errorf("pending after flush: %d", a.Pending())
		}
		hb, err := netlink.NewHandleAt(netns.NsHandle(fdB))
		if err != nil {
			t.Fatal(err)
		}
		defer hb.Close()
		links, _ := hb.LinkList()
		if len(links) != 1+3*maxBatchOps { // lo and the peers
			t.Errorf("%d links in b, want %d", len(links), 1+3*maxBatchOps)
		}
	})
}
