package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
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

// TestLabCheckGlobSkipsTheIndex runs labctl lab --check labs/*.md as the README
// writes it, through a shell: labs/README.md (the index, no guide) is skipped and
// named, a guide runs, and a guide with a broken step still fails. No root needed:
// the guides only run labctl version.
func TestLabCheckGlobSkipsTheIndex(t *testing.T) {
	index, err := os.ReadFile("../../labs/README.md")
	if err != nil {
		t.Fatal(err)
	}
	guide := "# Tiny\n\nA guide.\n\n## Walkthrough\n### 1. Version\nWhich labctl.\n```sh\nlabctl version\n```\n"
	broken := "# Broken\n\nA guide.\n\n## Walkthrough\n### 1. Nothing to run\nNo block.\n### 2. Version\nWhich labctl.\n```sh\nlabctl version\n```\n"
	run := func(files map[string]string) result {
		dir := t.TempDir()
		if err := os.Mkdir(filepath.Join(dir, "labs"), 0o755); err != nil {
			t.Fatal(err)
		}
		for name, content := range files {
			if err := os.WriteFile(filepath.Join(dir, "labs", name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		cmd := exec.Command("sh", "-c", `"$LABCTL" lab --check labs/*.md`)
		cmd.Dir, cmd.Env = dir, append(os.Environ(), "LABCTL="+labctlBinary(t))
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var exitErr *exec.ExitError
		if err != nil && !errors.As(err, &exitErr) {
			t.Fatal(err)
		}
		return result{out.String(), errOut.String(), cmd.ProcessState.ExitCode()}
	}
	r := run(map[string]string{"README.md": string(index), "tiny.md": guide})
	if r.code != 0 || !strings.Contains(r.stderr, "labs/README.md has no walkthrough steps: not a guide, skipped") ||
		!strings.Contains(r.stdout, "Done: Tiny") || !strings.Contains(r.stdout, "labctl (") {
		t.Errorf("lab --check labs/*.md: exit %d, want 0 with README.md skipped and tiny run\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = run(map[string]string{"README.md": string(index), "broken.md": broken, "tiny.md": guide})
	if r.code != 1 || !strings.Contains(r.stderr, `step "1. Nothing to run" has no `+"```sh block") {
		t.Errorf("lab --check with a broken guide: exit %d, want 1 naming the step\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
