package rtnl

import (
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

func mustMAC(t *testing.T, s string) net.HardwareAddr {
	t.Helper()
	m, err := net.ParseMAC(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// A bridge and both ends of a veth take the MACs asked at creation, the bridge keeps
// its own when a port joins, and a permanent entry written in a batch is there,
// replacing whatever entry the address had.
func TestMACsAndPermanentNeighbours(t *testing.T) {
	inScratch(t, func(a, b *Conn, fdA, fdB int) {
		brMAC, aMAC, bMAC := mustMAC(t, "02:00:00:00:00:01"), mustMAC(t, "02:00:00:00:00:02"), mustMAC(t, "02:00:00:00:00:03")
		var br, v Link
		a.AddBridgeMAC("br0", 0, brMAC, &br)
		if err := a.Flush(); err != nil || br.Index == 0 {
			t.Fatalf("bridge: index %d, err %v", br.Index, err)
		}
		// The port's MAC is lower than the bridge's: without a MAC of its own the
		// bridge would take it.
		portMAC := mustMAC(t, "00:00:5e:00:53:01")
		a.AddVeth(Veth{Name: "va", Up: true, Master: br.Index, NetNS: NoNS, MAC: portMAC, PeerName: "vb", PeerNetNS: fdB, PeerMAC: bMAC}, &v)
		a.AddAddr(br.Index, netip.MustParsePrefix("10.1.0.1/24"), "br0")
		if err := a.Flush(); err != nil {
			t.Fatal(err)
		}
		b.SetLink(LinkSet{Index: v.PeerIndex, Up: true})
		b.AddAddr(v.PeerIndex, netip.MustParsePrefix("10.1.0.2/24"), "vb")
		b.AddNeigh(v.PeerIndex, netip.MustParseAddr("10.1.0.1"), brMAC, "vb")
		b.AddNeigh(v.PeerIndex, netip.MustParseAddr("10.1.0.1"), brMAC, "vb") // replaces, no EEXIST
		b.AddNeigh(v.PeerIndex, netip.MustParseAddr("10.1.0.3"), aMAC, "vb")
		a.AddNeigh(br.Index, netip.MustParseAddr("10.1.0.2"), bMAC, "br0")
		if err := b.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := a.Flush(); err != nil {
			t.Fatal(err)
		}

		ha, err := netlink.NewHandleAt(netns.NsHandle(fdA))
		if err != nil {
			t.Fatal(err)
		}
		defer ha.Close()
		hb, err := netlink.NewHandleAt(netns.NsHandle(fdB))
		if err != nil {
			t.Fatal(err)
		}
		defer hb.Close()
		for _, c := range []struct {
			h    *netlink.Handle
			idx  int32
			want net.HardwareAddr
		}{{ha, br.Index, brMAC}, {ha, v.Index, portMAC}, {hb, v.PeerIndex, bMAC}} {
			l, err := c.h.LinkByIndex(int(c.idx))
			if err != nil {
				t.Fatal(err)
			}
			if l.Attrs().HardwareAddr.String() != c.want.String() {
				t.Errorf("%s: MAC %s, want %s", l.Attrs().Name, l.Attrs().HardwareAddr, c.want)
			}
		}
		neighs, err := hb.NeighList(int(v.PeerIndex), unix.AF_INET)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, n := range neighs {
			got = append(got, n.IP.String()+" "+n.HardwareAddr.String()+" "+neighState(n.State))
		}
		slices.Sort(got) // the kernel lists them in hash order
		want := "10.1.0.1 " + brMAC.String() + " permanent, 10.1.0.3 " + aMAC.String() + " permanent"
		if strings.Join(got, ", ") != want {
			t.Errorf("neighbours of vb: %q, want %q", strings.Join(got, ", "), want)
		}
		neighs, _ = ha.NeighList(int(br.Index), unix.AF_INET)
		if len(neighs) != 1 || neighs[0].State != unix.NUD_PERMANENT {
			t.Errorf("neighbours of br0: %+v", neighs)
		}
	})
}

func TestAddNeighErrorNamesTheEntry(t *testing.T) {
	inScratch(t, func(a, _ *Conn, _, _ int) {
		a.AddNeigh(999, netip.MustParseAddr("10.1.0.1"), []byte{2, 0, 0, 0, 0, 1}, "eth9")
		err := a.Flush()
		if err == nil || !strings.Contains(err.Error(), "add neighbour 10.1.0.1 lladdr 02:00:00:00:00:01 dev eth9") {
			t.Fatalf("err = %v, want one naming the entry", err)
		}
	})
}

func neighState(s int) string {
	if s == unix.NUD_PERMANENT {
		return "permanent"
	}
	return fmt.Sprintf("state %#x", s)
}

// BenchmarkAddNeigh measures one permanent entry, batched as up writes them: the
// 1,000-Pod cluster writes about 24,600 of them.
func BenchmarkAddNeigh(tb *testing.B) {
	inScratch(tb, func(a, _ *Conn, _, _ int) {
		var d Link
		a.AddBridge("br0", 0, &d)
		if err := a.Flush(); err != nil {
			tb.Fatal(err)
		}
		mac := []byte{2, 0, 0, 0, 0, 1}
		tb.ResetTimer()
		for i := range tb.N {
			ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
			a.AddNeigh(d.Index, ip, mac, "br0")
		}
		if err := a.Flush(); err != nil {
			tb.Fatal(err)
		}
	})
}
