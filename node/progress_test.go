package node

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/labctl/labctl/node/nodetest"
)

func TestUpAndDownReportProgress(t *testing.T) {
	nodetest.RequireRoot(t)
	p := compileLab(t, basicLab)
	var mu sync.Mutex
	done := map[string]Phase{}
	record := func(ph Phase) {
		mu.Lock()
		defer mu.Unlock()
		if ph.Done {
			if _, twice := done[ph.Name]; twice {
				t.Errorf("phase %s ended twice", ph.Name)
			}
			done[ph.Name] = ph
		} else if ph.Count > ph.Total {
			t.Errorf("running phase %s: count %d above total %d", ph.Name, ph.Count, ph.Total)
		}
	}
	t.Cleanup(func() { _, _ = Down(p.Instance) })
	res, err := Up(context.Background(), p, UpOptions{Progress: record, ProgressEvery: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	// basic: networks and routers are hubs, client and server leaves; one ruleset.
	want := map[string]int{"namespaces": 2, "links": 1, "hosts and pods": 2, "addresses and routes": 2, "links up": 4, "iptables": 1, "processes": 0}
	for name, n := range want {
		ph, ok := done[name]
		if !ok {
			t.Errorf("phase %s not reported", name)
			continue
		}
		if ph.Count != n || ph.Total != n {
			t.Errorf("phase %s: %d of %d done, want %d", name, ph.Count, ph.Total, n)
		}
	}
	if len(res.Phases) != len(want) {
		t.Errorf("UpResult has %d phases, want %d", len(res.Phases), len(want))
	}
	done = map[string]Phase{}
	dres, err := DownWith(p.Instance, DownOptions{Progress: record})
	if err != nil {
		t.Fatal(err)
	}
	if ph := done["namespaces"]; ph.Count != len(p.Namespaces) || dres.Namespaces != len(p.Namespaces) {
		t.Errorf("down: namespaces phase %+v, result %d, want %d", ph, dres.Namespaces, len(p.Namespaces))
	}
}
