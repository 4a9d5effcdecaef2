package agent

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func readAnswerLine(t *testing.T, r *bufio.Reader) Answer {
	t.Helper()
	line, err := r.ReadBytes('\n')
	if err != nil {
		t.Fatalf("read answer line: %v", err)
	}
	var ans Answer
	if err := json.Unmarshal(line, &ans); err != nil {
		t.Fatalf("answer line %q: %v", line, err)
	}
	return ans
}

func TestGarbageIsAnsweredNotFatal(t *testing.T) {
	port, httpPort := freePort(t), freePort(t)
	startAgent(t, Config{Hosts: []Host{{Name: "web-0", Listeners: []Listener{
		{Port: port, Protocol: TCP}, {Port: port, Protocol: UDP}, {Port: httpPort, Protocol: HTTP},
	}}}})

	t.Run("tcp conversation survives bad lines", func(t *testing.T) {
		conn, err := net.DialTimeout("tcp", loopback(port), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		r := bufio.NewReader(conn)
		for _, bad := range []string{"hello", `{"v":2}`, `[1,2]`, `{"v":1,"relay":[{"target":"127.0.0.1:1","protocol":"sctp"}]}`} {
			conn.Write([]byte(bad + "\r\n"))
			ans := readAnswerLine(t, r)
			if !strings.HasPrefix(ans.Error, "bad request") || ans.Host != "web-0" || ans.Remote != conn.LocalAddr().String() {
				t.Errorf("answer to %q = %+v, want a bad request error from web-0 that still shows the remote", bad, ans)
			}
		}
		conn.Write([]byte("\n" + `{"v":1,"id":"ok"}` + "\n"))
		if ans := readAnswerLine(t, r); ans.Error != "" || ans.ID != "ok" {
			t.Errorf("answer to a good request after bad ones = %+v", ans)
		}
	})
	t.Run("tcp request without newline before end of stream", func(t *testing.T) {
		conn, err := net.DialTimeout("tcp", loopback(port), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		conn.Write([]byte(`{"v":1,"id":"last"}`))
		conn.(*net.TCPConn).CloseWrite()
		if ans := readAnswerLine(t, bufio.NewReader(conn)); ans.ID != "last" {
			t.Errorf("answer = %+v, want the answer to the last request", ans)
		}
	})
	t.Run("tcp line too long closes the connection", func(t *testing.T) {
		conn, err := net.DialTimeout("tcp", loopback(port), time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		go conn.Write([]byte(strings.Repeat("x", MaxRequestBytes+10)))
		r := bufio.NewReader(conn)
		if ans := readAnswerLine(t, r); !strings.Contains(ans.Error, "longer than") {
			t.Errorf("answer = %+v, want a too long error", ans)
		}
		if _, err := r.ReadByte(); err == nil {
			t.Error("connection still open after a too long line")
		}
	})
	t.Run("udp", func(t *testing.T) {
		conn, err := net.Dial("udp", loopback(port))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		conn.Write([]byte("\x00\xffnot json"))
		buf := make([]byte, 4096)
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		var ans Answer
		if err := json.Unmarshal(buf[:n], &ans); err != nil || !strings.HasPrefix(ans.Error, "bad request") {
			t.Errorf("answer %q (%v), want a bad request error", buf[:n], err)
		}
	})
	t.Run("http", func(t *testing.T) {
		resp, err := http.Post("http://"+loopback(httpPort)+"/", "text/plain", strings.NewReader("garbage"))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var ans Answer
		if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != 400 || !strings.HasPrefix(ans.Error, "bad request") || resp.Header.Get(HostHeader) != "web-0" {
			t.Errorf("status %d, answer %+v, want 400 with a bad request error", resp.StatusCode, ans)
		}
	})
	// The agent still answers after all that.
	mustAsk(t, Hop{Target: loopback(port), Protocol: TCP}, Request{})
}

func TestClientSeesNonAgentPeersAsFailures(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			bufio.NewReader(conn).ReadString('\n')
			conn.Write([]byte("HTTP/1.0 200 OK\r\n\r\n<html>not an agent</html>\n"))
			conn.Close()
		}
	}()
	for _, p := range []Protocol{TCP, HTTP} {
		_, err := ask(t, Hop{Target: ln.Addr().String(), Protocol: p}, Request{})
		var agentErr *Error
		if outcomeOf(t, err) != Failed || !strings.Contains(err.Error(), "not a labctl answer") {
			t.Errorf("%s: error %v, want a failed decode", p, err)
		} else if errorAs(err, &agentErr); agentErr.Op != "decode" {
			t.Errorf("%s: op %q, want decode", p, agentErr.Op)
		}
	}
}
