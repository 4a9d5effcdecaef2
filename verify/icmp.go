package verify

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"syscall"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"golang.org/x/net/icmp"
	"golang.org/x/net/ipv4"

	"github.com/labctl/labctl/topo/plan"
	"github.com/labctl/labctl/verify/agent"
)

// protocolICMP is the IP protocol number of ICMP, as icmp.ParseMessage wants it.
const protocolICMP = 1

// ping sends one ICMP echo from the host's namespace through a raw socket created
// there, and waits for the echo reply or an ICMP error about it. A raw socket sees
// every ICMP message of the namespace, so replies are matched by echo ID and sequence.
// Who answered is the host owning the reply's source address: through DNAT that is
// the address pinged, since conntrack rewrites the reply back.
func (k *Kernel) ping(ctx context.Context, h ns.NetNS, p plan.Probe) Try {
	if !p.To.Addr.Is4() {
		return Try{Outcome: agent.Failed, Error: "icmp probes are IPv4 only"}
	}
	var conn *icmp.PacketConn
	var source netip.Addr
	err := h.Do(func(ns.NetNS) error {
		var err error
		if conn, err = icmp.ListenPacket("ip4:icmp", "0.0.0.0"); err != nil {
			return fmt.Errorf("open ICMP socket: %w", err)
		}
		source = routeSource(p.To.Addr)
		return nil
	})
	if err != nil {
		return Try{Outcome: agent.Failed, Error: fmt.Sprintf("host %s: %v", p.From, err)}
	}
	defer conn.Close()
	id, seq := rand.IntN(1<<16), rand.IntN(1<<16)
	msg := icmp.Message{Type: ipv4.ICMPTypeEcho, Body: &icmp.Echo{ID: id, Seq: seq, Data: []byte("labctl probe")}}
	data, _ := msg.Marshal(nil)
	try := Try{Client: netip.AddrPortFrom(source, 0)}
	deadline := time.Now().Add(p.Timeout.D())
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	start := time.Now()
	if _, err := conn.WriteTo(data, &net.IPAddr{IP: p.To.Addr.AsSlice()}); err != nil {
		try.Outcome, try.Error = sendOutcome(err), fmt.Sprintf("icmp %s: send: %v", p.To.Addr, err)
		return try
	}
	buf := make([]byte, 1500)
	for {
		n, from, err := conn.ReadFrom(buf)
		if err != nil {
			try.Outcome, try.Error = agent.Timeout, fmt.Sprintf("icmp %s: no echo reply within %s", p.To.Addr, p.Timeout)
			return try
		}
		fromAddr, _ := netip.ParseAddr(from.String())
		outcome, ok := matchReply(buf[:n], id, seq)
		if !ok {
			continue
		}
		try.RTT, try.ReplyFrom, try.Outcome = time.Since(start), fromAddr, outcome
		if outcome == agent.Answered {
			try.Host = k.owners[fromAddr]
		} else {
			try.Error = fmt.Sprintf("icmp %s: %s reported by %s", p.To.Addr, outcome, fromAddr)
		}
		return try
	}
}

// routeSource is the source address the namespace's routes pick for dst (a UDP
// "connect" sends nothing); invalid if there is no route.
func routeSource(dst netip.Addr) netip.Addr {
	c, err := net.DialUDP("udp", nil, &net.UDPAddr{IP: dst.AsSlice(), Port: 9})
	if err != nil {
		return netip.Addr{}
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
}

// sendOutcome classifies a failed send: the sender's own firewall (EPERM), or no
// route.
func sendOutcome(err error) agent.Outcome {
	var errno syscall.Errno
	var sysErr *os.SyscallError
	if errors.As(err, &sysErr) {
		err = sysErr.Err
	}
	if errors.As(err, &errno) {
		return agent.Classify(errno)
	}
	return agent.Classify(err)
}

// matchReply reports how a received ICMP message answers our echo id/seq, if it does:
// an echo reply is an answer; destination unreachable "port unreachable" is refused
// (iptables REJECT's default), any other unreachable or time exceeded is unreachable.
func matchReply(b []byte, id, seq int) (agent.Outcome, bool) {
	m, err := icmp.ParseMessage(protocolICMP, b)
	if err != nil {
		return "", false
	}
	switch body := m.Body.(type) {
	case *icmp.Echo:
		if m.Type == ipv4.ICMPTypeEchoReply && body.ID == id && body.Seq == seq {
			return agent.Answered, true
		}
	case *icmp.DstUnreach:
		if quotesEcho(body.Data, id, seq) {
			if m.Code == 3 {
				return agent.Refused, true
			}
			return agent.Unreachable, true
		}
	case *icmp.TimeExceeded:
		if quotesEcho(body.Data, id, seq) {
			return agent.Unreachable, true
		}
	}
	return "", false
}

// quotesEcho reports whether an ICMP error quotes our echo request: the original IP
// header, then the echo's type, code, checksum, id and sequence.
func quotesEcho(quote []byte, id, seq int) bool {
	if len(quote) < 1 {
		return false
	}
	ihl := int(quote[0]&0x0f) * 4
	if len(quote) < ihl+8 || quote[ihl] != byte(ipv4.ICMPTypeEcho) {
		return false
	}
	return int(binary.BigEndian.Uint16(quote[ihl+4:])) == id && int(binary.BigEndian.Uint16(quote[ihl+6:])) == seq
}
