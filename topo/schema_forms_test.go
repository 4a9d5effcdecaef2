package topo

import (
	"strings"
	"testing"
)

const formsHeader = "apiVersion: labctl.dev/v1\nkind: Lab\nname: forms\n"

// formsNetworks is added to the labs that declare no networks of their own.
const formsNetworks = "networks: [{name: internet, cidr: 10.0.0.0/24}]\n"

// schemaForms are lab files written in each shape the decoder accepts (the
// shorthands above all) and in shapes it must not accept. The schema has to agree
// with the decoder on each, or editors flag good labs and pass bad ones.
var schemaForms = []struct {
	name, body string
	valid      bool
}{
	{"servers as port, port/protocol and object", `
hosts:
  - name: a
    servers: [8080, "53/udp", 80/http, {port: 9090, protocol: udp}]`, true},
	{"interfaces as network, host/bridge and object", `
hosts:
  - name: a
    bridges: [{name: cni0, address: 10.1.0.1/24}]
  - name: b
    interfaces: [internet, a/cni0, {network: internet, address: auto}]`, true},
	{"link ends as host, host:interface and object", `
hosts: [{name: a}, {name: b}, {name: c}]
links:
  - between: [a, "b:eth1"]
    cidr: 10.3.0.0/30
  - between: [{host: a, address: 10.2.0.1/30}, c]
    cidr: 10.2.0.0/30`, true},
	{"commands as string and object", `
hosts:
  - name: a
    commands: ["echo hi", {run: x, background: true}]`, true},
	{"sysctl values as numbers, strings and booleans", `
hosts:
  - name: a
    sysctls: {net.ipv4.ip_forward: 1, net.ipv4.conf.all.rp_filter: "0", net.ipv4.conf.all.route_localnet: true}`, true},
	{"Pod ports as number, number/protocol and object; targetPort as number and name", `
networks: [{name: nodes, cidr: 192.168.50.0/24}]
cluster:
  nodes: [{name: n1}]
  pods: [{name: p, node: n1, labels: {app: 1}, ports: ["53/udp", 53, {name: http, port: 8080}]}]
  services:
    - {name: s, selector: {app: "1"}, ports: [{name: a, port: 80, targetPort: 8080}, {name: b, port: 81, targetPort: http}]}
    - {name: t, endpoints: [p, 192.168.50.200, {ip: 10.0.0.9, node: n1}], ports: [{port: 443, targetPort: "6443"}]}`, true},
	{"cluster booleans and numbers", `
networks: [{name: nodes, cidr: 192.168.50.0/24}]
cluster:
  cni: {hairpinMode: false, vni: 2}
  kubeProxy: {masqueradeBit: 14, randomFully: false}
  nodes: [{name: n1, hairpinMode: true}]`, true},
	{"steps as probe name and object; reach, answeredBy and sourceSeen unions", `
hosts: [{name: a, interfaces: [internet]}, {name: b, interfaces: [internet], servers: [80]}]
probes:
  - {name: p1, from: a, to: "b:80", expect: {reach: true, answeredBy: b, sourceSeen: a}}
  - {name: p2, from: a, to: "b:80", expect: {answeredBy: [b], sourceSeen: {b: a}}}
  - {name: p3, from: a, to: "b:81", expect: {reach: refused}}
  - {name: p4, from: a, to: "b:80", expect: {sourceSeen: [a, 203.0.113.9]}}
steps: [p1, {sleep: 1s}, {probe: p2}]`, true},

	{"unknown key", `
hosts:
  - name: a
    colour: red`, false},
	{"misspelled top-level key", `
host: [{name: a}]`, false},
	{"wrong enum: iptables backend", `
options: {iptables: iptables-nft}`, false},
	{"wrong enum: Service type", `
networks: [{name: nodes, cidr: 192.168.50.0/24}]
cluster:
  nodes: [{name: n1}]
  services: [{name: s, type: Loadbalancer, ports: [{port: 80}]}]`, false},
	{"wrong enum: kind", `
kind: Pod`, false},
	{"server as boolean", `
hosts:
  - name: a
    servers: [true]`, false},
	{"interfaces not a list", `
hosts:
  - name: a
    interfaces: internet`, false},
	{"forwarding: yes (YAML 1.2 reads a string)", `
hosts:
  - name: a
    forwarding: yes`, false},
	{"missing required key", `
hosts:
  - interfaces: [internet]`, false},
}

func TestSchemaAgreesWithDecoder(t *testing.T) {
	schema := compileSchema(t)
	for _, c := range schemaForms {
		t.Run(c.name, func(t *testing.T) {
			body := c.body
			if !strings.Contains(body, "\nnetworks:") {
				body = "\n" + formsNetworks + body
			}
			data := []byte(formsHeader + body + "\n")
			if strings.Contains(body, "\nkind:") { // the case is about the kind itself
				data = []byte(strings.Replace(string(data), "kind: Lab\n", "", 1))
			}
			schemaErr := validateYAML(schema, data)
			labErr := loadAndCompile(data)
			switch {
			case c.valid && schemaErr != nil:
				t.Errorf("the schema rejects a lab labctl reads: %v", schemaErr)
			case c.valid && labErr != nil:
				t.Errorf("labctl rejects the lab: %v", labErr)
			case !c.valid && schemaErr == nil:
				t.Errorf("the schema accepts a lab labctl refuses (%v)", labErr)
			case !c.valid && labErr == nil:
				t.Errorf("labctl accepts a lab the schema refuses (%v)", schemaErr)
			}
		})
	}
}

// loadAndCompile is what labctl plan does with a lab file.
func loadAndCompile(data []byte) error {
	lab, err := Parse("forms.yaml", data)
	if err != nil {
		return err
	}
	_, err = Compile(lab, CompileOptions{})
	return err
}
