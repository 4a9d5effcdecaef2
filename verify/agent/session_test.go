package agent

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestSessionKeepsOneConnection(t *testing.T) {
	port := freePort(t)
	startAgent(t, Config{Hosts: []Host{{Name: "db-0", Listeners: []Listener{{Port: port, Protocol: TCP}}}}})
	s, err := Open(t.Context(), &net.Dialer{}, loopback(port))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ids := map[string]bool{}
	for i := range 3 {
		got, _, err := s.Ask(t.Context(), Request{})
		if err != nil {
			t.Fatalf("request %d: %v", i+1, err)
		}
		want := Answer{V: Version, Host: "db-0", Protocol: TCP, Local: loopback(port),
			Remote: s.LocalAddr().String(), Target: loopback(port), Outcome: Answered}
		if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(Answer{}, "ID")); diff != "" {
			t.Errorf("request %d (-want +got):\n%s", i+1, diff)
		}
		ids[got.ID] = true
	}
	if len(ids) != 3 {
		t.Errorf("answers carry %d distinct IDs, want 3: %v", len(ids), ids)
	}
}

func TestSessionSkipsTheLateAnswerOfATimedOutRequest(t *testing.T) {
	port := freePort(t)
	startAgent(t, Config{Hosts: []Host{{Name: "db-0", Listeners: []Listener{{Port: port, Protocol: TCP}}}}})
	silentUDP, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silentUDP.Close()
	s, err := Open(t.Context(), &net.Dialer{}, loopback(port))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	// The agent answers this one after the 300ms hop timeout; the client gives
	// up after 100ms.
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	slow := Request{ID: "slow", Relay: []Hop{{Target: silentUDP.LocalAddr().String(), Protocol: UDP, TimeoutMS: 300}}}
	if _, _, err := s.Ask(ctx, slow); Classify(err) != Timeout {
		t.Fatalf("slow request: %v, want a timeout", err)
	}
	time.Sleep(500 * time.Millisecond) // the late answer is now waiting in the connection
	got, _, err := s.Ask(t.Context(), Request{ID: "next"})
	if err != nil || got.ID != "next" {
		t.Errorf("next request got %+v, %v; want its own answer", got, err)
	}
}
