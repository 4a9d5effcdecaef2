package agent

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// sourceDialer dials from a chosen loopback address and remembers the local
// address of its last connection: what the agent must report as Remote.
type sourceDialer struct {
	ip string

	mu   sync.Mutex
	last string
}

func (d *sourceDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	var local net.Addr = &net.TCPAddr{IP: net.ParseIP(d.ip)}
	if network == "udp" {
		local = &net.UDPAddr{IP: net.ParseIP(d.ip)}
	}
	conn, err := (&net.Dialer{LocalAddr: local}).DialContext(ctx, network, address)
	if err == nil {
		d.mu.Lock()
		d.last = conn.LocalAddr().String()
		d.mu.Unlock()
	}
	return conn, err
}

func (d *sourceDialer) lastLocal() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.last
}

func loopback(port int) string { return fmt.Sprintf("127.0.0.1:%d", port) }

func TestAnswerReportsHostAndAddressesSeen(t *testing.T) {
	port := freePort(t)
	startAgent(t, Config{Hosts: []Host{{Name: "web-0", Listeners: []Listener{
		{Port: port, Protocol: TCP},
		{Port: port, Protocol: UDP},
	}}}})
	httpPort := freePort(t)
	startAgent(t, Config{Hosts: []Host{{Name: "web-1", Listeners: []Listener{{Port: httpPort, Protocol: HTTP}}}}})

	tests := []struct {
		protocol Protocol
		port     int
		want     Answer
	}{
		{TCP, port, Answer{Host: "web-0"}},
		{UDP, port, Answer{Host: "web-0"}},
		{HTTP, httpPort, Answer{Host: "web-1", Status: 200, HTTPHost: loopback(httpPort)}},
	}
	for _, tt := range tests {
		t.Run(string(tt.protocol), func(t *testing.T) {
			d := &sourceDialer{ip: "127.0.0.5"}
			to := Hop{Target: loopback(tt.port), Protocol: tt.protocol}
			got, rtt, err := Ask(t.Context(), d, to, Request{ID: "probe-1"})
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			want.V, want.ID, want.Protocol = Version, "probe-1", tt.protocol
			want.Local, want.Remote = to.Target, d.lastLocal()
			want.Target, want.Outcome = to.Target, Answered
			// Body (the raw HTTP body, client side only) is checked in tcp_http_test.go.
			if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Answer{}, "Body")); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
			if rtt <= 0 {
				t.Errorf("round trip %v, want > 0", rtt)
			}
		})
	}
}

func TestUDPAnswersFromTheAddressAskedFor(t *testing.T) {
	// Bound to all addresses; loopback holds all of 127/8. Without packet info
	// the answer would leave from 127.0.0.1, and the client's socket, connected
	// to 127.0.0.2, would drop it.
	port := freePort(t)
	startAgent(t, Config{Hosts: []Host{{Name: "dns-0", Listeners: []Listener{{Port: port, Protocol: UDP}}}}})
	target := fmt.Sprintf("127.0.0.2:%d", port)
	got := mustAsk(t, Hop{Target: target, Protocol: UDP, TimeoutMS: 1000}, Request{})
	if got.Local != target {
		t.Errorf("answer's local = %s, want %s", got.Local, target)
	}
}

// threeAgents starts hosts a, b and c, each with a TCP, a UDP and an HTTP
// listener, and returns their ports.
func threeAgents(t *testing.T) map[string]int {
	ports := map[string]int{}
	var hosts []Host
	for _, name := range []string{"a", "b", "c"} {
		tcpUDP, http := freePort(t), freePort(t)
		ports[name], ports[name+"-http"] = tcpUDP, http
		hosts = append(hosts, Host{Name: name, Listeners: []Listener{
			{Port: tcpUDP, Protocol: TCP}, {Port: tcpUDP, Protocol: UDP}, {Port: http, Protocol: HTTP},
		}})
	}
	startAgent(t, Config{Hosts: hosts})
	return ports
}

// hopView is what relay tests compare of each answer in a chain.
type hopView struct {
	Host, Protocol, Target, Local, Outcome, Error string
	RemoteIsLoopback                              bool
}

func viewChain(ans Answer) []hopView {
	var views []hopView
	for _, a := range ans.Chain() {
		remoteIP, _, _ := net.SplitHostPort(a.Remote)
		views = append(views, hopView{Host: a.Host, Protocol: string(a.Protocol), Target: a.Target,
			Local: a.Local, Outcome: string(a.Outcome), Error: a.Error, RemoteIsLoopback: remoteIP == "127.0.0.1"})
	}
	return views
}

func TestRelay(t *testing.T) {
	ports := threeAgents(t)
	at := func(name string, p Protocol) Hop {
		if p == HTTP {
			return Hop{Target: loopback(ports[name+"-http"]), Protocol: p}
		}
		return Hop{Target: loopback(ports[name]), Protocol: p}
	}
	view := func(name string, p Protocol) hopView {
		h := at(name, p)
		return hopView{Host: name, Protocol: string(p), Target: h.Target, Local: h.Target, Outcome: "answered", RemoteIsLoopback: true}
	}
	tests := []struct {
		name  string
		first Hop
		relay []Hop
		want  []hopView
	}{
		{"two hops tcp", at("a", TCP), []Hop{at("b", TCP)}, []hopView{view("a", TCP), view("b", TCP)}},
		{"two hops udp", at("a", UDP), []Hop{at("b", UDP)}, []hopView{view("a", UDP), view("b", UDP)}},
		{"three hops http", at("a", HTTP), []Hop{at("b", HTTP), at("c", HTTP)},
			[]hopView{view("a", HTTP), view("b", HTTP), view("c", HTTP)}},
		{"three hops mixed", at("a", TCP), []Hop{at("b", UDP), at("c", HTTP)},
			[]hopView{view("a", TCP), view("b", UDP), view("c", HTTP)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustAsk(t, tt.first, Request{Relay: tt.relay})
			if diff := cmp.Diff(tt.want, viewChain(got)); diff != "" {
				t.Errorf("chain (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFailingHopIsReportedInTheAnswer(t *testing.T) {
	ports := threeAgents(t)
	closed := loopback(freePort(t))
	silentUDP, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silentUDP.Close()
	a := Hop{Target: loopback(ports["a"]), Protocol: TCP}
	b := Hop{Target: loopback(ports["b"]), Protocol: TCP}

	t.Run("refused after two hops", func(t *testing.T) {
		got := mustAsk(t, a, Request{Relay: []Hop{b, {Target: closed, Protocol: TCP}}})
		chain := got.Chain()
		if len(chain) != 3 || chain[1].Host != "b" {
			t.Fatalf("chain = %+v, want a, b, then the failed hop", chain)
		}
		failed := chain[2]
		if failed.Outcome != Refused || failed.Target != closed || !strings.Contains(failed.Error, "refused") {
			t.Errorf("failed hop = %+v, want outcome refused for %s with the cause", failed, closed)
		}
		if got.Error != "" || chain[1].Error != "" {
			t.Errorf("answers before the failed hop carry errors: %q, %q", got.Error, chain[1].Error)
		}
	})
	t.Run("timeout reported before the client gives up", func(t *testing.T) {
		silent := Hop{Target: silentUDP.LocalAddr().String(), Protocol: UDP, TimeoutMS: 300}
		start := time.Now()
		got := mustAsk(t, Hop{Target: a.Target, Protocol: TCP, TimeoutMS: 300}, Request{Relay: []Hop{silent}})
		if hop := got.Chain()[1]; hop.Outcome != Timeout || hop.Target != silent.Target {
			t.Errorf("failed hop = %+v, want outcome timeout for %s", hop, silent.Target)
		}
		if elapsed, budget := time.Since(start), Budget(silent); elapsed > budget+time.Second {
			t.Errorf("answer took %v, want about the hop's budget %v", elapsed, budget)
		}
	})
}

func TestHTTP(t *testing.T) {
	web, ingress, brokenIngress, teapot := freePort(t), freePort(t), freePort(t), freePort(t)
	dead := loopback(freePort(t))
	startAgent(t, Config{Hosts: []Host{
		{Name: "web-0", Listeners: []Listener{{Port: web, Protocol: HTTP}, {Port: teapot, Protocol: HTTP, Status: 418}}},
		{Name: "ingress", Listeners: []Listener{
			{Port: ingress, Protocol: HTTP, ProxyTo: loopback(web)},
			{Port: brokenIngress, Protocol: HTTP, ProxyTo: dead},
		}},
	}})

	t.Run("proxy adds X-Forwarded-For and keeps Host", func(t *testing.T) {
		d := &sourceDialer{ip: "127.0.0.7"}
		got, _, err := Ask(t.Context(), d, Hop{Target: loopback(ingress), Protocol: HTTP, Host: "shop.example", Path: "/cart"}, Request{})
		if err != nil {
			t.Fatal(err)
		}
		want := Answer{Host: "web-0", Local: loopback(web), ForwardedFor: "127.0.0.7", HTTPHost: "shop.example", Status: 200}
		if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Answer{}, "V", "ID", "Protocol", "Remote", "Target", "Outcome", "Body")); diff != "" {
			t.Errorf("answer through the proxy (-want +got):\n%s", diff)
		}
		if !strings.HasPrefix(got.Remote, "127.0.0.1:") {
			t.Errorf("backend saw remote %s, want the proxy's 127.0.0.1", got.Remote)
		}
	})
	t.Run("proxy with a dead upstream answers 502", func(t *testing.T) {
		got := mustAsk(t, Hop{Target: loopback(brokenIngress), Protocol: HTTP}, Request{})
		if got.Status != 502 || got.Host != "ingress" || !strings.Contains(got.Error, dead) {
			t.Errorf("answer = %+v, want 502 from ingress naming %s", got, dead)
		}
		want := []Answer{{V: Version, Protocol: HTTP, Target: dead, Outcome: Refused}}
		if diff := cmp.Diff(want, got.Hops, cmpopts.IgnoreFields(Answer{}, "Error")); diff != "" {
			t.Errorf("upstream hop (-want +got):\n%s", diff)
		}
	})
	statusTests := []struct {
		name, path string
		port       int
		want       int
	}{
		{"path asks for a status", "/status/503", web, 503},
		{"listener's default status", "/", teapot, 418},
		{"bodiless status", "/status/204", web, 204},
		{"bad status path", "/status/abc", web, 400},
	}
	for _, tt := range statusTests {
		t.Run(tt.name, func(t *testing.T) {
			got := mustAsk(t, Hop{Target: loopback(tt.port), Protocol: HTTP, Path: tt.path}, Request{})
			if got.Status != tt.want || got.Host != "web-0" {
				t.Errorf("status %d from %q, want %d from web-0", got.Status, got.Host, tt.want)
			}
			if (tt.want == 400) != (got.Error != "") {
				t.Errorf("error %q for status %d", got.Error, got.Status)
			}
		})
	}
}
