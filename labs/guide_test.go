package labs

import (
	"io/fs"
	"strings"
	"testing"
)

// TestShippedGuidesParse: every guide follows the format workshop mode and CI read.
func TestShippedGuidesParse(t *testing.T) {
	guides, err := fs.Glob(Files, "*.md")
	if err != nil || len(guides) == 0 {
		t.Fatalf("no guides: %v", err)
	}
	for _, name := range guides {
		if name == "README.md" {
			continue
		}
		data, _ := fs.ReadFile(Files, name)
		g, err := ParseGuide(strings.TrimSuffix(name, ".md"), data)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		files := g.LabFiles()
		if len(files) == 0 {
			t.Errorf("%s: the walkthrough never runs labctl up labs/<name>.yaml", name)
		}
		last := g.Steps[len(g.Steps)-1]
		if !strings.HasPrefix(last.Commands[len(last.Commands)-1], "labctl down ") {
			t.Errorf("%s: the walkthrough must end with labctl down", name)
		}
		for _, f := range files {
			if _, err := fs.Stat(Files, strings.TrimPrefix(f, "labs/")); err != nil {
				t.Errorf("%s brings up %s, which is not shipped", name, f)
			}
		}
	}
}

func TestParseGuide(t *testing.T) {
	md := "# Title\n\nWhy it matters.\n\n<!-- BEGIN labctl graph -->\n```mermaid\nflowchart LR\n```\n<!-- END labctl graph -->\n\n" +
		"## What happens\n\ntext\n\n```sh\nnot a step\n```\n\n## Walkthrough\n\n### 1. Up\n\nBuild it.\n\n```sh\nlabctl up -q labs/x.yaml\nlabctl ls\n```\n\n" +
		"### 2. Down\n\n```sh\nlabctl down x\n```\n\n## Questions\n\nq?\n"
	g, err := ParseGuide("x", []byte(md))
	if err != nil {
		t.Fatal(err)
	}
	if g.Title != "Title" || g.Intro != "Why it matters." || len(g.Steps) != 2 {
		t.Fatalf("got %+v", g)
	}
	if s := g.Steps[0]; s.Title != "1. Up" || s.Text != "Build it." || strings.Join(s.Commands, "|") != "labctl up -q labs/x.yaml|labctl ls" {
		t.Errorf("step 1: %+v", s)
	}
	if f := g.LabFiles(); len(f) != 1 || f[0] != "labs/x.yaml" {
		t.Errorf("lab files %v", f)
	}
}

func TestParseGuideProblems(t *testing.T) {
	cases := map[string]string{
		"no title":        "## Walkthrough\n### 1. a\n```sh\ntrue\n```\n",
		"no walkthrough":  "# T\n## Other\n",
		"step without sh": "# T\n## Walkthrough\n### 1. a\ntext only\n",
		"two sh blocks":   "# T\n## Walkthrough\n### 1. a\n```sh\ntrue\n```\n```sh\ntrue\n```\n",
	}
	for name, md := range cases {
		if _, err := ParseGuide("g", []byte(md)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
