package agent

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"testing"
	"time"
)

// startAgent runs Serve with cfg until the test ends and returns once every
// listener is open. The test fails if Serve returns an error at any time.
func startAgent(t testing.TB, cfg Config) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, cfg, func() { close(ready) }) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("Serve failed before it was ready: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("Serve not ready after 10s")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return within 10s of its context ending")
		}
	})
}

// freePort returns a port free for TCP and UDP on all addresses, never the same
// twice in a test run, and below the ephemeral range, so that neither another
// listener of the test nor a client socket of an earlier test can hold it when
// the agent binds it.
func freePort(t testing.TB) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	low := ephemeralLow()
	for range 1000 {
		port := 10000 + rand.IntN(low-10000)
		if portsGiven[port] {
			continue
		}
		tcp, err := net.Listen("tcp", fmt.Sprintf(":%d", port))
		if err != nil {
			continue
		}
		tcp.Close()
		udp, err := net.ListenPacket("udp4", fmt.Sprintf(":%d", port))
		if err != nil {
			continue
		}
		udp.Close()
		portsGiven[port] = true
		return port
	}
	t.Fatal("no port free for both TCP and UDP")
	return 0
}

var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{}
)

// ephemeralLow is the lowest port the kernel picks for client sockets.
func ephemeralLow() int {
	data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	var low, high int
	if _, err := fmt.Sscan(string(data), &low, &high); err != nil || low < 11000 {
		return 32768
	}
	return low
}

func ask(t *testing.T, to Hop, req Request) (Answer, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ans, _, err := Ask(ctx, &net.Dialer{}, to, req)
	return ans, err
}

func mustAsk(t *testing.T, to Hop, req Request) Answer {
	t.Helper()
	ans, err := ask(t, to, req)
	if err != nil {
		t.Fatalf("Ask %s: %v", to, err)
	}
	return ans
}

func outcomeOf(t *testing.T, err error) Outcome {
	t.Helper()
	var agentErr *Error
	if err != nil && !errors.As(err, &agentErr) {
		t.Errorf("error is not an *agent.Error: %T %v", err, err)
	}
	return Classify(err)
}
