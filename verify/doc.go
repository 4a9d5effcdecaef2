// Package verify runs a lab's probes and steps against the running lab, judges them,
// explains failures and writes reports.
//
// The work is split three ways:
//
//   - Sending and reading the kernel go through small interfaces ([Sender],
//     [Inspector], [Actuator]); [Kernel] implements them for a running lab from one
//     long-lived process: sockets are created inside the sender's namespace
//     ([agent.NetNSDialer], an in-process ICMP echo), conntrack and rule counters are
//     read through package node. Tests use fakes.
//   - [Judge] is pure: a probe's expectations against an [Observation].
//   - [Run] orders the work. Without steps, every probe runs, in file order. With
//     steps, the probes no step names run first (in file order), then the steps in
//     order. Probes run concurrently (at most Options.Workers at once, default two per
//     CPU), except those that read rule counters (rulesHit, rulesNotHit), belong to a
//     session or are run by a step: those run alone, because counter deltas and a
//     scenario's order must not mix with other traffic. A failed probe is run once more,
//     alone, with counters of every host and conntrack of every host read around it:
//     its [Trace] says where the packets went. Only the first failures of a run are
//     traced (Options.MaxTraces); the others name the labctl trace command instead.
//
// # Outcomes
//
// Each try ends in one outcome (see agent.Outcome): answered; refused (a TCP RST or an
// ICMP port unreachable: no listener, or iptables REJECT with its default
// icmp-port-unreachable or with tcp-reset); unreachable (no route, or ICMP host/net
// unreachable or admin-prohibited, e.g. REJECT --reject-with icmp-host-prohibited);
// blocked (the sender's own OUTPUT chain dropped a UDP or ICMP packet: the send fails
// with EPERM; TCP instead retries its SYN, so there it is a timeout); timeout (silence:
// a DROP on the way); reset (an RST on an established connection); closed. reach:
// false accepts any of the failures; reach: refused (and so on) accepts only that one.
package verify
