// Package agent is the answering server built into the labctl binary
// (`labctl agent`) and the client side the probe engine uses to talk to it.
//
// One agent process serves every lab host that declares a server. For each host it
// opens the listening sockets inside that host's network namespace (a socket belongs
// to the namespace in which socket() was called), then serves them all from one
// process, so a lab with 1,000 Pods costs one process, not 1,000.
//
// # Protocol, version 1
//
// Every message is a JSON object with "v": 1. A client sends a [Request]; the agent
// answers with an [Answer] that says which host answered ("host"), the socket's local
// address as the server saw it ("local": where DNAT delivered the packet) and the
// client address the server saw ("remote": what SNAT/masquerade made of the client).
// An agent rejects a request whose "v" is greater than [Version] with an error
// Answer; a missing "v" is read as the current version.
//
//   - TCP: line-delimited JSON. The client sends one Request line, the agent answers
//     one Answer line, repeated on the same connection until the client closes it, so
//     a probe can keep one connection (one conntrack entry) across rule changes. A
//     line that is not a Request is answered with an Answer whose "error" says why;
//     the connection stays usable. Empty lines are ignored. Lines longer than
//     [MaxRequestBytes] are answered with an error and the connection is closed.
//   - UDP: one datagram holding a Request, one datagram back holding the Answer. The
//     answer is sent from the exact local address the request was addressed to
//     (IP_PKTINFO), so replies through DNAT or from hosts with several addresses
//     match the client's conntrack entry and connected socket.
//   - HTTP: any method and path answers with the Answer as a JSON body. The status is
//     200, or the listener's configured status, or NNN for the path /status/NNN. A
//     Request may be sent as the body of the call (POST). The Answer carries the
//     request's X-Forwarded-For ("forwardedFor") and Host ("httpHost") headers, and
//     the response carries the header X-Labctl-Host naming the answering host, which
//     is all a client gets for bodiless statuses such as 204. A listener with
//     "proxyTo" is an L7 proxy instead (like an ingress controller): it forwards every
//     request to its upstream, appending the client address to X-Forwarded-For and
//     keeping the Host header; the upstream's response is passed back unchanged.
//
// # Relay
//
// A Request may carry "relay": a list of [Hop]s. The agent that receives it dials the
// first hop from the namespace of the listener that got the request, sends it the
// same request minus that first hop, and puts the downstream Answer (with its own
// hops) into "hops" of its own Answer. So Pod A -> Service B -> Pod B -> Service C ->
// Pod C is one request from A with relay [B's Service, C's Service]. A hop that fails
// is an Answer with "target", "protocol", "outcome" (see [Outcome]) and "error"; the
// Answer of the agent that tried it is still sent. Each hop has a timeout
// ("timeoutMs", default [DefaultHopTimeout]); every agent in the chain waits at most
// [Budget] of the hops still ahead, which shrinks along the chain, so the agent nearest
// a failure reports it before anyone upstream gives up.
//
// # Client
//
// [Ask] sends one request through a caller-supplied [Dialer] (the probe engine's,
// which creates the socket in the client host's namespace; [NetNSDialer] is one).
// [Session] keeps one TCP connection for several requests. Failures are [*Error]s
// classified by [Outcome]: refused, timeout, unreachable, blocked, reset, closed.
package agent
