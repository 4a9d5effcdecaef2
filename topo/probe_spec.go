package topo

import (
	"fmt"
	"reflect"
	"strings"

	"gopkg.in/yaml.v3"
)

// Probe sends real traffic from one host and states what must happen: who answers,
// which source address they see, which NAT entries and rules the traffic meets.
type Probe struct {
	Meta     `yaml:"-"`
	Name     string       `yaml:"name" required:"true" doc:"What the probe shows, e.g. \"web-0 reaches its own Service\"; names it in reports and steps."`
	From     string       `yaml:"from" doc:"Host or Pod that sends. A later probe of the same session may omit it."`
	To       string       `yaml:"to" doc:"Target: host or Pod name (web-0:8080), host/interface (router/eth0:80), an IP (198.51.100.80:80), service/[ns/]name:port (ClusterIP), nodeport/[ns/]name[:port]@node (node IP and NodePort), loadbalancer/[ns/]name:port (the VIP). Omit the port for icmp."`
	Protocol string       `yaml:"protocol" enum:"tcp,udp,http,icmp" doc:"tcp (default with a port; a Service port's own protocol), udp, http, or icmp (default without a port)."`
	Count    int          `yaml:"count" doc:"Tries (default 1; with everyBackend, enough tries that a backend stays silent by chance less than once in a million runs)."`
	Timeout  string       `yaml:"timeout" default:"1s" doc:"How long each try waits for its answer (a Go duration: 500ms, 2s)."`
	Session  string       `yaml:"session" doc:"Keep one TCP connection for every probe naming this session, also across steps: an established flow keeps the NAT it got."`
	HTTP     *HTTPRequest `yaml:"http" doc:"Shape the HTTP request (implies protocol: http)."`
	Expect   Expect       `yaml:"expect" doc:"What must happen (default: every try is answered)."`
	Then     []ProbeHop   `yaml:"then" doc:"Calls the answering host makes next, in order (Pod A -> Service B -> Pod B -> Service C), each checked."`
}

// HTTPRequest shapes the request of an http probe.
type HTTPRequest struct {
	Meta `yaml:"-"`
	Path string `yaml:"path" doc:"Request path (default /). The agent answers /status/NNN with status NNN."`
	Host string `yaml:"host" doc:"Host header (default: the target's ip:port)."`
}

// Expect is what must happen to a probe's tries.
type Expect struct {
	Meta         `yaml:"-"`
	Reach        Reach             `yaml:"reach" doc:"true (default): every try is answered; false: none is; or how every try must fail: refused (RST, ICMP port unreachable: no listener, REJECT), timeout (silence: DROP on the way), unreachable (no route, ICMP host/net unreachable or prohibited), blocked (the sender's own OUTPUT chain dropped a UDP or ICMP packet; for TCP that is a timeout), reset (RST on an established connection), closed."`
	AnsweredBy   Names             `yaml:"answeredBy" doc:"Hosts allowed to answer (a name or a list)."`
	EveryBackend bool              `yaml:"everyBackend" doc:"Each host of answeredBy (default: the Service's endpoints) answers at least once over count tries."`
	SourceSeen   *SourceSeen       `yaml:"sourceSeen" doc:"Client address the answering host sees: one for all answers, a list of which each answer shows one ([node-1/cni0, node-2]: the source depends on the node the load balancer picked), or one per answering host ({web-0: node-1/cni0, web-1: web-0}). A host or Pod name means its only (or primary) address, host/interface that interface's address, or an IP."`
	HTTP         *HTTPExpect       `yaml:"http" doc:"Checks of HTTP answers."`
	Conntrack    []ConntrackExpect `yaml:"conntrack" doc:"Conntrack entries of the probe's flows that must exist on hosts: the NAT each host applied."`
	RulesHit     []RulesExpect     `yaml:"rulesHit" doc:"Rules whose packet counters must grow while the probe runs (the probe then runs alone)."`
	RulesNotHit  []RulesExpect     `yaml:"rulesNotHit" doc:"Rules whose packet counters must not grow while the probe runs (the probe then runs alone)."`
}

// HopExpect is what must happen to one call of a probe's then chain.
type HopExpect struct {
	Meta         `yaml:"-"`
	Reach        Reach       `yaml:"reach" doc:"As the probe's reach, for this call."`
	AnsweredBy   Names       `yaml:"answeredBy" doc:"Hosts allowed to answer this call."`
	EveryBackend bool        `yaml:"everyBackend" doc:"Each host of answeredBy answers this call at least once over the probe's tries."`
	SourceSeen   *SourceSeen `yaml:"sourceSeen" doc:"Client address the host answering this call sees (as the probe's sourceSeen)."`
	HTTP         *HTTPExpect `yaml:"http" doc:"Checks of this call's HTTP answer."`
}

// ProbeHop is one call of a probe's then chain, made by the host that answered the
// call before it.
type ProbeHop struct {
	Meta     `yaml:"-"`
	To       string       `yaml:"to" required:"true" doc:"Target, written as a probe's to."`
	Protocol string       `yaml:"protocol" enum:"tcp,udp,http" doc:"tcp (default), udp or http."`
	Timeout  string       `yaml:"timeout" doc:"How long this call may take (default: the probe's timeout)."`
	HTTP     *HTTPRequest `yaml:"http" doc:"Shape the HTTP request (implies protocol: http)."`
	Expect   HopExpect    `yaml:"expect" doc:"What must happen to this call (default: answered)."`
}

func (h *ProbeHop) fromScalar(s string) error { h.To = s; return nil }

// HTTPExpect checks HTTP answers.
type HTTPExpect struct {
	Meta         `yaml:"-"`
	Status       int    `yaml:"status" doc:"Status code every answer has."`
	BodyContains string `yaml:"bodyContains" doc:"Text every answer's body contains."`
	ForwardedFor string `yaml:"forwardedFor" doc:"Address the X-Forwarded-For header the backend got lists (a host name, host/interface or IP), as an L7 proxy adds it."`
}

// ConntrackExpect asks for a conntrack entry on a host.
type ConntrackExpect struct {
	Meta     `yaml:"-"`
	On       string `yaml:"on" required:"true" doc:"Host whose conntrack table is read."`
	Original *Tuple `yaml:"original" doc:"The flow as it arrived at the host: \"SRC -> DST\" or {src, dst}; each side a name, IP, name:port, IP:port or * for any."`
	Reply    *Tuple `yaml:"reply" doc:"The reply tuple: its src is where the host sent the flow after DNAT, its dst what the source became after SNAT."`
}

// Tuple is a partial conntrack tuple.
type Tuple struct {
	Meta `yaml:"-"`
	Src  string `yaml:"src" doc:"Source: name, IP, name:port, IP:port, or * (any)."`
	Dst  string `yaml:"dst" doc:"Destination: name, IP, name:port, IP:port, or * (any)."`
}

func (t *Tuple) fromScalar(s string) error {
	src, dst, ok := strings.Cut(s, "->")
	if !ok {
		return fmt.Errorf("tuple %q: write \"SRC -> DST\" (either side may be *), or {src: ..., dst: ...}", s)
	}
	t.Src, t.Dst = strings.TrimSpace(src), strings.TrimSpace(dst)
	return nil
}

// RulesExpect names rules of one host.
type RulesExpect struct {
	Meta  `yaml:"-"`
	On    string `yaml:"on" required:"true" doc:"Host whose rule counters are compared before and after the probe."`
	Rules Names  `yaml:"rules" required:"true" doc:"Rules, each by chain name, target or comment (* wildcards allowed: KUBE-SEP-*), or by a piece of its iptables-save text when it has a blank or starts with - (\"-j DNAT --to-destination 10.0.0.2:8080\")."`
}

// Reach is true, false, or the outcome every try must end in. It is text so that
// both true and refused can be written unquoted.
type Reach string

func (Reach) jsonSchema() map[string]any {
	return map[string]any{"oneOf": []any{
		map[string]any{"type": "boolean"},
		map[string]any{"type": "string", "enum": []string{"true", "false", "refused", "timeout", "unreachable", "blocked", "reset", "closed"}},
	}}
}

// Names is a list of names that may also be written as one name.
type Names []string

func (n *Names) decodeShape(d *decoder, node *yaml.Node, path string) {
	if node.Kind == yaml.ScalarNode {
		*n = Names{node.Value}
		return
	}
	var list []string
	d.value(node, reflect.ValueOf(&list).Elem(), path)
	*n = list
}

func (Names) jsonSchema() map[string]any {
	return map[string]any{"oneOf": []any{
		map[string]any{"type": "string"},
		map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
	}}
}

// SourceSeen is one expected client address for every answer, a list of which every
// answer must show one, or one per answering host.
type SourceSeen struct {
	All    string
	AnyOf  []string
	ByHost map[string]string
	at     Pos
	keysAt map[string]Pos
}

func (s *SourceSeen) decodeShape(d *decoder, node *yaml.Node, path string) {
	s.at = posOf(node)
	switch node.Kind {
	case yaml.ScalarNode:
		s.All = node.Value
	case yaml.SequenceNode:
		s.AnyOf = []string{} // not nil: a list, even an empty one
		if len(node.Content) == 0 {
			d.r.add(posOf(node), "list the addresses of which the backend sees one, or drop sourceSeen", "%s: empty list", path)
			return
		}
		for i, item := range node.Content {
			if item.Kind != yaml.ScalarNode {
				d.r.add(posOf(item), "write each address as a name or IP", "%s[%d]: expected a name or IP", path, i)
				continue
			}
			s.AnyOf = append(s.AnyOf, item.Value)
		}
	case yaml.MappingNode:
		s.ByHost, s.keysAt = map[string]string{}, map[string]Pos{}
		for i := 0; i+1 < len(node.Content); i += 2 {
			key, val := node.Content[i], node.Content[i+1]
			if _, dup := s.ByHost[key.Value]; dup {
				d.r.add(posOf(key), "remove one of them", "%s: host %q is written twice", path, key.Value)
				continue
			}
			if val.Kind != yaml.ScalarNode {
				d.r.add(posOf(val), "write the address as a name or IP", "%s.%s: expected a name or IP", path, key.Value)
				continue
			}
			s.ByHost[key.Value], s.keysAt[key.Value] = val.Value, posOf(key)
		}
	default:
		d.r.add(posOf(node), "write one name (web-0), a list of which the backend sees one ([node-1/cni0, node-2]) or one per answering host ({web-0: node-1/cni0, web-1: web-0})", "%s: expected a name, a list or a mapping", path)
	}
}

func (SourceSeen) jsonSchema() map[string]any {
	return map[string]any{"oneOf": []any{
		map[string]any{"type": "string"},
		map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "minItems": 1},
		map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}},
	}}
}

// Step is one step of the lab's ordered scenario: run a probe, change a host's rules,
// run a command, or wait. A plain string is a probe name.
type Step struct {
	Meta     `yaml:"-"`
	Probe    string     `yaml:"probe" doc:"Run this probe (by name)."`
	IPTables *RulesStep `yaml:"iptables" doc:"Change a host's rules: applied on top of its rules so far and loaded in one atomic restore; conntrack keeps existing flows and their NAT."`
	Exec     *ExecStep  `yaml:"exec" doc:"Run a shell command in a host; it must exit 0."`
	Sleep    string     `yaml:"sleep" doc:"Wait this long (a Go duration: 1s, 500ms)."`
}

func (s *Step) fromScalar(v string) error { s.Probe = v; return nil }

// RulesStep changes one host's rules.
type RulesStep struct {
	Meta  `yaml:"-"`
	On    string `yaml:"on" required:"true" doc:"Host whose rules change."`
	Rules string `yaml:"rules" required:"true" doc:"iptables command lines (iptables -t nat -R PREROUTING 1 ...) or iptables-restore text, applied on top of the host's current rules."`
}

// ExecStep runs a command in one host.
type ExecStep struct {
	Meta `yaml:"-"`
	On   string `yaml:"on" required:"true" doc:"Host to run in."`
	Run  string `yaml:"run" required:"true" doc:"Shell command (/bin/sh -c); must exit 0."`
}
