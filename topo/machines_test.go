package topo

import (
	"bytes"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/labctl/labctl/topo/plan"
)

// splitLabs are the labs spread over machines: their shares have golden plans.
func splitLabs(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/machines/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no labs in testdata/machines: %v", err)
	}
	return files
}

// TestShareGolden compares each machine's share of each split lab, as text and as
// JSON, with its golden file (go test ./topo -update rewrites them).
func TestShareGolden(t *testing.T) {
	for _, f := range splitLabs(t) {
		lab, err := Load(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range lab.Machines {
			name := strings.TrimSuffix(filepath.Base(f), ".yaml") + "@" + m.Name
			t.Run(name, func(t *testing.T) {
				p, err := Compile(lab, CompileOptions{Machine: m.Name, UnderlayNetNS: "machine-" + m.Name})
				if err != nil {
					t.Fatal(err)
				}
				var text bytes.Buffer
				if err := p.WriteText(&text); err != nil {
					t.Fatal(err)
				}
				golden(t, "golden/machines/"+name+".plan", text.Bytes())
				js, err := json.MarshalIndent(p, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				golden(t, "golden/machines/"+name+".json", append(js, '\n'))
			})
		}
	}
}

// TestSharesAgree checks what both ends of every tunnel must agree on without
// talking to each other, and that a share changes nothing but what it keeps:
// every namespace of a share is the namespace of the whole lab, addresses, routes
// and rules included.
func TestSharesAgree(t *testing.T) {
	for _, f := range splitLabs(t) {
		lab, err := Load(f)
		if err != nil {
			t.Fatal(err)
		}
		whole, err := Compile(lab, CompileOptions{AllMachines: true})
		if err != nil {
			t.Fatal(err)
		}
		type end struct {
			machine string
			t       plan.Tunnel
		}
		bySegment := map[string][]end{}
		hosts := map[string]string{}
		for _, m := range lab.Machines {
			p, err := Compile(lab, CompileOptions{Machine: m.Name})
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range p.Namespaces {
				if n.Kind != plan.KindNetwork {
					if prev, dup := hosts[n.Name]; dup {
						t.Errorf("%s: host %s is on machines %s and %s", f, n.Name, prev, m.Name)
					}
					hosts[n.Name] = m.Name
				}
				w := whole.Namespace(n.Name)
				if w == nil {
					t.Fatalf("%s: share %s has %s, the whole lab does not", f, m.Name, n.Name)
				}
				tunnels := n.Tunnels
				n.Tunnels, n.NetNS = nil, w.NetNS
				wantJS, _ := json.MarshalIndent(w, "", " ")
				gotJS, _ := json.MarshalIndent(n, "", " ")
				if diff := cmp.Diff(string(wantJS), string(gotJS)); diff != "" {
					t.Errorf("%s: share %s changes namespace %s (-whole +share):\n%s", f, m.Name, n.Name, diff)
				}
				for _, e := range p.Ends(n.Name) {
					if !slices.ContainsFunc(whole.Ends(n.Name), func(we plan.End) bool { return cmp.Equal(fmtEnd(we), fmtEnd(e)) }) {
						t.Errorf("%s: share %s: %s %s differs from the whole lab's", f, m.Name, n.Name, e.Name)
					}
				}
				for _, tu := range tunnels {
					bySegment[tu.Segment] = append(bySegment[tu.Segment], end{m.Name, tu})
				}
			}
		}
		for _, w := range whole.Namespaces {
			if _, ok := hosts[w.Name]; !ok && w.Kind != plan.KindNetwork {
				t.Errorf("%s: host %s is in no share", f, w.Name)
			}
		}
		for seg, ends := range bySegment {
			if len(ends) < 2 {
				t.Errorf("%s: %s has a tunnel end on %d machine only", f, seg, len(ends))
				continue
			}
			for _, e := range ends[1:] {
				if e.t.VNI != ends[0].t.VNI || e.t.Port != ends[0].t.Port || e.t.MTU != ends[0].t.MTU {
					t.Errorf("%s: %s: machine %s has vni %d port %d mtu %d, machine %s vni %d port %d mtu %d", f, seg, ends[0].machine, ends[0].t.VNI, ends[0].t.Port, ends[0].t.MTU, e.machine, e.t.VNI, e.t.Port, e.t.MTU)
				}
			}
		}
	}
}

// TestPlacement checks where hosts go: explicit machine:, a machine's hosts list,
// cluster.placement spread (round-robin), Pods with their node, a host on another
// host's bridge with that host, and the first machine by default.
func TestPlacement(t *testing.T) {
	body := `machines:
  - {name: a, address: 192.0.2.1}
  - {name: b, address: 192.0.2.2, hosts: [listed]}
  - {name: c, address: 192.0.2.3}
networks: [{name: lan, cidr: 10.0.0.0/24}]
hosts:
  - {name: plain, interfaces: [lan]}
  - {name: pinned, machine: c, interfaces: [lan]}
  - {name: listed, interfaces: [lan]}
  - {name: rider, interfaces: [{bridge: n2/cni0}]}
cluster:
  placement: spread
  nodes: [{name: n1}, {name: n2}, {name: n3}, {name: n4}, {name: n5, machine: a}]
  pods: [{name: p2, node: n2}, {name: p4, node: n4}]
`
	want := map[string]string{"plain": "a", "pinned": "c", "listed": "b", "rider": "b", "n1": "a", "n2": "b", "n3": "c", "n4": "a", "n5": "a", "p2": "b", "p4": "a"}
	got := map[string]string{}
	for _, m := range []string{"a", "b", "c"} {
		p := compileBody(t, body, CompileOptions{Machine: m})
		for _, n := range p.Namespaces {
			if n.Kind != plan.KindNetwork {
				got[n.Name] = m
			}
		}
		for _, r := range p.Elsewhere {
			if want[r.Name] != r.Machine {
				t.Errorf("share %s says %s is on %s, want %s", m, r.Name, r.Machine, want[r.Name])
			}
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("placement (-want +got):\n%s", diff)
	}
}

// TestDerivation pins the VNI and port derivation (changing it breaks labs whose
// machines run different labctl versions) and checks collision resolution.
func TestDerivation(t *testing.T) {
	if got := derivePort("lb-split"); got != 27978 {
		t.Errorf("derivePort(lb-split) = %d, want 27978", got)
	}
	if got := deriveVNI("lb-split", "network nodes"); got != 10909559 {
		t.Errorf("deriveVNI(lb-split, network nodes) = %d, want 10909559", got)
	}
	if deriveVNI("lab-a", "network nodes") == deriveVNI("lab-b", "network nodes") {
		t.Error("two labs derive the same VNI for a network of the same name")
	}
	for _, lab := range []string{"a", "b", "workshop", strings.Repeat("z", 24)} {
		if p := derivePort(lab); p < portMin || p > portMax {
			t.Errorf("derivePort(%s) = %d is outside %d..%d", lab, p, portMin, portMax)
		}
	}
	// Everything derives the same VNI: resolved in identity order, whatever order
	// the segments come in, wrapping at the top of the range.
	same := func(string) int { return vniMax }
	got := resolveVNIs([]string{"link c", "network a", "link b"}, same)
	want := map[string]int{"link b": vniMax, "link c": vniMin, "network a": vniMin + 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("resolveVNIs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(got, resolveVNIs([]string{"network a", "link b", "link c"}, same)); diff != "" {
		t.Errorf("resolveVNIs depends on the order of segments:\n%s", diff)
	}
}

// TestTunnelMTU checks that a spanning segment, its members and the Pods behind a
// tunnelled node network get an MTU that fits the underlay once encapsulated.
func TestTunnelMTU(t *testing.T) {
	p := compileBody(t, `machines:
  - {name: a, address: 192.0.2.1}
  - {name: b, address: 192.0.2.2, mtu: 1400}
cluster:
  cni: {backend: vxlan}
  placement: spread
  nodes: [{name: n1}, {name: n2}]
  pods: [{name: p1, node: n1}]
`, CompileOptions{Machine: "a"})
	nodes := p.Namespace("nodes")
	if len(nodes.Tunnels) != 1 || nodes.Tunnels[0].MTU != 1350 || nodes.Bridges[0].MTU != 1350 {
		t.Errorf("node network: tunnels %+v bridge %+v, want MTU 1350 (b's underlay 1400 - 50)", nodes.Tunnels, nodes.Bridges)
	}
	if v := p.Namespace("n1").Vxlans; len(v) != 1 || v[0].MTU != 1300 {
		t.Errorf("flannel.1 on n1: %+v, want MTU 1300 (node network 1350 - 50)", v)
	}
	for _, e := range p.Ends("p1") {
		if e.MTU != 1300 {
			t.Errorf("pod p1 %s: MTU %d, want 1300", e.Name, e.MTU)
		}
	}
}

// TestMachineProblems checks each mistake of a spread lab is reported where it was
// written, and that no share is compiled from a wrong --machine.
func TestMachineProblems(t *testing.T) {
	two := "machines:\n  - {name: a, address: 192.0.2.1}\n  - {name: b, address: 192.0.2.2}\n"
	cases := []struct {
		name string
		body string
		opts CompileOptions
		want string
	}{
		{"no --machine", two + "hosts: [{name: h}]\n", CompileOptions{}, "5:3: lab t is spread over machines: say which share to use"},
		{"unknown --machine", two + "hosts: [{name: h}]\n", CompileOptions{Machine: "c"}, "5:3: --machine c: lab t has no such machine"},
		{"--machine without machines", "hosts: [{name: h}]\n", CompileOptions{Machine: "a"}, "--machine a: lab t declares no machines"},
		{"unknown machine", two + "hosts: [{name: h, machine: bb}]\n", CompileOptions{Machine: "a"}, `7:28: host h: unknown machine "bb"`},
		{"placed twice", "machines:\n  - {name: a, address: 192.0.2.1, hosts: [h]}\n  - {name: b, address: 192.0.2.2, hosts: [h]}\nhosts: [{name: h}]\n", CompileOptions{Machine: "a"}, "6:42: host h is placed twice: on machine a (line 5) and on machine b"},
		{"placed twice, key and list", "machines:\n  - {name: a, address: 192.0.2.1, hosts: [h]}\n  - {name: b, address: 192.0.2.2}\nhosts: [{name: h, machine: b}]\n", CompileOptions{Machine: "a"}, "7:28: host h is placed twice"},
		{"pod away from its node", "machines:\n  - {name: a, address: 192.0.2.1}\n  - {name: b, address: 192.0.2.2, hosts: [p]}\ncluster:\n  nodes: [{name: n}]\n  pods: [{name: p, node: n}]\n", CompileOptions{Machine: "a"}, "6:42: pod p is placed on machine b, but it attaches to a bridge of n, which is on machine a"},
		{"unknown host in list", "machines:\n  - {name: a, address: 192.0.2.1, hosts: [ghost]}\n", CompileOptions{Machine: "a"}, `5:42: machine a: hosts[0]: unknown host "ghost"`},
		{"duplicate machine", "machines:\n  - {name: a, address: 192.0.2.1}\n  - {name: a, address: 192.0.2.2}\n", CompileOptions{Machine: "a"}, `6:12: machine "a" is declared twice`},
		{"bad address", "machines:\n  - {name: a, address: 192.0.2.300}\n", CompileOptions{Machine: "a"}, `5:24: machine a: "192.0.2.300" is not a unicast address`},
		{"same address", "machines:\n  - {name: a, address: 192.0.2.1}\n  - {name: b, address: 192.0.2.1}\n", CompileOptions{Machine: "a"}, "6:24: machine b: address 192.0.2.1 is already machine a's"},
		{"mixed families", "machines:\n  - {name: a, address: 192.0.2.1}\n  - {name: b, address: \"2001:db8::2\"}\n", CompileOptions{Machine: "a"}, "machine b: underlay address 2001:db8::2 is IPv6"},
		{"machine without machines", "hosts: [{name: h, machine: a}]\n", CompileOptions{}, `4:28: host h: machine "a", but the lab declares no machines`},
		{"bad placement", two + "cluster:\n  placement: random\n  nodes: [{name: n}]\n", CompileOptions{Machine: "a"}, `8:14: cluster.placement: "random" is not supported`},
		{"bad tunnel port", two + "options: {tunnelPort: 80}\n", CompileOptions{Machine: "a"}, "options.tunnelPort 80 is out of range"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lab, err := Parse("lab.yaml", []byte(header+tc.body))
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			_, err = Compile(lab, tc.opts)
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("want problems, got %v", err)
			}
			if !strings.Contains(ps.Error(), tc.want) {
				t.Errorf("want a problem %q in:\n%s", tc.want, ps.Error())
			}
			if slices.ContainsFunc(ps, func(p Problem) bool { return p.Hint == "" }) {
				t.Errorf("a problem has no hint:\n%s", ps.Error())
			}
		})
	}
}

func compileBody(t *testing.T, body string, opts CompileOptions) *plan.Plan {
	t.Helper()
	lab, err := Parse("lab.yaml", []byte(header+body))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	p, err := Compile(lab, opts)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return p
}

func fmtEnd(e plan.End) string { js, _ := json.Marshal(e); return string(js) }
