package verify

import (
	"context"
	"net/netip"
	"time"

	"github.com/labctl/labctl/node"
	"github.com/labctl/labctl/topo/plan"
	"github.com/labctl/labctl/topo/rules"
	"github.com/labctl/labctl/verify/agent"
)

// Try is what one try of a probe saw.
type Try struct {
	Outcome agent.Outcome `json:"outcome"`
	Error   string        `json:"error,omitempty"`
	// Client is the local address of the sending socket: the flow's original source.
	Client netip.AddrPort `json:"client,omitzero"`
	// Answer is the first call's answer (with the relayed calls in Hops); nil when
	// nothing answered or for ICMP.
	Answer *agent.Answer `json:"answer,omitempty"`
	// Host is who answered: the agent's host, or for ICMP the host owning the reply's
	// source address.
	Host string `json:"host,omitempty"`
	// ReplyFrom is the source address of an ICMP reply.
	ReplyFrom netip.Addr    `json:"replyFrom,omitzero"`
	RTT       time.Duration `json:"rttNs"`
}

// Observation is everything a probe's judgement rests on.
type Observation struct {
	Tries []Try
	// Conntrack holds the conntrack table read after the tries, per host (only the
	// hosts the probe's conntrack expectations name, or every host for a trace).
	Conntrack map[string][]node.ConntrackEntry
	// Hits are the rules whose counters grew during the tries, per host.
	Hits map[string][]rules.Hit
	// Rules are the hosts' rules as read after the tries, to tell a rule that was not
	// hit from a pattern that names no rule at all.
	Rules map[string]*rules.Ruleset
	// Err is set when the probe could not run at all (a namespace is gone...).
	Err error
}

// Sender sends probe traffic from lab hosts.
type Sender interface {
	// Send makes one try of p: one connection (or one request on p's session), one
	// datagram, or one ICMP echo.
	Send(ctx context.Context, p plan.Probe) Try
}

// Inspector reads the kernel state probes are judged on.
type Inspector interface {
	Conntrack(ctx context.Context, host string) ([]node.ConntrackEntry, error)
	// Counters returns the host's iptables state with packet counters (nil, nil
	// for a host that has no rules).
	Counters(ctx context.Context, host string) (*rules.Ruleset, error)
}

// Actuator changes a running lab for the steps of a scenario.
type Actuator interface {
	// LoadRules replaces a host's iptables state in one atomic restore.
	LoadRules(ctx context.Context, host string, payload []byte) error
	// Exec runs a shell command in a host and returns its output; it fails if the
	// command exits non-zero.
	Exec(ctx context.Context, host, command string) (string, error)
}

// Env is everything Run needs from the lab.
type Env interface {
	Sender
	Inspector
	Actuator
}

// observe runs p's tries and reads what its expectations need: counters of the hosts
// of rulesHit/rulesNotHit around the tries, conntrack of the hosts of conntrack
// expectations after them. counterHosts and conntrackHosts widen that (for traces).
func observe(ctx context.Context, env Env, p plan.Probe, counterHosts, conntrackHosts []string) Observation {
	var obs Observation
	counterHosts = appendHosts(counterHosts, p.Expect.RulesHit, p.Expect.RulesNotHit)
	for _, c := range p.Expect.Conntrack {
		conntrackHosts = appendUnique(conntrackHosts, c.On)
	}
	before := map[string]*rules.Ruleset{}
	for _, h := range counterHosts {
		rs, err := env.Counters(ctx, h)
		if err != nil {
			obs.Err = err
			return obs
		}
		before[h] = rs
	}
	for range p.Count {
		if ctx.Err() != nil {
			obs.Err = ctx.Err()
			return obs
		}
		obs.Tries = append(obs.Tries, env.Send(ctx, p))
	}
	if len(counterHosts) > 0 {
		obs.Hits = map[string][]rules.Hit{}
		obs.Rules = map[string]*rules.Ruleset{}
	}
	for _, h := range counterHosts {
		after, err := env.Counters(ctx, h)
		if err != nil {
			obs.Err = err
			return obs
		}
		obs.Hits[h] = rules.Hits(before[h], after)
		obs.Rules[h] = after
	}
	if len(conntrackHosts) > 0 {
		obs.Conntrack = map[string][]node.ConntrackEntry{}
	}
	for _, h := range conntrackHosts {
		entries, err := env.Conntrack(ctx, h)
		if err != nil {
			obs.Err = err
			return obs
		}
		obs.Conntrack[h] = entries
	}
	return obs
}

func appendHosts(hosts []string, lists ...[]plan.RulesExpect) []string {
	for _, list := range lists {
		for _, r := range list {
			hosts = appendUnique(hosts, r.On)
		}
	}
	return hosts
}

func appendUnique(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
