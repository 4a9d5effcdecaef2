package agent

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// A Pod's container port is a TCP listener; an http probe to it must get the same
// answer an http listener gives, and the line protocol must keep working on it.
func TestTCPListenerAnswersHTTP(t *testing.T) {
	port := freePort(t)
	startAgent(t, Config{Hosts: []Host{{Name: "web-0", Listeners: []Listener{{Port: port, Protocol: TCP}}}}})
	to := Hop{Target: loopback(port), Protocol: HTTP}

	ans := mustAsk(t, to, Request{})
	if ans.Host != "web-0" || ans.Status != 200 || ans.Protocol != HTTP || ans.Local != loopback(port) {
		t.Errorf("HTTP POST to a TCP listener: got %+v, want host web-0, status 200, protocol http, local %s", ans, loopback(port))
	}
	if !strings.Contains(string(ans.Body), `"host":"web-0"`) {
		t.Errorf("answer body %q does not carry the JSON answer", ans.Body)
	}

	to.Path = "/status/503"
	if ans := mustAsk(t, to, Request{}); ans.Status != 503 {
		t.Errorf("GET /status/503: status %d, want 503", ans.Status)
	}

	// A relay over HTTP through the TCP listener to its own line protocol.
	relayed := mustAsk(t, Hop{Target: loopback(port), Protocol: HTTP}, Request{Relay: []Hop{{Target: loopback(port), Protocol: TCP}}})
	if len(relayed.Hops) != 1 || relayed.Hops[0].Protocol != TCP || relayed.Hops[0].Host != "web-0" {
		t.Errorf("relay from an HTTP request on a TCP listener: hops %+v", relayed.Hops)
	}

	if ans := mustAsk(t, Hop{Target: loopback(port), Protocol: TCP}, Request{}); ans.Protocol != TCP || ans.Host != "web-0" {
		t.Errorf("line protocol on the same listener: %+v", ans)
	}
}

// A plain GET with keep-alive, as curl sends it: two requests on one connection.
func TestTCPListenerServesKeepAliveGETs(t *testing.T) {
	port := freePort(t)
	startAgent(t, Config{Hosts: []Host{{Name: "web-0", Listeners: []Listener{{Port: port, Protocol: TCP}}}}})
	conn, err := net.DialTimeout("tcp", loopback(port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	reader := bufio.NewReader(conn)
	for i := range 2 {
		fmt.Fprintf(conn, "GET /status/20%d HTTP/1.1\r\nHost: web\r\n\r\n", i)
		resp, err := http.ReadResponse(reader, nil)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var ans Answer
		if err := json.Unmarshal(body, &ans); err != nil {
			t.Fatalf("request %d: body %q: %v", i, body, err)
		}
		if resp.StatusCode != 200+i || ans.HTTPHost != "web" || resp.Header.Get(HostHeader) != "web-0" {
			t.Errorf("request %d: status %d, answer %+v", i, resp.StatusCode, ans)
		}
	}
}

// Short line-protocol requests and lines that merely start like a method are never
// taken for HTTP.
func TestTCPListenerKeepsTheLineProtocol(t *testing.T) {
	port := freePort(t)
	startAgent(t, Config{Hosts: []Host{{Name: "web-0", Listeners: []Listener{{Port: port, Protocol: TCP}}}}})
	for _, line := range []string{"{}", "GETTING", "get / HTTP/1.1"} {
		conn, err := net.DialTimeout("tcp", loopback(port), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(conn, "%s\n", line)
		got, err := bufio.NewReader(conn).ReadString('\n')
		conn.Close()
		if err != nil {
			t.Fatalf("%q: no answer line: %v", line, err)
		}
		var ans Answer
		if err := json.Unmarshal([]byte(got), &ans); err != nil || ans.Host != "web-0" || ans.Protocol != TCP {
			t.Errorf("%q: answer %q is not a line-protocol answer of web-0", line, got)
		}
	}
}

func TestSpeaksHTTP(t *testing.T) {
	for in, want := range map[string]bool{"GET / HTTP/1.1": true, "OPTIONS * HTTP/1.1": true, "POST /": true,
		`{"v":1}`: false, "GETX /": false, "FETCH /": false, "G": false, "": false} {
		if got := speaksHTTP(bufio.NewReader(strings.NewReader(in))); got != want {
			t.Errorf("speaksHTTP(%q) = %v, want %v", in, got, want)
		}
	}
}
