package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/labctl/labctl/node/nodetest"
)

// TestGuidesRun runs every shipped guide's walkthrough with labctl lab --check, as CI
// and instructors do: every command of every step must succeed.
func TestGuidesRun(t *testing.T) {
	nodetest.RequireRoot(t)
	guides, err := filepath.Glob("../../labs/*.md")
	if err != nil || len(guides) == 0 {
		t.Fatalf("no guides: %v", err)
	}
	for _, g := range guides {
		if filepath.Base(g) == "README.md" {
			continue
		}
		t.Run(filepath.Base(g), func(t *testing.T) {
			if r := runLabctl(t, "", "lab", "--check", g); r.code != 0 {
				t.Errorf("labctl lab --check %s: exit %d\n%s\n%s", g, r.code, tail(r.stdout, 30), r.stderr)
			}
		})
	}
}

// TestWorkshopInteractive answers the prompts like a student: run, skip, quit; the
// lab brought up is removed when the student quits.
func TestWorkshopInteractive(t *testing.T) {
	nodetest.RequireRoot(t)
	r := runLabctl(t, "\ns\nq\n", "lab", "basic")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	for _, want := range []string{"step 1/", "$ labctl up labs/basic.yaml", "lab basic is up", "step 2/", "step 3/"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "-A PREROUTING") {
		t.Errorf("step 2 was skipped but its command ran:\n%s", r.stdout)
	}
	assertGone(t, "basic")
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
