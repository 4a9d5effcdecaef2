package topo

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestDecodeProblemsHaveHints: every problem the decoder reports says what to do.
func TestDecodeProblemsHaveHints(t *testing.T) {
	cases := []struct {
		name, body, msg, hint string
	}{
		{"bad shorthand", "hosts:\n  - name: a\n    servers: [http]\n",
			`hosts[0].servers[0]: server "http": want a port`, "or write it as an object with keys: port, protocol, proxyTo"},
		{"missing required key", "hosts:\n  - interfaces: []\n",
			`hosts[0]: missing required key "name"`, "add the key name (Host name: lowercase letters, digits and '-', unique among hosts and networks)"},
		{"list for a string", "description: [a, b]\n",
			"description: expected a string, not a list", "write one value on the key's line; quote it if it starts with [ or {"},
		{"mapping for a boolean", "hosts:\n  - {name: a, forwarding: {on: true}}\n",
			"hosts[0].forwarding: expected a boolean, not a mapping", "write true or false on the key's line"},
		{"not a whole number", "networks: [{name: n, cidr: 10.0.0.0/24, mtu: 1500b}]\n",
			`networks[0].mtu: expected a whole number, got "1500b"`, "write digits only, without quotes, units or a decimal point, e.g. 1500"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("lab.yaml", []byte(header+c.body))
			var ps Problems
			if !errors.As(err, &ps) {
				t.Fatalf("want problems, got %v", err)
			}
			for _, p := range ps {
				if strings.HasPrefix(p.Msg, c.msg) {
					if p.Hint != c.hint {
						t.Errorf("hint of %q: %q, want %q", p.Msg, p.Hint, c.hint)
					}
					return
				}
			}
			t.Errorf("no problem %q in %v", c.msg, ps)
		})
	}
}

// TestDecodeNumberHints covers field types no lab key has yet: a small integer out of
// its range, and a number that is not one.
func TestDecodeNumberHints(t *testing.T) {
	var v struct {
		Port  uint16  `yaml:"port"`
		Small int32   `yaml:"small"`
		Ratio float64 `yaml:"ratio"`
	}
	var n yaml.Node
	if err := yaml.Unmarshal([]byte("port: 70000\nsmall: -3000000000\nratio: half\n"), &n); err != nil {
		t.Fatal(err)
	}
	d := decoder{r: &report{file: "x.yaml"}}
	d.value(n.Content[0], reflect.ValueOf(&v).Elem(), "")
	want := map[string]string{
		"port: 70000 is out of range":          "use a number from 0 to 65535",
		"small: -3000000000 is out of range":   "use a number from -2147483648 to 2147483647",
		`ratio: expected a number, got "half"`: "write a number without quotes or units, e.g. 0.5",
	}
	if len(d.r.problems) != len(want) {
		t.Errorf("got %d problems, want %d: %v", len(d.r.problems), len(want), d.r.problems)
	}
	for _, p := range d.r.problems {
		if hint, ok := want[p.Msg]; !ok || p.Hint != hint {
			t.Errorf("problem %q with hint %q; want one of %v", p.Msg, p.Hint, want)
		}
	}
}
