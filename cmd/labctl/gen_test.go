package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/labctl/labctl/node/nodetest"
	"github.com/labctl/labctl/verify"
)

// TestGeneratedClusterPasses is labctl gen cluster end to end on the kernel: a small
// generated cluster with a load balancer, built, probed and removed by labctl test.
// gen promises probes whose outcome is certain from the lab alone, so every one of
// them must pass, and nothing may be left.
func TestGeneratedClusterPasses(t *testing.T) {
	nodetest.RequireRoot(t)
	before := nodetest.SnapshotRoot(t)
	lab := uniqueLabName()
	file := filepath.Join(t.TempDir(), "gen.yaml")
	t.Cleanup(func() { runLabctl(t, "", "down", lab) })
	if r := runLabctl(t, "", "gen", "cluster", "--name", lab, "--nodes", "3", "--pods", "12", "--services", "4",
		"--lb", "--probes", "20", "-o", file); r.code != 0 {
		t.Fatalf("gen cluster: exit %d: %s", r.code, r.stderr)
	}
	r := runLabctl(t, "", "test", "-o", "json", file)
	var all verify.Reports
	if err := json.Unmarshal([]byte(r.stdout), &all); err != nil {
		t.Fatalf("test -o json: exit %d, %v:\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if r.code != 0 || all.Passed != 20 || all.Failed != 0 || len(all.Labs) != 1 {
		t.Errorf("labctl test of the generated cluster: exit %d, %d passed, %d failed, %d labs; want exit 0 and all 20 probes passed:\n%s", r.code, all.Passed, all.Failed, len(all.Labs), r.stderr)
	}
	for _, rep := range all.Labs {
		for _, res := range rep.Results {
			if !res.Pass {
				t.Errorf("probe %s (%s) failed: %s", res.Probe, res.Summary, res.Error)
			}
		}
	}
	assertGone(t, lab)
	if diff := before.Diff(nodetest.SnapshotRoot(t)); len(diff) > 0 {
		t.Errorf("the root namespace changed: %v", diff)
	}
}
