package graph

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// The lines a Mermaid drawing of labctl may have. The quoted text of labels is checked
// apart (mermaidTextOK), so a stray quote cannot hide inside a match.
var (
	mermaidID       = `[A-Za-z][A-Za-z0-9_]*`
	mermaidSubgraph = regexp.MustCompile(`^subgraph (` + mermaidID + `)\["([^"]*)"\]$`)
	mermaidBoxLine  = regexp.MustCompile(`^(` + mermaidID + `)(\[\[|\{\{|\(\[|\[|\()"([^"]*)"(\]\]|\}\}|\]\)|\]|\))$`)
	mermaidEdge     = regexp.MustCompile(`^(` + mermaidID + `) (---|-\.->)\|"([^"]*)"\| (` + mermaidID + `)$`)
	mermaidClassDef = regexp.MustCompile(`^classDef (` + mermaidID + `) [a-z-]+:[#a-z0-9]+(,[a-z-]+:[#a-z0-9]+)*$`)
	mermaidClass    = regexp.MustCompile(`^class (` + mermaidID + `(?:,` + mermaidID + `)*) (` + mermaidID + `)$`)
	mermaidEntity   = regexp.MustCompile(`#[a-z0-9]+;`)
	// Words Mermaid's flowchart grammar reserves: as ids they end blocks or start statements.
	mermaidKeywords = map[string]bool{"end": true, "subgraph": true, "graph": true, "flowchart": true,
		"class": true, "classDef": true, "style": true, "click": true, "linkStyle": true, "default": true}
	mermaidBrackets = map[string]string{"[": "]", "(": ")", "[[": "]]", "{{": "}}", "([": "])"}
)

// checkMermaid checks a drawing against the subset of Mermaid's flowchart syntax the
// writer uses: every id declared once before use, blocks balanced, labels quoted and
// free of characters that would end or reinterpret them. It returns the problems.
func checkMermaid(text string) []string {
	var problems []string
	bad := func(n int, format string, args ...any) {
		problems = append(problems, fmt.Sprintf("line %d: ", n+1)+fmt.Sprintf(format, args...))
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 4 || lines[0] != "---" || !strings.HasPrefix(lines[1], "title: ") || lines[2] != "---" || lines[3] != "flowchart LR" {
		return []string{"does not start with front matter (---, title, ---) and flowchart LR"}
	}
	boxes, groups, classes := map[string]bool{}, map[string]bool{}, map[string]bool{}
	declare := func(n int, id string, seen map[string]bool) {
		if mermaidKeywords[id] {
			bad(n, "id %q is a Mermaid keyword", id)
		}
		if boxes[id] || groups[id] {
			bad(n, "id %q declared twice", id)
		}
		seen[id] = true
	}
	depth := 0
	for n, raw := range lines[4:] {
		n += 4
		line := strings.TrimSpace(raw)
		switch m := []string(nil); {
		case line == "end":
			depth--
			if depth < 0 {
				bad(n, "end without subgraph")
			}
		case mermaidSubgraph.MatchString(line):
			m = mermaidSubgraph.FindStringSubmatch(line)
			declare(n, m[1], groups)
			problems = append(problems, mermaidTextOK(n, m[2])...)
			depth++
		case mermaidBoxLine.MatchString(line):
			m = mermaidBoxLine.FindStringSubmatch(line)
			if mermaidBrackets[m[2]] != m[4] {
				bad(n, "shape opens with %s but closes with %s", m[2], m[4])
			}
			declare(n, m[1], boxes)
			problems = append(problems, mermaidTextOK(n, m[3])...)
		case mermaidEdge.MatchString(line):
			m = mermaidEdge.FindStringSubmatch(line)
			for _, id := range []string{m[1], m[4]} {
				if !boxes[id] {
					bad(n, "edge names %q, which is not a box declared above", id)
				}
			}
			problems = append(problems, mermaidTextOK(n, m[3])...)
		case mermaidClassDef.MatchString(line):
			classes[mermaidClassDef.FindStringSubmatch(line)[1]] = true
		case mermaidClass.MatchString(line):
			m = mermaidClass.FindStringSubmatch(line)
			for _, id := range strings.Split(m[1], ",") {
				if !boxes[id] {
					bad(n, "class names %q, which is not a box", id)
				}
			}
			if !classes[m[2]] {
				bad(n, "class %q is used before its classDef", m[2])
			}
		default:
			bad(n, "not a statement the writer produces: %q", line)
		}
	}
	if depth != 0 {
		problems = append(problems, fmt.Sprintf("%d subgraphs not closed", depth))
	}
	return problems
}

// mermaidTextOK checks the inside of a quoted label: only <br> as markup, # only in
// entity codes.
func mermaidTextOK(n int, text string) []string {
	var problems []string
	rest := strings.ReplaceAll(text, "<br>", "")
	rest = mermaidEntity.ReplaceAllString(rest, "")
	for _, c := range []string{"<", ">", "#", "\"", "`", "|"} {
		if strings.Contains(rest, c) {
			problems = append(problems, fmt.Sprintf("line %d: label %q has a raw %s", n+1, text, c))
		}
	}
	return problems
}

func checkMermaidOutput(t *testing.T, out []byte) {
	t.Helper()
	for _, p := range checkMermaid(string(out)) {
		t.Error(p)
	}
}

// checkDOTOutput has Graphviz lay the drawing out: dot fails on syntax errors and
// warns (on stderr) about bad attributes. Without dot the test skips, except in CI,
// whose make deps installs graphviz.
func checkDOTOutput(t *testing.T, out []byte) {
	t.Helper()
	dot := requireDot(t)
	cmd := exec.Command(dot, "-Tsvg", "-o", os.DevNull)
	cmd.Stdin = bytes.NewReader(out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		t.Errorf("dot -Tsvg: %v\n%s", err, stderr.String())
	}
}

func requireDot(t *testing.T) string {
	t.Helper()
	dot, err := exec.LookPath("dot")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("dot (graphviz) is missing in CI: make deps installs it")
		}
		t.Skip("dot (graphviz) is not installed: apt-get install graphviz, or make deps")
	}
	return dot
}
