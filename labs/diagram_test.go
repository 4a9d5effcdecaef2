package labs

import (
	"bytes"
	"io/fs"
	"strings"
	"testing"

	"github.com/labctl/labctl/topo"
	"github.com/labctl/labctl/topo/graph"
)

const (
	graphBegin = "<!-- BEGIN labctl graph -->"
	graphEnd   = "<!-- END labctl graph -->"
)

// TestGuideDiagramsMatchLabs: the topology diagram in each guide is exactly what
// labctl graph draws from the lab it teaches, so guide and lab never drift apart.
// To refresh one: labctl graph labs/NAME.yaml, pasted between the markers.
func TestGuideDiagramsMatchLabs(t *testing.T) {
	guides, _ := fs.Glob(Files, "*.md")
	for _, name := range guides {
		data, _ := fs.ReadFile(Files, name)
		text := string(data)
		start, end := strings.Index(text, graphBegin), strings.Index(text, graphEnd)
		if name == "README.md" {
			continue
		}
		if start < 0 || end < start {
			t.Errorf("%s: no %s ... %s block", name, graphBegin, graphEnd)
			continue
		}
		got := strings.TrimSpace(text[start+len(graphBegin) : end])
		lab := strings.TrimSuffix(name, ".md") + ".yaml"
		p, err := topo.CompileFile(lab, topo.CompileOptions{})
		if err != nil {
			t.Errorf("%s: %v", lab, err)
			continue
		}
		var want bytes.Buffer
		want.WriteString("```mermaid\n")
		if err := graph.Mermaid(&want, p); err != nil {
			t.Fatal(err)
		}
		want.WriteString("```")
		if got != strings.TrimSpace(want.String()) {
			t.Errorf("%s: the diagram differs from labctl graph labs/%s; paste its output between the markers", name, lab)
		}
	}
}
