package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"testing"

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

func mustRun(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
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

func (m *machines) packets(t *testing.T, machine string) (tx, rx int) {
	t.Helper()
	read := func(what string) int {
		out := strings.TrimSpace(mustRun(t, "ip", "netns", "exec", m.ns[machine], "cat", "/sys/class/net/"+m.link+"/statistics/"+what))
		n, _ := strconv.Atoi(out)
		return n
	}
	return read("tx_packets"), read("rx_packets")
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
// the traffic really crosses the underlay veth; a check needing the other machine is
// UNCHECKED and fails verify unless accepted; down leaves nothing on either side.
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
	for _, name := range []string{"a", "b"} {
		r := runLabctl(t, "", "plan", file, "--machine", name, "--underlay-netns", m.ns[name], "-o", "json")
		var p plan.Plan
		if err := json.Unmarshal([]byte(r.stdout), &p); err != nil || r.code != 0 {
			t.Fatalf("plan --machine %s: %v %s", name, err, r.stderr)
		}
		port = p.Underlay.Port
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
	txBefore, rxBefore := m.packets(t, "a")
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
	tx, rx := m.packets(t, "a")
	if tx-txBefore < 20 || rx-rxBefore < 20 {
		t.Errorf("machine a's underlay veth sent %d and received %d packets during verify: the probes did not cross it", tx-txBefore, rx-rxBefore)
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
