package topo

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/labctl/labctl/topo/plan"
)

// TestGoldenNamesFitIFNAMSIZ: no golden plan names an interface, bridge, VXLAN device
// or tunnel the kernel would refuse (IFNAMSIZ: 15 bytes).
func TestGoldenNamesFitIFNAMSIZ(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/*.json")
	more, err2 := filepath.Glob("testdata/golden/*/*.json")
	if err != nil || err2 != nil || len(files) == 0 {
		t.Fatalf("no golden plans: %v %v", err, err2)
	}
	for _, f := range append(files, more...) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var p plan.Plan
		if err := json.Unmarshal(data, &p); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		var names []string
		for _, v := range p.Veths {
			names = append(names, v.A.Name, v.B.Name)
		}
		for _, n := range p.Namespaces {
			for _, b := range n.Bridges {
				names = append(names, b.Name)
			}
			for _, x := range n.Vxlans {
				names = append(names, x.Name)
			}
			for _, x := range n.Tunnels {
				names = append(names, x.Name)
			}
		}
		if len(names) == 0 {
			t.Errorf("%s: no interface names found: is it still a plan?", f)
		}
		for _, name := range names {
			if len(name) == 0 || len(name) > maxIfName {
				t.Errorf("%s: interface name %q is not 1 to 15 bytes", f, name)
			}
		}
	}
}

// TestEdgeAddressesAndVNI: /31 and /32 have no network or broadcast address, so their
// every address is a host's; VNI 9999999 still fits its device name.
func TestEdgeAddressesAndVNI(t *testing.T) {
	lab, err := Parse("lab.yaml", []byte(header+`hosts: [{name: a}, {name: b}, {name: c}, {name: d}]
links:
  - {between: [a, b], cidr: 10.0.0.0/31}
  - between: [{host: c, address: 10.3.0.0/32}, {host: d, address: 10.3.0.1/32}]
cluster:
  cni: {backend: vxlan, vni: 9999999}
  nodes: [{name: n1}]
`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Compile(lab, CompileOptions{})
	if err != nil {
		t.Fatal(err)
	}
	addrs := map[string]string{}
	for _, v := range p.Veths {
		for _, e := range []plan.End{v.A, v.B} {
			if len(e.Addresses) == 1 {
				addrs[e.Namespace] = e.Addresses[0].String()
			}
		}
	}
	for host, want := range map[string]string{"a": "10.0.0.0/31", "b": "10.0.0.1/31", "c": "10.3.0.0/32", "d": "10.3.0.1/32"} {
		if addrs[host] != want {
			t.Errorf("host %s has %q, want %s", host, addrs[host], want)
		}
	}
	if vx := p.Namespace("n1").Vxlans; len(vx) != 1 || vx[0].Name != "flannel.9999999" {
		t.Errorf("vxlan devices of n1: %+v", vx)
	}
}
