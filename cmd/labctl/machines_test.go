package main

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vishvananda/netns"

	"github.com/labctl/labctl/node"
	"github.com/labctl/labctl/node/nodetest"
	"github.com/labctl/labctl/topo/plan"
)

// splitLabFile is the LB -> NodePort -> Pod lab spread over machines a and b.
const splitLabFile = "../../topo/testdata/machines/lb-nodeport.yaml"

// machines simulates two machines on this one: two namespaces labctl does not own,
// joined by a veth with documentation-range addresses (the underlay). They are
// removed when the test ends, failed or not, after everything registered later.
type machines struct {
	ns   map[string]string // machine -> namespace
	link string            // the underlay veth's name in each namespace
}

func simulateMachines(t testing.TB) *machines {
	t.Helper()
	suffix := uniqueLabName()[1:5]
	m := &machines{ns: map[string]string{"a": "lcsim-" + suffix + "-a", "b": "lcsim-" + suffix + "-b"}, link: "underlay"}
	t.Cleanup(func() {
		for _, n := range m.ns {
			_ = exec.Command("ip", "netns", "del", n).Run()
		}
	})
	for _, n := range m.ns {
		mustRun(t, "ip", "netns", "add", n)
	}
	mustRun(t, "ip", "link", "add", m.link, "netns", m.ns["a"], "type", "veth", "peer", "name", m.link, "netns", m.ns["b"])
	for name, addr := range map[string]string{"a": "192.0.2.1/24", "b": "192.0.2.2/24"} {
		mustRun(t, "ip", "-n", m.ns[name], "addr", "add", addr, "dev", m.link)
		mustRun(t, "ip", "-n", m.ns[name], "link", "set", m.link, "up")
		mustRun(t, "ip", "-n", m.ns[name], "link", "set", "lo", "up")
	}
	return m
}

// mustRun returns a command's standard output. Its warnings stay out of it: ip, for
// one, complains on stderr about namespaces of /run/netns that other tests are
// creating at that moment (an empty file before the bind mount).
func mustRun(t testing.TB, name string, args ...string) string {
	t.Helper()
	var stderr strings.Builder
	cmd := exec.Command(name, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v: %s%s", name, strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// udpPorts lists the UDP ports listening in a namespace (ss -uln).
func udpPorts(t *testing.T, netns string) []int {
	t.Helper()
	var ports []int
	for _, line := range strings.Split(mustRun(t, "ip", "netns", "exec", netns, "ss", "-Hunl"), "\n") {
		f := strings.Fields(line)
		if len(f) < 4 {
			continue
		}
		_, port, _ := strings.Cut(f[3][strings.LastIndex(f[3], ":"):], ":")
		if n, err := strconv.Atoi(port); err == nil {
			ports = append(ports, n)
		}
	}
	return ports
}

// countTunnel adds counting rules (no target: they only count) for UDP to the tunnel
// port in a simulated machine's namespace, which belongs to the test, not to a lab:
// what leaves it (OUTPUT) and what reaches its socket (INPUT).
func (m *machines) countTunnel(t *testing.T, machine string, port int) {
	t.Helper()
	for _, chain := range []string{"INPUT", "OUTPUT"} {
		mustRun(t, "ip", "netns", "exec", m.ns[machine], "iptables", "-w", "-A", chain, "-p", "udp", "--dport", strconv.Itoa(port))
	}
}

// tunnelPackets reads the counters countTunnel added: UDP packets to the tunnel port
// sent and received by the machine.
func (m *machines) tunnelPackets(t *testing.T, machine string, port int) (tx, rx int) {
	t.Helper()
	read := func(chain string) int {
		out := mustRun(t, "ip", "netns", "exec", m.ns[machine], "iptables", "-w", "-nvxL", chain)
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) > 2 && strings.HasSuffix(line, "udp dpt:"+strconv.Itoa(port)) {
				n, _ := strconv.Atoi(f[0])
				return n
			}
		}
		t.Fatalf("no counting rule for udp dpt:%d in %s of machine %s:\n%s", port, chain, machine, out)
		return 0
	}
	return read("OUTPUT"), read("INPUT")
}

// assertShareIntact checks that a share still runs whole: every namespace its plan
// lists, every tunnel device (a VXLAN device to the right VNI), and its tunnels' UDP
// socket in its machine's namespace.
func (m *machines) assertShareIntact(t *testing.T, p *plan.Plan, machine string) {
	t.Helper()
	have := namespacesOf(p.Instance)
	for _, n := range p.Namespaces {
		if !slices.Contains(have, n.NetNS) {
			t.Errorf("machine %s: namespace %s is gone", machine, n.NetNS)
			continue
		}
		for _, tun := range n.Tunnels {
			out, err := exec.Command("ip", "-n", n.NetNS, "-d", "link", "show", tun.Name).CombinedOutput()
			if err != nil || !strings.Contains(string(out), "vxlan id "+strconv.Itoa(tun.VNI)+" ") {
				t.Errorf("machine %s: tunnel %s in %s is not the VXLAN device of VNI %d: %v\n%s", machine, tun.Name, n.NetNS, tun.VNI, err, out)
			}
		}
	}
	if ports := udpPorts(t, m.ns[machine]); !slices.Contains(ports, p.Underlay.Port) {
		t.Errorf("machine %s: its tunnels' UDP socket (port %d) is gone (ss -uln: %v)", machine, p.Underlay.Port, ports)
	}
}

// splitLab writes the split lab under a unique name (extra is appended to probes).
func splitLab(t testing.TB, name, extra string) string {
	t.Helper()
	text := strings.Replace(readFile(t, splitLabFile), "name: lb-split\n", "name: "+name+"\n", 1)
	return writeLab(t, text+extra)
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestSplitLabAcrossMachines builds the LB -> NodePort -> Pod lab over two simulated
// machines and checks: every probe passes from the machine it starts on (a Pod on
// machine a reaching a Service whose only endpoint is on machine b among them); the
// tunnels' sockets are in the machines' namespaces and their devices in the lab's;
// the traffic really crosses the underlay as VXLAN (UDP to the tunnel port, counted
// in each machine's namespace); a check needing the other machine is UNCHECKED and
// fails verify unless accepted; down --machine a leaves machine b's share whole
// (namespaces, tunnel devices, socket); down leaves nothing on either side.
func TestSplitLabAcrossMachines(t *testing.T) {
	nodetest.RequireRoot(t)
	before := nodetest.SnapshotRoot(t)
	m := simulateMachines(t)
	lab := uniqueLabName()
	file := splitLab(t, lab, "")
	for _, name := range []string{"a", "b"} {
		t.Cleanup(func() { runLabctl(t, "", "down", file, "--machine", name) })
	}
	var port int
	shares := map[string]*plan.Plan{}
	for _, name := range []string{"a", "b"} {
		r := runLabctl(t, "", "plan", file, "--machine", name, "--underlay-netns", m.ns[name], "-o", "json")
		var p plan.Plan
		if err := json.Unmarshal([]byte(r.stdout), &p); err != nil || r.code != 0 {
			t.Fatalf("plan --machine %s: %v %s", name, err, r.stderr)
		}
		shares[name], port = &p, p.Underlay.Port
		m.countTunnel(t, name, port)
		if r := runLabctl(t, "", "up", file, "--machine", name, "--underlay-netns", m.ns[name]); r.code != 0 {
			t.Fatalf("up --machine %s: exit %d: %s%s", name, r.code, r.stdout, r.stderr)
		}
		if ports := udpPorts(t, m.ns[name]); !slices.Contains(ports, port) {
			t.Errorf("machine %s: no UDP socket on the tunnel port %d in its namespace (ss -uln: %v)", name, port, ports)
		}
	}
	// The device is in the lab namespace, its socket is not.
	edge := plan.NetNSName(plan.InstanceName(lab, "a"), "edge")
	if out := mustRun(t, "ip", "-n", edge, "-d", "link", "show", "eth0"); !strings.Contains(out, "vxlan id") || !strings.Contains(out, "remote 192.0.2.2") {
		t.Errorf("edge eth0 is not a VXLAN device to machine b:\n%s", out)
	}
	if ports := udpPorts(t, edge); len(ports) != 0 {
		t.Errorf("the lab namespace %s has UDP sockets %v: the tunnel's belongs in the underlay", edge, ports)
	}
	txBefore, rxBefore := m.tunnelPackets(t, "a", port)
	for _, name := range []string{"a", "b"} {
		r := runLabctl(t, "", "verify", file, "--machine", name)
		if r.code != 0 || strings.Contains(r.stdout, "FAIL") || strings.Contains(r.stdout, "UNCHECKED") {
			t.Errorf("verify --machine %s: exit %d:\n%s%s", name, r.code, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stdout, "SKIPPED") {
			t.Errorf("verify --machine %s does not say which probes it skipped:\n%s", name, r.stdout)
		}
	}
	if r := runLabctl(t, "", "verify", file, "--machine", "a", "--run", "only endpoint is on machine b"); !strings.Contains(r.stdout, "PASS") || r.code != 0 {
		t.Errorf("a Pod on machine a did not reach the Service whose only endpoint is on machine b:\n%s%s", r.stdout, r.stderr)
	}
	tx, rx := m.tunnelPackets(t, "a", port)
	t.Logf("machine a during verify: %d UDP packets to port %d sent, %d received", tx-txBefore, port, rx-rxBefore)
	if tx-txBefore < 20 || rx-rxBefore < 20 {
		t.Errorf("machine a sent %d and received %d UDP packets to the tunnel port %d during verify: the probes did not cross the underlay as VXLAN", tx-txBefore, rx-rxBefore, port)
	}
	if btx, brx := m.tunnelPackets(t, "b", port); btx < rx-rxBefore || brx < tx-txBefore {
		t.Errorf("machine b sent %d and received %d tunnel packets in all, fewer than machine a received (%d) and sent (%d) during verify", btx, brx, rx-rxBefore, tx-txBefore)
	}

	remote := splitLab(t, lab, `  - name: node-1's conntrack, asked from machine a
    from: client
    to: loadbalancer/web-local:80
    expect:
      answeredBy: web-0
      conntrack: [{on: node-1, original: "client -> nodeport/web-local@node-1"}]
`)
	r := runLabctl(t, "", "verify", remote, "--machine", "a", "--run", "asked from machine a")
	if r.code != 1 || !strings.Contains(r.stdout, "UNCHECKED") || !strings.Contains(r.stderr, "--accept-unchecked") {
		t.Errorf("a check on another machine's host: want UNCHECKED and exit 1, got exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runLabctl(t, "", "verify", remote, "--machine", "a", "--run", "asked from machine a", "--accept-unchecked"); r.code != 0 {
		t.Errorf("--accept-unchecked: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}

	if r := runLabctl(t, "", "ls"); !strings.Contains(r.stdout, lab+"@a") || !strings.Contains(r.stdout, lab+"@b") {
		t.Errorf("ls does not show both shares:\n%s", r.stdout)
	}
	if r := runLabctl(t, "", "down", file, "--machine", "a", "--underlay-netns", m.ns["a"]); r.code != 0 {
		t.Fatalf("down --machine a: %s%s", r.stdout, r.stderr)
	}
	if _, err := node.ReadState(plan.InstanceName(lab, "b")); err != nil {
		t.Errorf("down --machine a removed machine b's share: %v", err)
	}
	assertGone(t, plan.InstanceName(lab, "a"))
	if ports := udpPorts(t, m.ns["a"]); slices.Contains(ports, port) {
		t.Errorf("machine a: the tunnel socket (port %d) is left after down --machine a", port)
	}
	m.assertShareIntact(t, shares["b"], "b")
	if r := runLabctl(t, "", "down", lab+"@b"); r.code != 0 {
		t.Fatalf("down %s@b: %s%s", lab, r.stdout, r.stderr)
	}
	for _, name := range []string{"a", "b"} {
		assertGone(t, plan.InstanceName(lab, name))
		if ports := udpPorts(t, m.ns[name]); slices.Contains(ports, port) {
			t.Errorf("machine %s: the tunnel socket (port %d) is left after down", name, port)
		}
		if out := mustRun(t, "ip", "-n", m.ns[name], "-o", "link"); strings.Count(out, "\n") != 2 {
			t.Errorf("machine %s's namespace has links other than lo and the underlay after down:\n%s", name, out)
		}
	}
	if diff := before.Diff(nodetest.SnapshotRoot(t)); len(diff) > 0 {
		t.Errorf("the root namespace changed: %v", diff)
	}
}

// TestSplitLabBadInputChangesNothing: a spread lab without --machine, an unknown
// machine, --machine on a lab without machines, and a missing underlay namespace
// all exit 2 before anything is created.
func TestSplitLabBadInputChangesNothing(t *testing.T) {
	nodetest.RequireRoot(t)
	lab := uniqueLabName()
	file := splitLab(t, lab, "")
	plain := writeLab(t, "apiVersion: labctl.dev/v1\nkind: Lab\nname: "+lab+"\nhosts: [{name: h}]\n")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"up", file}, "spread over machines: say which share"},
		{[]string{"up", file, "--machine", "c"}, "has no such machine"},
		{[]string{"up", plain, "--machine", "a"}, "declares no machines"},
		{[]string{"up", file, "--machine", "a", "--underlay-netns", "lcsim-missing-" + lab}, "underlay namespace"},
		{[]string{"up", file, "--underlay-netns", "x"}, "add --machine"},
		{[]string{"up", file, "--machine", "a"}, "underlay address 192.0.2.1"},
		{[]string{"plan", file}, "spread over machines"},
	}
	for _, tc := range cases {
		r := runLabctl(t, "", tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("labctl %s: want exit 2 and %q, got %d:\n%s", strings.Join(tc.args, " "), tc.want, r.code, r.stderr)
		}
		for _, m := range []string{"", "a", "b", "c"} {
			assertGone(t, plan.InstanceName(lab, m))
		}
	}
}

// sharePlan compiles one machine's share with labctl plan -o json.
func sharePlan(t *testing.T, file, machine, underlay string) *plan.Plan {
	t.Helper()
	r := runLabctl(t, "", "plan", file, "--machine", machine, "--underlay-netns", underlay, "-o", "json")
	var p plan.Plan
	if err := json.Unmarshal([]byte(r.stdout), &p); err != nil || r.code != 0 {
		t.Fatalf("plan --machine %s: exit %d: %v %s", machine, r.code, err, r.stderr)
	}
	return &p
}

// TestSplitLabUnderlayRefusals: an underlay whose MTU is too small for the planned
// tunnels (found through dev:, and without it through the route to the peer), a VXLAN
// device of another owner with the same VNI and port, and a UDP port already taken in
// the underlay each stop up --machine with a message that says what to change, and
// leave nothing behind; the MTU the message advises then works.
func TestSplitLabUnderlayRefusals(t *testing.T) {
	nodetest.RequireRoot(t)
	before := nodetest.SnapshotRoot(t)
	m := simulateMachines(t)
	lab := uniqueLabName()
	file := splitLab(t, lab, "")
	inst := plan.InstanceName(lab, "a")
	t.Cleanup(func() { runLabctl(t, "", "down", lab+"@a") })
	up := func(t *testing.T, file string) result {
		t.Helper()
		return runLabctl(t, "", "up", file, "--machine", "a", "--underlay-netns", m.ns["a"])
	}
	refused := func(t *testing.T, r result, code int, want ...string) {
		t.Helper()
		if r.code != code {
			t.Errorf("up --machine a: exit %d, want %d:\n%s%s", r.code, code, r.stdout, r.stderr)
		}
		for _, w := range want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("up --machine a: no %q in:\n%s", w, r.stderr)
			}
		}
		assertGone(t, inst)
		if out := mustRun(t, "ip", "-n", m.ns["a"], "-o", "link"); strings.Count(out, "\n") != 2 {
			t.Errorf("machine a's namespace has links other than lo and the underlay after a refused up:\n%s", out)
		}
	}

	t.Run("mtu", func(t *testing.T) {
		mustRun(t, "ip", "-n", m.ns["a"], "link", "set", m.link, "mtu", "1400")
		defer mustRun(t, "ip", "-n", m.ns["a"], "link", "set", m.link, "mtu", "1500")
		want := []string{"an underlay path to machine b (192.0.2.2) that fits the plan's tunnel MTU of 1450",
			"goes out " + m.link + " (MTU 1400, in netns " + m.ns["a"] + "), which fits 1350", "give the machines mtu: 1400"}
		// Without dev: the route to machine b's address decides the device.
		refused(t, up(t, file), 2, want...)
		// With dev: that device.
		withDev := writeLab(t, strings.Replace(readFile(t, file), "{name: a, address: 192.0.2.1}", "{name: a, address: 192.0.2.1, dev: "+m.link+"}", 1))
		refused(t, up(t, withDev), 2, want...)
		// What the message says to do works: every tunnel of the share gets 1350.
		text := strings.Replace(readFile(t, file), "{name: a, address: 192.0.2.1}", "{name: a, address: 192.0.2.1, mtu: 1400}", 1)
		fixed := writeLab(t, strings.Replace(text, "{name: b, address: 192.0.2.2,", "{name: b, address: 192.0.2.2, mtu: 1400,", 1))
		if r := up(t, fixed); r.code != 0 {
			t.Fatalf("up with mtu: 1400: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
		}
		edge := plan.NetNSName(inst, "edge")
		if out := mustRun(t, "ip", "-n", edge, "link", "show", "eth0"); !strings.Contains(out, "mtu 1350 ") {
			t.Errorf("edge's tunnel with mtu: 1400: want mtu 1350:\n%s", out)
		}
		if r := runLabctl(t, "", "down", lab+"@a"); r.code != 0 {
			t.Fatalf("down: %s", r.stderr)
		}
		assertGone(t, inst)
	})

	p := sharePlan(t, file, "a", m.ns["a"])
	var tun plan.Tunnel
	for _, n := range p.Namespaces {
		if n.Name == "edge" && len(n.Tunnels) == 1 {
			tun = n.Tunnels[0]
		}
	}
	if tun.VNI == 0 {
		t.Fatalf("no tunnel on edge in machine a's plan")
	}

	t.Run("vni and port taken", func(t *testing.T) {
		// Someone else's device in the underlay with edge's VNI and the lab's port.
		mustRun(t, "ip", "-n", m.ns["a"], "link", "add", "other", "type", "vxlan", "id", strconv.Itoa(tun.VNI),
			"dstport", strconv.Itoa(tun.Port), "local", "192.0.2.1", "remote", "192.0.2.2")
		t.Cleanup(func() { _ = exec.Command("ip", "-n", m.ns["a"], "link", "del", "other").Run() })
		r := up(t, file)
		if out := mustRun(t, "ip", "-n", m.ns["a"], "-o", "link"); !strings.Contains(out, "other") {
			t.Errorf("up removed a device that is not the lab's:\n%s", out)
		}
		mustRun(t, "ip", "-n", m.ns["a"], "link", "del", "other")
		refused(t, r, 1, "vni "+strconv.Itoa(tun.VNI), "port "+strconv.Itoa(tun.Port),
			"the underlay already has a VXLAN device with this VNI and UDP port", "options.tunnelPort")
	})

	t.Run("port in use", func(t *testing.T) {
		conn := listenUDPIn(t, m.ns["a"], tun.Port)
		defer conn.Close()
		refused(t, up(t, file), 1, "UDP port "+strconv.Itoa(tun.Port)+" is taken in the underlay by another program", "options.tunnelPort")
	})

	if diff := before.Diff(nodetest.SnapshotRoot(t)); len(diff) > 0 {
		t.Errorf("the root namespace changed: %v", diff)
	}
}

// listenUDPIn opens a UDP socket on port in a named namespace, as another program
// of that machine would; it stays in that namespace after the thread leaves it.
func listenUDPIn(t *testing.T, ns string, port int) *net.UDPConn {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	h, err := netns.GetFromName(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := netns.Set(h); err != nil {
		t.Fatal(err)
	}
	conn, lerr := net.ListenUDP("udp4", &net.UDPAddr{Port: port})
	if err := netns.Set(orig); err != nil {
		panic("cannot return to the test's namespace: " + err.Error()) // the thread must not run on elsewhere
	}
	if lerr != nil {
		t.Fatal(lerr)
	}
	return conn
}
