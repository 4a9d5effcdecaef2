package agent

import (
	"net"
	"testing"

	"github.com/labctl/labctl/node/nodetest"
)

// benchAgent starts one host with TCP, UDP and HTTP listeners on loopback.
func benchAgent(b *testing.B) (tcpUDP, http string) {
	port, httpPort := freePort(b), freePort(b)
	startAgent(b, Config{Hosts: []Host{{Name: "bench", Listeners: []Listener{
		{Port: port, Protocol: TCP}, {Port: port, Protocol: UDP}, {Port: httpPort, Protocol: HTTP},
	}}}})
	return loopback(port), loopback(httpPort)
}

func benchmarkAsk(b *testing.B, protocol Protocol) {
	tcpUDP, http := benchAgent(b)
	to := Hop{Target: tcpUDP, Protocol: protocol}
	if protocol == HTTP {
		to.Target = http
	}
	for b.Loop() {
		if _, _, err := Ask(b.Context(), &net.Dialer{}, to, Request{}); err != nil {
			b.Fatal(err)
		}
	}
}

// One Ask: dial, request, answer, close.
func BenchmarkAskTCP(b *testing.B)  { benchmarkAsk(b, TCP) }
func BenchmarkAskUDP(b *testing.B)  { benchmarkAsk(b, UDP) }
func BenchmarkAskHTTP(b *testing.B) { benchmarkAsk(b, HTTP) }

// One request and answer on an open connection.
func BenchmarkSessionAsk(b *testing.B) {
	tcpUDP, _ := benchAgent(b)
	s, err := Open(b.Context(), &net.Dialer{}, tcpUDP)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for b.Loop() {
		if _, _, err := s.Ask(b.Context(), Request{}); err != nil {
			b.Fatal(err)
		}
	}
}

// A relay over two hops of the same agent, each a fresh TCP connection.
func BenchmarkRelayTCP(b *testing.B) {
	tcpUDP, _ := benchAgent(b)
	to := Hop{Target: tcpUDP, Protocol: TCP}
	for b.Loop() {
		if _, _, err := Ask(b.Context(), &net.Dialer{}, to, Request{Relay: []Hop{to, to}}); err != nil {
			b.Fatal(err)
		}
	}
}

// One Ask whose socket NetNSDialer makes in a namespace (root only): what a
// relay or a probe pays for entering the namespace.
func BenchmarkAskTCPFromNetNS(b *testing.B) {
	nodetest.RequireRoot(b)
	handle, path := tempNetNS(b)
	linkUp(b, netlinkIn(b, handle), "lo")
	startAgent(b, Config{Hosts: []Host{{Name: "bench", NetNS: path, Listeners: []Listener{{Port: 8080, Protocol: TCP}}}}})
	d := &NetNSDialer{NetNS: handle}
	to := Hop{Target: "127.0.0.1:8080", Protocol: TCP}
	for b.Loop() {
		if _, _, err := Ask(b.Context(), d, to, Request{}); err != nil {
			b.Fatal(err)
		}
	}
}
