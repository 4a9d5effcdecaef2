package agent

import (
	"errors"
	"fmt"
	"net"
	"net/netip"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// udpEndpoint answers one datagram with one datagram, sent from the address the
// request was sent to. A socket bound to all addresses would otherwise answer
// from whatever source the route picks, which the client's connected socket and
// conntrack would not recognise as the reply.
type udpEndpoint struct {
	host     *host
	listener Listener
	conn     *net.UDPConn
	packets  pktinfoConn
}

// pktinfoConn reads datagrams together with the address they were sent to, and
// sends datagrams from a chosen local address (IP_PKTINFO / IPV6_PKTINFO).
type pktinfoConn interface {
	readFrom(buf []byte) (n int, to netip.Addr, from net.Addr, err error)
	writeFrom(data []byte, from netip.Addr, to net.Addr) error
}

func openUDP(h *host, l Listener) (*udpEndpoint, error) {
	network := "udp4"
	if addr, err := netip.ParseAddr(l.Address); err == nil && addr.Is6() && !addr.Is4In6() {
		network = "udp6"
	}
	conn, err := net.ListenPacket(network, l.bindAddress())
	if err != nil {
		return nil, err
	}
	udpConn := conn.(*net.UDPConn)
	var packets pktinfoConn
	if network == "udp4" {
		p := ipv4.NewPacketConn(udpConn)
		err = p.SetControlMessage(ipv4.FlagDst, true)
		packets = pktinfo4{p}
	} else {
		p := ipv6.NewPacketConn(udpConn)
		err = p.SetControlMessage(ipv6.FlagDst, true)
		packets = pktinfo6{p}
	}
	if err != nil {
		udpConn.Close()
		return nil, fmt.Errorf("enable packet info: %w", err)
	}
	return &udpEndpoint{host: h, listener: l, conn: udpConn, packets: packets}, nil
}

func (e *udpEndpoint) close() { e.conn.Close() }

func (e *udpEndpoint) serve(s *server) error {
	// One byte more than a request may have, to tell a too long one apart.
	buf := make([]byte, MaxRequestBytes+1)
	for {
		n, to, from, err := e.packets.readFrom(buf)
		if err != nil {
			if s.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("host %s: %s: read: %w", e.host.name, e.listener, err)
		}
		local := e.localAddr(to)
		x := exchange{protocol: UDP, local: local.String(), remote: from.String()}
		if n > MaxRequestBytes {
			e.reply(local.Addr(), from, e.host.reject(x, fmt.Errorf("bad request: datagram longer than %d bytes", MaxRequestBytes)))
			continue
		}
		req, err := decodeRequest(buf[:n])
		if err != nil {
			e.reply(local.Addr(), from, e.host.reject(x, err))
			continue
		}
		if len(req.Relay) == 0 {
			e.reply(local.Addr(), from, e.host.answer(s.ctx, x, req))
			continue
		}
		// A relay waits for other hosts; keep reading meanwhile.
		s.wg.Go(func() { e.reply(local.Addr(), from, e.host.answer(s.ctx, x, req)) })
	}
}

// localAddr is the address a datagram was sent to, as ip:port of this listener.
func (e *udpEndpoint) localAddr(to netip.Addr) netip.AddrPort {
	if !to.IsValid() {
		// No packet info (should not happen on Linux): the bound address is
		// the best we know.
		return e.conn.LocalAddr().(*net.UDPAddr).AddrPort()
	}
	return netip.AddrPortFrom(to.Unmap(), uint16(e.listener.Port))
}

// reply sends ans; a send failure (say, a firewall rule of the lab) is not the
// agent's to report: the client sees no answer, which is the probe's finding.
func (e *udpEndpoint) reply(from netip.Addr, to net.Addr, ans Answer) {
	e.packets.writeFrom(encodeAnswer(ans), from, to)
}

type pktinfo4 struct{ conn *ipv4.PacketConn }

func (p pktinfo4) readFrom(buf []byte) (int, netip.Addr, net.Addr, error) {
	n, cm, from, err := p.conn.ReadFrom(buf)
	var to netip.Addr
	if cm != nil {
		to, _ = netip.AddrFromSlice(cm.Dst)
	}
	return n, to.Unmap(), from, err
}

func (p pktinfo4) writeFrom(data []byte, from netip.Addr, to net.Addr) error {
	var cm *ipv4.ControlMessage
	if from.IsValid() && !from.IsUnspecified() {
		cm = &ipv4.ControlMessage{Src: from.AsSlice()}
	}
	_, err := p.conn.WriteTo(data, cm, to)
	return err
}

type pktinfo6 struct{ conn *ipv6.PacketConn }

func (p pktinfo6) readFrom(buf []byte) (int, netip.Addr, net.Addr, error) {
	n, cm, from, err := p.conn.ReadFrom(buf)
	var to netip.Addr
	if cm != nil {
		to, _ = netip.AddrFromSlice(cm.Dst)
	}
	return n, to, from, err
}

func (p pktinfo6) writeFrom(data []byte, from netip.Addr, to net.Addr) error {
	var cm *ipv6.ControlMessage
	if from.IsValid() && !from.IsUnspecified() {
		cm = &ipv6.ControlMessage{Src: from.AsSlice()}
	}
	_, err := p.conn.WriteTo(data, cm, to)
	return err
}
