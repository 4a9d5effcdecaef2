package agent

import (
	"encoding/json"
	"fmt"
	"time"
)

// Version is the protocol version this package speaks and answers with.
const Version = 1

// Limits of the protocol. They keep a confused or hostile peer from making the
// agent buffer without bound.
const (
	// MaxRequestBytes is the largest Request the agent reads (a TCP line, a UDP
	// datagram, an HTTP body).
	MaxRequestBytes = 64 << 10
	// MaxAnswerBytes is the largest Answer a client reads.
	MaxAnswerBytes = 1 << 20
	// MaxRelayHops is the longest relay list an agent accepts; it also stops
	// a relay loop through misconfigured NAT from bouncing for long.
	MaxRelayHops = 16
	// DefaultHopTimeout is the timeout of a hop that sets no TimeoutMS.
	DefaultHopTimeout = 2 * time.Second
	// hopSlack is what each hop adds to a Budget on top of its timeout: the time
	// an agent needs to report a downstream failure before its caller gives up.
	hopSlack = 250 * time.Millisecond
)

// Protocol is the transport of a listener or a hop.
type Protocol string

// The protocols an agent serves.
const (
	TCP  Protocol = "tcp"
	UDP  Protocol = "udp"
	HTTP Protocol = "http"
)

func (p Protocol) valid() bool { return p == TCP || p == UDP || p == HTTP }

// network is the Go network name a client dials for p.
func (p Protocol) network() string {
	if p == UDP {
		return "udp"
	}
	return "tcp"
}

// Request is what a client sends to an agent.
type Request struct {
	V int `json:"v"`
	// ID is echoed in the Answer. Clients set it so a late UDP answer to an
	// earlier request is not taken for the answer to this one.
	ID string `json:"id,omitempty"`
	// Relay lists the hops the request travels on after this agent; see the
	// package documentation.
	Relay []Hop `json:"relay,omitempty"`
}

// Hop is one call: where to, over what, and how long to wait for it.
type Hop struct {
	// Target is "ip:port". It must be an IP literal: name resolution would run
	// outside the namespace the socket is made in.
	Target   string   `json:"target"`
	Protocol Protocol `json:"protocol"`
	// Path and Host shape an HTTP call: the request path (default "/") and the
	// Host header (default Target).
	Path string `json:"path,omitempty"`
	Host string `json:"host,omitempty"`
	// TimeoutMS bounds connecting to the hop and, for the last hop of a chain,
	// waiting for its answer. Zero means DefaultHopTimeout.
	TimeoutMS int `json:"timeoutMs,omitempty"`
}

// Timeout is the hop's timeout with the default applied.
func (h Hop) Timeout() time.Duration {
	if h.TimeoutMS > 0 {
		return time.Duration(h.TimeoutMS) * time.Millisecond
	}
	return DefaultHopTimeout
}

func (h Hop) String() string { return fmt.Sprintf("%s %s", h.Protocol, h.Target) }

// Budget is the longest an exchange through hops (the first one dialed by the
// caller, the others relayed) may take before the agents in the chain have reported
// every failure. Ask waits this long when its context has no deadline.
func Budget(hops ...Hop) time.Duration {
	var total time.Duration
	for _, h := range hops {
		total += h.Timeout() + hopSlack
	}
	return total
}

// Answer is what an agent sends back, or, inside Hops, what a relaying agent got
// from (or could not get from) its next hop.
type Answer struct {
	V  int    `json:"v"`
	ID string `json:"id,omitempty"`
	// Host is the lab host whose listener answered.
	Host     string   `json:"host,omitempty"`
	Protocol Protocol `json:"protocol,omitempty"`
	// Local is the listener socket's local "ip:port" for this exchange: the
	// address the packets were finally delivered to, after any DNAT.
	Local string `json:"local,omitempty"`
	// Remote is the client "ip:port" the server saw, after any SNAT.
	Remote string `json:"remote,omitempty"`
	// ForwardedFor and HTTPHost are the X-Forwarded-For and Host headers of an
	// HTTP request; Status is the HTTP status answered.
	ForwardedFor string `json:"forwardedFor,omitempty"`
	HTTPHost     string `json:"httpHost,omitempty"`
	Status       int    `json:"status,omitempty"`
	// Target and Outcome are filled in by whoever asked: the address dialed
	// (a Service VIP, say, where Local shows the Pod) and how the call ended.
	Target  string  `json:"target,omitempty"`
	Outcome Outcome `json:"outcome,omitempty"`
	// Error says why the request could not be served, or, in a hop, why the
	// hop could not be reached.
	Error string `json:"error,omitempty"`
	// Hops holds the answer of the next hop of the relay, if any.
	Hops []Answer `json:"hops,omitempty"`
	// Body is the HTTP response body as the client received it (client side only,
	// never sent): what a probe's bodyContains is checked against.
	Body []byte `json:"-"`
}

// Chain flattens a relay: the answer itself, then its next hop's answer, and so on.
func (a Answer) Chain() []Answer {
	var chain []Answer
	for {
		next := a.Hops
		a.Hops = nil
		chain = append(chain, a)
		if len(next) == 0 {
			return chain
		}
		a = next[0]
	}
}

// decodeRequest parses one request and checks what the agent relies on.
func decodeRequest(data []byte) (Request, error) {
	var req Request
	if err := json.Unmarshal(data, &req); err != nil {
		return Request{}, fmt.Errorf("bad request: not a labctl agent request (JSON object with \"v\": %d): %v", Version, err)
	}
	if req.V > Version {
		return Request{}, fmt.Errorf("bad request: protocol version %d; this agent speaks version %d: use a labctl of the same release", req.V, Version)
	}
	if len(req.Relay) > MaxRelayHops {
		return Request{}, fmt.Errorf("bad request: relay has %d hops; at most %d are allowed", len(req.Relay), MaxRelayHops)
	}
	for i, h := range req.Relay {
		if !h.Protocol.valid() {
			return Request{}, fmt.Errorf("bad request: relay hop %d (%s): protocol must be tcp, udp or http", i+1, h.Target)
		}
	}
	return req, nil
}
