package agent

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/labctl/labctl/node/nodetest"
)

// scaleNamespaces is how many namespaces TestOpeningListenersInManyNamespaces
// makes: 200 by default, LABCTL_AGENT_NAMESPACES to measure a lab of another size.
func scaleNamespaces(t *testing.T) int {
	n := 200
	if text := os.Getenv("LABCTL_AGENT_NAMESPACES"); text != "" {
		var err error
		if n, err = strconv.Atoi(text); err != nil || n < 1 {
			t.Fatalf("LABCTL_AGENT_NAMESPACES=%q: want a positive number", text)
		}
	}
	return n
}

func TestOpeningListenersInManyNamespaces(t *testing.T) {
	nodetest.RequireRoot(t)
	if testing.Short() {
		t.Skip("makes hundreds of namespaces; skipped with -short")
	}
	n := scaleNamespaces(t)
	cfg := Config{}
	var last ns.NetNS
	for i := range n {
		handle, path := tempNetNS(t)
		name := fmt.Sprintf("pod-%d", i)
		cfg.Hosts = append(cfg.Hosts, Host{Name: name, NetNS: path, Listeners: []Listener{
			{Port: 8080, Protocol: TCP}, {Port: 8080, Protocol: UDP},
		}})
		if i == n-1 {
			linkUp(t, netlinkIn(t, handle), "lo")
			last = handle
		}
	}

	ctx, cancel := context.WithCancel(context.Background())
	start := time.Now()
	var opened time.Duration
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, cfg, func() { opened = time.Since(start); cancel() }) }()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	t.Logf("opened %d listeners in %d namespaces in %v (%v per namespace), closed in %v",
		2*n, n, opened, opened/time.Duration(n), time.Since(start)-opened)
	// The goal is well under a second for 1,000 namespaces; the bound leaves
	// room for a loaded CI machine.
	if limit := time.Duration(n) * 2 * time.Millisecond; opened > limit {
		t.Errorf("opening took %v, want under %v", opened, limit)
	}

	// Each listener is in its own namespace: the last host answers on its own
	// loopback, which no other namespace shares.
	startAgent(t, cfg)
	ans, _, err := Ask(t.Context(), &NetNSDialer{NetNS: last}, Hop{Target: "127.0.0.1:8080", Protocol: TCP}, Request{})
	if err != nil || ans.Host != fmt.Sprintf("pod-%d", n-1) {
		t.Errorf("answer %+v, %v; want one from pod-%d", ans, err, n-1)
	}
}
