package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/labctl/labctl/node/nodetest"
	"github.com/labctl/labctl/topo"
	"github.com/labctl/labctl/topo/plan"
)

// basicLab is labs/basic.yaml without the agent: client -> router (DNAT :80) -> server.
const basicLab = `apiVersion: labctl.dev/v1
kind: Lab
name: NAME
networks:
  - {name: internet, cidr: 203.0.113.0/24}
hosts:
  - name: client
    interfaces: [internet]
    routes: [{to: 192.168.1.0/24, via: router}]
  - name: router
    forwarding: true
    interfaces: [{network: internet, address: 203.0.113.254}]
    iptables: |
      iptables -t nat -A PREROUTING -d 203.0.113.254 -p tcp --dport 80 -j DNAT --to-destination 192.168.1.2:8080
  - name: server
    routes: [{to: default, via: router}]
links:
  - {between: [router, server], cidr: 192.168.1.0/24}
`

// compileLab compiles src with a fresh lab name so tests never meet a running lab.
func compileLab(t testing.TB, src string) *plan.Plan {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	name := "t" + hex.EncodeToString(b)
	lab, err := topo.Parse("test.yaml", []byte(strings.Replace(src, "name: NAME", "name: "+name, 1)))
	if err != nil {
		t.Fatal(err)
	}
	p, err := topo.Compile(lab, topo.CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// upForTest builds a plan and removes it when the test ends, pass or fail.
func upForTest(t *testing.T, p *plan.Plan) *UpResult {
	t.Helper()
	t.Cleanup(func() {
		if _, err := Down(p.Instance); err != nil {
			t.Errorf("down: %v", err)
		}
	})
	res, err := Up(context.Background(), p, UpOptions{})
	if err != nil {
		t.Fatalf("up: %v", err)
	}
	return res
}

func TestUpDownBasic(t *testing.T) {
	nodetest.RequireRoot(t)
	before := nodetest.SnapshotRoot(t)
	p := compileLab(t, basicLab)
	upForTest(t, p)

	for _, n := range p.Namespaces {
		if !netnsExists(n.NetNS) {
			t.Errorf("namespace %s missing after up", n.NetNS)
		}
	}
	assertAddr(t, p.Namespace("client").NetNS, "eth0", "203.0.113.1/24")
	assertAddr(t, p.Namespace("server").NetNS, "eth0", "192.168.1.2/24")
	assertHairpin(t, p.Namespace("internet").NetNS, "client", false)

	// Real traffic through the router's DNAT: the server sees the client's address.
	ln := listenIn(t, p.Namespace("server").NetNS, "tcp", ":8080")
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		io.WriteString(c, c.RemoteAddr().String())
		c.Close()
	}()
	seen := dialIn(t, p.Namespace("client").NetNS, "203.0.113.254:80")
	if !strings.HasPrefix(seen, "203.0.113.1:") {
		t.Errorf("server saw %q, want the client 203.0.113.1", seen)
	}

	res, err := Down(p.Instance)
	if err != nil {
		t.Fatal(err)
	}
	if res.Namespaces != len(p.Namespaces) {
		t.Errorf("down removed %d namespaces, want %d", res.Namespaces, len(p.Namespaces))
	}
	if left, _ := listNetns(plan.InstancePrefix(p.Instance)); len(left) > 0 {
		t.Errorf("namespaces left after down: %v", left)
	}
	if _, err := os.Stat(instanceDir(p.Instance)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state directory left after down: %v", err)
	}
	if changed := before.Diff(nodetest.SnapshotRoot(t)); len(changed) > 0 {
		t.Errorf("root namespace changed: %v", changed)
	}
}

func TestUpAgainIsNoOpOrRefused(t *testing.T) {
	nodetest.RequireRoot(t)
	p := compileLab(t, basicLab)
	upForTest(t, p)
	res, err := Up(context.Background(), p, UpOptions{})
	if err != nil || !res.AlreadyUp {
		t.Fatalf("second up of the same plan: got %+v, %v; want a no-op", res, err)
	}
	changed := *p
	changed.Description = "changed"
	if _, err := Up(context.Background(), &changed, UpOptions{}); !errors.Is(err, ErrRunning) || !strings.Contains(err.Error(), "--replace") {
		t.Fatalf("up of a changed plan: got %v; want ErrRunning naming --replace", err)
	}
	res, err = Up(context.Background(), &changed, UpOptions{Replace: true})
	if err != nil || res.AlreadyUp {
		t.Fatalf("up --replace: %+v, %v", res, err)
	}
}

func TestTwoLabsWithSameHostNames(t *testing.T) {
	nodetest.RequireRoot(t)
	a, b := compileLab(t, basicLab), compileLab(t, basicLab)
	upForTest(t, a)
	upForTest(t, b)
	if a.Namespace("client").NetNS == b.Namespace("client").NetNS {
		t.Fatal("two labs share a namespace name")
	}
	assertAddr(t, a.Namespace("client").NetNS, "eth0", "203.0.113.1/24")
	assertAddr(t, b.Namespace("client").NetNS, "eth0", "203.0.113.1/24")
}

func TestDownIsIdempotent(t *testing.T) {
	nodetest.RequireRoot(t)
	res, err := Down("tneverexisted")
	if err != nil || res.Existed {
		t.Fatalf("down of an unknown lab: %+v, %v", res, err)
	}
}

func TestLongNamesFitIFNAMSIZ(t *testing.T) {
	nodetest.RequireRoot(t)
	src := `apiVersion: labctl.dev/v1
kind: Lab
name: NAME
networks: [{name: a-network-with-a-long-name, cidr: 10.9.0.0/24}]
hosts:
  - name: a-host-whose-name-is-forty-characters-xx
    interfaces: [a-network-with-a-long-name]
  - name: a-host-whose-name-is-forty-characters-yy
    interfaces: [a-network-with-a-long-name]
`
	p := compileLab(t, src)
	upForTest(t, p)
	for _, v := range p.Veths {
		for _, e := range []plan.End{v.A, v.B} {
			if len(e.Name) > 15 {
				t.Errorf("interface name %q is longer than 15", e.Name)
			}
		}
	}
}

func assertAddr(t *testing.T, netnsName, dev, want string) {
	t.Helper()
	h := handleIn(t, netnsName)
	link, err := h.LinkByName(dev)
	if err != nil {
		t.Fatalf("%s: %v", netnsName, err)
	}
	addrs, err := h.AddrList(link, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if a.IPNet.String() == want {
			return
		}
	}
	t.Errorf("%s %s: addresses %v, want %s", netnsName, dev, addrs, want)
}

func assertHairpin(t *testing.T, netnsName, port string, want bool) {
	t.Helper()
	h := handleIn(t, netnsName)
	link, err := h.LinkByName(port)
	if err != nil {
		t.Fatal(err)
	}
	pi, err := h.LinkGetProtinfo(link)
	if err != nil {
		t.Fatalf("%s %s: bridge port info: %v", netnsName, port, err)
	}
	if pi.Hairpin != want {
		t.Errorf("%s %s: hairpin %v, want %v", netnsName, port, pi.Hairpin, want)
	}
}

func handleIn(t *testing.T, netnsName string) *netlink.Handle {
	t.Helper()
	fd, err := netns.GetFromPath(NetnsPath(netnsName))
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

func listenIn(t *testing.T, netnsName, network, addr string) net.Listener {
	t.Helper()
	var ln net.Listener
	err := InNetns(netnsName, func() (err error) {
		ln, err = net.Listen(network, addr)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln
}

func dialIn(t *testing.T, netnsName, addr string) string {
	t.Helper()
	var conn net.Conn
	err := InNetns(netnsName, func() (err error) {
		conn, err = net.DialTimeout("tcp", addr, 3*time.Second)
		return err
	})
	if err != nil {
		t.Fatalf("dial %s from %s: %v", addr, netnsName, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(3 * time.Second))
	b, err := io.ReadAll(conn)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
