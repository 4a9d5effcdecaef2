package floor

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/labctl/labctl/node/nodetest"
	"github.com/labctl/labctl/topo"
	"github.com/labctl/labctl/topo/plan"
)

const lab = `apiVersion: labctl.dev/v1
kind: Lab
name: floortest
networks: [{name: lan, cidr: 10.9.0.0/24}]
hosts:
  - {name: a, interfaces: [lan], routes: [{to: 10.8.0.0/24, via: r}]}
  - {name: r, interfaces: [lan], forwarding: true}
  - {name: b, routes: [{to: default, via: r}]}
links:
  - {between: [r, b], cidr: 10.8.0.0/24}
`

// The floor builds the same addresses and routes as labctl (it is only a fair
// yardstick if it does), and Remove leaves nothing.
func TestFloorBuildsThePlan(t *testing.T) {
	nodetest.RequireRoot(t)
	l, err := topo.Parse("floor.yaml", []byte(lab))
	if err != nil {
		t.Fatal(err)
	}
	p, err := topo.Compile(l, topo.CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	prefix := plan.InstancePrefix("fl-floortest")
	built, err := Build(p, prefix, runtime.NumCPU())
	t.Cleanup(func() {
		if err := built.Remove(); err != nil {
			t.Error(err)
		}
		left, _ := filepath.Glob("/run/netns/" + prefix + "*")
		if len(left) > 0 {
			t.Errorf("left after Remove: %v", left)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, host := range []string{"a", "r", "b"} {
		h := handle(t, prefix+host)
		var got []string
		addrs, _ := h.AddrList(nil, netlink.FAMILY_V4)
		for _, a := range addrs {
			got = append(got, a.IPNet.String())
		}
		routes, _ := h.RouteList(nil, netlink.FAMILY_V4)
		for _, r := range routes {
			if r.Gw != nil {
				got = append(got, "via "+r.Gw.String())
			}
		}
		want := map[string][]string{"a": {"10.9.0.1/24", "via 10.9.0.2"}, "r": {"10.9.0.2/24", "10.8.0.1/24"}, "b": {"10.8.0.2/24", "via 10.8.0.1"}}[host]
		for _, w := range want {
			if !strings.Contains(strings.Join(got, " "), w) {
				t.Errorf("host %s: %v, want %s", host, got, w)
			}
		}
	}
}

func handle(t *testing.T, name string) *netlink.Handle {
	t.Helper()
	fd, err := netns.GetFromPath(filepath.Join("/run/netns", name))
	if err != nil {
		t.Fatal(err)
	}
	defer fd.Close()
	h, err := netlink.NewHandleAt(fd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}
