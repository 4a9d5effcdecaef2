package topo

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const header = "apiVersion: labctl.dev/v1\nkind: Lab\nname: t\n"

// TestProblems checks that each kind of mistake is reported at its line and column,
// with a message saying what is wrong (and all mistakes of a file at once).
func TestProblems(t *testing.T) {
	cases := []struct {
		name string
		body string
		want []string // "line:col: message substring"
	}{
		{"unknown key with suggestion", "hosts:\n  - name: a\n    interfaces:\n      - {network: n, adress: 10.0.0.1}\nnetworks: [{name: n, cidr: 10.0.0.0/24}]\n",
			[]string{`7:22: hosts[0].interfaces[0]: unknown key "adress"`}},
		{"bad cidr", "networks:\n  - {name: n, cidr: 10.0.0.300/24}\n", []string{`5:21: network n: "10.0.0.300/24" is not a CIDR`}},
		{"host bits in cidr", "networks:\n  - {name: n, cidr: 10.0.0.1/24}\n", []string{`5:21: network n: 10.0.0.1/24 has host bits set`}},
		{"duplicate names", "networks: [{name: a}]\nhosts:\n  - name: a\n", []string{`6:5: host name "a" is already used by the network at line 4`}},
		{"unknown network", "networks: [{name: lan, cidr: 10.0.0.0/24}]\nhosts:\n  - name: h\n    interfaces: [{network: lna}]\n",
			[]string{`7:28: host h: unknown network "lna"`}},
		{"name too long", "hosts:\n  - name: " + strings.Repeat("x", 41) + "\n", []string{`5:5: host name "xxx`}},
		{"invalid name", "hosts:\n  - name: Node_1\n", []string{`5:5: host name "Node_1" is not valid`}},
		{"interface name too long", "networks: [{name: n, cidr: 10.0.0.0/24}]\nhosts:\n  - name: h\n    interfaces: [{network: n, name: averyveryverylongname}]\n",
			[]string{`7:37: host h: interface name "averyveryverylongname" is longer than 15 bytes`}},
		{"duplicate address", "networks: [{name: n, cidr: 10.0.0.0/24}]\nhosts:\n  - {name: a, interfaces: [{network: n, address: 10.0.0.5}]}\n  - {name: b, interfaces: [{network: n, address: 10.0.0.5}]}\n",
			[]string{`7:50: address 10.0.0.5 of b eth0 is already used by a eth0`}},
		{"overlapping networks", "networks:\n  - {name: a, cidr: 10.0.0.0/16}\n  - {name: b, cidr: 10.0.1.0/24}\n", []string{`6:5: network b (10.0.1.0/24) overlaps network a (10.0.0.0/16)`}},
		{"address outside subnet", "networks: [{name: n, cidr: 10.0.0.0/24}]\nhosts:\n  - {name: a, interfaces: [{network: n, address: 10.9.0.5}]}\n",
			[]string{`6:50: a eth0: address 10.9.0.5 is outside network n`}},
		{"gateway off subnet", "networks: [{name: n, cidr: 10.0.0.0/24}]\nhosts:\n  - name: a\n    interfaces: [n]\n    routes: [{to: default, via: 10.9.9.9}]\n",
			[]string{`8:33: host a: gateway 10.9.9.9 is not on any subnet of this host`}},
		{"route via stranger", "networks: [{name: n, cidr: 10.0.0.0/24}, {name: m, cidr: 10.1.0.0/24}]\nhosts:\n  - {name: a, interfaces: [n], routes: [{to: default, via: b}]}\n  - {name: b, interfaces: [m]}\n",
			[]string{`6:60: host a: route via b: the two hosts share no segment`}},
		{"machine-wide sysctl", "hosts:\n  - name: a\n    sysctls: {kernel.pid_max: 100}\n", []string{`6:14: host a: sysctl kernel.pid_max is not a network namespace setting`}},
		{"wrong type", "hosts:\n  - name: a\n    forwarding: yes please\n", []string{`6:17: hosts[0].forwarding: expected true or false, got "yes please"`}},
		{"not a list", "hosts:\n  name: a\n", []string{`5:3: hosts: expected a list`}},
		{"bad iptables target", "hosts:\n  - name: a\n    iptables: |\n      iptables -t nat -A POSTROUTING -j NOPE\n", []string{`7:41: host a: iptables: unknown target NOPE`}},
		{"pod on unknown node", "cluster:\n  nodes: [{name: node-1}]\n  pods: [{name: p, node: node-9}]\n",
			[]string{`6:26: pod p: unknown node "node-9"`}},
		{"service port problems", "cluster:\n  nodes: [{name: n1}]\n  services:\n    - name: s\n      ports: [{port: 80}, {port: 81}]\n",
			[]string{`8:27: service s: port 81 has no name`, `8:15: service s: port 80 has no name`}},
		{"clusterIP outside service CIDR", "cluster:\n  nodes: [{name: n1}]\n  services:\n    - {name: s, clusterIP: 10.0.0.1, ports: [{port: 80}]}\n",
			[]string{`7:28: service s: clusterIP 10.0.0.1 is outside the service CIDR 10.96.0.0/12`}},
		{"nodePort on ClusterIP", "cluster:\n  nodes: [{name: n1}]\n  services:\n    - {name: s, ports: [{port: 80, nodePort: 30080}]}\n",
			[]string{`7:46: service s: nodePort needs type NodePort or LoadBalancer`}},
		{"podCIDR outside cluster CIDR", "cluster:\n  nodes: [{name: n1, podCIDR: 10.1.0.0/24}]\n",
			[]string{`5:31: node n1: podCIDR 10.1.0.0/24 is outside the cluster CIDR 10.244.0.0/16`}},
		{"unknown cni backend", "cluster:\n  cni: {backend: calico}\n  nodes: [{name: n1}]\n",
			[]string{`5:18: cluster.cni.backend: "calico" is not supported`}},
		{"selector and endpoints", "cluster:\n  nodes: [{name: n1}]\n  services:\n    - {name: s, selector: {a: b}, endpoints: [10.244.1.9], ports: [{port: 80}]}\n",
			[]string{`7:46: service s: has both a selector and explicit endpoints`}},
		{"network address", "networks: [{name: n, cidr: 10.0.0.0/24}]\nhosts:\n  - {name: a, interfaces: [{network: n, address: 10.0.0.0}]}\n",
			[]string{`6:50: a eth0: 10.0.0.0 is the network address of 10.0.0.0/24`}},
		{"broadcast address with length", "networks: [{name: n, cidr: 10.0.0.0/24}]\nhosts:\n  - {name: a, interfaces: [{network: n, address: 10.0.0.255/24}]}\n",
			[]string{`6:50: a eth0: 10.0.0.255 is the broadcast address of 10.0.0.0/24`}},
		{"broadcast address of a link without cidr", "hosts: [{name: a}, {name: b}]\nlinks:\n  - between: [{host: a, address: 10.1.0.3/30}, {host: b, address: 10.1.0.1/30}]\n",
			[]string{`6:34: a eth0: 10.1.0.3 is the broadcast address of 10.1.0.0/30`}},
		{"vni out of range", "cluster:\n  cni: {backend: vxlan, vni: 16777216}\n  nodes: [{name: n1}]\n",
			[]string{`5:30: cluster.cni.vni: 16777216 is out of range`}},
		{"vni too long for a device name", "cluster:\n  cni: {backend: vxlan, vni: 10000000}\n  nodes: [{name: n1}]\n",
			[]string{`5:30: cluster.cni.vni: 10000000 makes the device name flannel.10000000, longer than 15 bytes`}},
		{"vxlan port out of range", "cluster:\n  cni: {backend: vxlan, port: 70000}\n  nodes: [{name: n1}]\n",
			[]string{`5:31: cluster.cni.port: 70000 is out of range`}},
		{"several at once", "networks:\n  - {name: n, cidr: nope}\nhosts:\n  - {name: a, interfaces: [m]}\n  - {name: a}\n",
			[]string{`5:21: network n: "nope" is not a CIDR`, `7:28: host a: unknown network "m"`, `8:5: host name "a" is already used`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := problemsOf(t, header+c.body)
			for _, w := range c.want {
				if !containsPrefix(got, "lab.yaml:"+w) {
					t.Errorf("missing problem %q in:\n%s", w, strings.Join(got, "\n"))
				}
			}
			if len(got) != len(c.want) {
				t.Errorf("got %d problems, want %d:\n%s", len(got), len(c.want), strings.Join(got, "\n"))
			}
		})
	}
}

func TestSyntaxErrorHasLine(t *testing.T) {
	got := problemsOf(t, header+"hosts:\n  - name: a\n   bad: [\n")
	if len(got) != 1 || !strings.HasPrefix(got[0], "lab.yaml:4:1: not valid YAML") {
		t.Fatalf("got %q", got)
	}
}

func TestHeaderProblems(t *testing.T) {
	got := problemsOf(t, "apiVersion: labctl.dev/v9\nkind: Laboratory\n")
	want := []string{`1:13: apiVersion "labctl.dev/v9" is not supported`, `2:7: kind "Laboratory" is not supported`}
	for _, w := range want {
		if !containsPrefix(got, "lab.yaml:"+w) {
			t.Errorf("missing %q in %q", w, got)
		}
	}
	if !containsPrefix(got, `lab.yaml:1:1: lab: missing required key "name"`) {
		t.Errorf("missing name problem in %q", got)
	}
}

// problemsOf decodes and compiles a lab and returns its problems, one line each.
func problemsOf(t *testing.T, src string) []string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "lab.yaml")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := CompileFile(path, CompileOptions{})
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("want Problems, got %v", err)
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = fmt.Sprintf("%s:%d:%d: %s", filepath.Base(p.File), p.Line, p.Col, p.Msg)
	}
	return out
}

func containsPrefix(lines []string, prefix string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			return true
		}
	}
	return false
}
