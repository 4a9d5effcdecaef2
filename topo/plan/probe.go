package plan

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strconv"
	"time"
)

// Reach values of a probe's expectation besides the agent's failure outcomes
// (refused, timeout, unreachable, blocked, reset, closed), which are used as they are.
const (
	// ReachAnswered: every try got an answer.
	ReachAnswered = "answered"
	// ReachNone: no try got an answer, however it failed.
	ReachNone = "no-answer"
)

// Probe protocols.
const (
	TCP  = "tcp"
	UDP  = "udp"
	HTTP = "http"
	ICMP = "icmp"
)

// Probe sends real traffic from one host and states what must happen. Every name of
// the lab file is already resolved: targets to addresses, expected sources to
// addresses, so the probe engine needs nothing but the plan.
type Probe struct {
	Name string `json:"name"`
	// Line is where the probe was written in the lab file.
	Line int    `json:"line,omitempty"`
	From string `json:"from"`
	// RunsOn is the machine whose share sends the probe, in a machine's share of a
	// lab spread over machines, when that is another machine: verify skips it here.
	RunsOn   string `json:"runsOn,omitempty"`
	To       Target `json:"to"`
	Protocol string `json:"protocol"`
	Count    int    `json:"count"`
	// Timeout bounds each try; a try that got nothing by then ended in "timeout".
	Timeout Duration `json:"timeout"`
	// Session names a TCP connection kept open across probes (and steps): probes
	// with the same session send their requests on one connection.
	Session  string `json:"session,omitempty"`
	HTTPPath string `json:"httpPath,omitempty"`
	HTTPHost string `json:"httpHost,omitempty"`
	Expect   Expect `json:"expect"`
	// Then are the calls the answering host makes next, each checked: the agent
	// relays the request to them in order.
	Then []Hop `json:"then,omitempty"`
}

// Target is where a probe or hop sends to.
type Target struct {
	// Written is the target as the lab file says it (service/web:80).
	Written string     `json:"written"`
	Addr    netip.Addr `json:"addr"`
	// Port is zero for ICMP.
	Port int `json:"port,omitempty"`
	// Backends are the Pods behind a Service target (its ready endpoints for the
	// port), the default set of everyBackend.
	Backends []string `json:"backends,omitempty"`
}

// AddrPort is the target as ip:port, or the bare IP without a port.
func (t Target) AddrPort() string {
	if t.Port == 0 {
		return t.Addr.String()
	}
	return netip.AddrPortFrom(t.Addr, uint16(t.Port)).String()
}

func (t Target) String() string {
	if t.Written == t.AddrPort() || t.Written == "" {
		return t.AddrPort()
	}
	return t.Written + " (" + t.AddrPort() + ")"
}

// Hop is a call the previous answering host makes on the probe's behalf.
type Hop struct {
	To       Target   `json:"to"`
	Protocol string   `json:"protocol"`
	Timeout  Duration `json:"timeout"`
	HTTPPath string   `json:"httpPath,omitempty"`
	HTTPHost string   `json:"httpHost,omitempty"`
	// Expect holds only answer checks: reach, answeredBy, everyBackend, sourceSeen, http.
	Expect Expect `json:"expect"`
}

// Expect is what must happen to a probe's tries.
type Expect struct {
	// Reach is ReachAnswered, ReachNone, or the one failure outcome every try must
	// end in (refused, timeout, unreachable, blocked, reset, closed).
	Reach string `json:"reach"`
	// AnsweredBy are the hosts allowed to answer.
	AnsweredBy []string `json:"answeredBy,omitempty"`
	// EveryBackend: each host of AnsweredBy (or of the target's backends) must
	// answer at least once over the tries.
	EveryBackend bool              `json:"everyBackend,omitempty"`
	SourceSeen   *SourceSeen       `json:"sourceSeen,omitempty"`
	HTTP         *HTTPExpect       `json:"http,omitempty"`
	Conntrack    []ConntrackExpect `json:"conntrack,omitempty"`
	RulesHit     []RulesExpect     `json:"rulesHit,omitempty"`
	RulesNotHit  []RulesExpect     `json:"rulesNotHit,omitempty"`
}

// ReadsCounters reports whether judging needs rule counters, which only mean
// something when no other traffic runs at the same time.
func (e Expect) ReadsCounters() bool { return len(e.RulesHit)+len(e.RulesNotHit) > 0 }

// NamedAddr is an address and the name the lab file gave it (web-0, node-1/cni0).
type NamedAddr struct {
	Name string     `json:"name,omitempty"`
	Addr netip.Addr `json:"addr"`
}

func (n NamedAddr) String() string {
	if n.Name == "" || n.Name == n.Addr.String() {
		return n.Addr.String()
	}
	return n.Name + " (" + n.Addr.String() + ")"
}

// SourceSeen is the client address the answering host must see: one for every
// answer, one of a few for every answer (the source depends on the path taken, as
// behind a load balancer that picks a node), or one per answering host.
type SourceSeen struct {
	All    *NamedAddr           `json:"all,omitempty"`
	AnyOf  []NamedAddr          `json:"anyOf,omitempty"`
	ByHost map[string]NamedAddr `json:"byHost,omitempty"`
}

// For returns the addresses, any one of which host must have seen when it answered,
// and whether the expectation says anything about host.
func (s *SourceSeen) For(host string) ([]NamedAddr, bool) {
	switch {
	case s == nil:
		return nil, false
	case s.All != nil:
		return []NamedAddr{*s.All}, true
	case len(s.AnyOf) > 0:
		return s.AnyOf, true
	}
	a, ok := s.ByHost[host]
	if !ok {
		return nil, false
	}
	return []NamedAddr{a}, true
}

// Hosts are the answering hosts a per-host expectation names, sorted; nil when it
// holds for every answer.
func (s *SourceSeen) Hosts() []string {
	if s == nil || s.ByHost == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(s.ByHost))
}

// HTTPExpect checks HTTP answers.
type HTTPExpect struct {
	Status       int        `json:"status,omitempty"`
	BodyContains string     `json:"bodyContains,omitempty"`
	ForwardedFor *NamedAddr `json:"forwardedFor,omitempty"`
}

// ConntrackExpect asks for a conntrack entry of the probe's flows on a host whose
// tuples match: an entry shows how that host translated the flow.
type ConntrackExpect struct {
	On       string     `json:"on"`
	Original TupleMatch `json:"original,omitzero"`
	Reply    TupleMatch `json:"reply,omitzero"`
}

// TupleMatch is a partial conntrack tuple; zero fields match anything.
type TupleMatch struct {
	Src AddrMatch `json:"src,omitzero"`
	Dst AddrMatch `json:"dst,omitzero"`
}

func (t TupleMatch) String() string {
	return t.Src.String() + " -> " + t.Dst.String()
}

// AddrMatch is an address and port to match; a zero Addr or Port matches any.
type AddrMatch struct {
	Name string     `json:"name,omitempty"`
	Addr netip.Addr `json:"addr,omitzero"`
	Port int        `json:"port,omitempty"`
}

// Matches reports whether addr:port matches.
func (m AddrMatch) Matches(addr netip.Addr, port int) bool {
	return (!m.Addr.IsValid() || m.Addr == addr) && (m.Port == 0 || m.Port == port)
}

// String shows the name as written (which may hold the port, as service/web:80) and
// the address with its port: "service/web:80 (10.96.0.10:80)", "client (203.0.113.1)".
func (m AddrMatch) String() string {
	addr := "*"
	if m.Addr.IsValid() {
		addr = m.Addr.String()
	}
	if m.Port != 0 {
		addr += ":" + strconv.Itoa(m.Port)
	}
	if m.Name == "" || m.Name == addr || !m.Addr.IsValid() {
		return addr
	}
	return m.Name + " (" + addr + ")"
}

// RulesExpect names rules of a host by pattern: a chain name, a target, a comment
// (each may use * wildcards), or, when the pattern has a blank or starts with -, a
// piece of the rule's iptables-save text.
type RulesExpect struct {
	On       string   `json:"on"`
	Patterns []string `json:"rules"`
}

// Step is one step of a lab's ordered scenario: exactly one field is set.
type Step struct {
	Line  int        `json:"line,omitempty"`
	Probe string     `json:"probe,omitempty"`
	Rules *RulesStep `json:"iptables,omitempty"`
	Exec  *ExecStep  `json:"exec,omitempty"`
	Sleep Duration   `json:"sleep,omitzero"`
}

// RulesStep replaces a host's iptables state with Payload in one atomic restore;
// Written is what the lab author wrote, applied on top of the host's rules so far.
type RulesStep struct {
	Host    string `json:"on"`
	Written string `json:"written"`
	Payload string `json:"iptablesRestore"`
}

// ExecStep runs a shell command in a host; it must exit 0.
type ExecStep struct {
	Host string `json:"on"`
	Run  string `json:"run"`
}

// Duration is a time.Duration written as text (1.5s) in JSON.
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.String()) }

// UnmarshalJSON reads text written by MarshalJSON.
func (d *Duration) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration %q: %w", s, err)
	}
	*d = Duration(v)
	return nil
}

// Probe returns the named probe, or nil.
func (p *Plan) Probe(name string) *Probe {
	for i := range p.Probes {
		if p.Probes[i].Name == name {
			return &p.Probes[i]
		}
	}
	return nil
}
