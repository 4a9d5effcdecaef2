package graph

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/labctl/labctl/topo/plan"
)

// Mermaid writes the lab as a Mermaid flowchart, which GitHub renders inside a
// ```mermaid block. Every label is quoted and escaped, so names and addresses never
// meet Mermaid's syntax; ids are plain [A-Za-z0-9_].
func Mermaid(w io.Writer, p *plan.Plan) error {
	m := build(p)
	var b bytes.Buffer
	fmt.Fprintf(&b, "---\ntitle: %s\n---\n", mermaidTitle(m.title))
	b.WriteString("flowchart LR\n")
	for _, g := range m.groups {
		fmt.Fprintf(&b, "  subgraph %s[\"%s\"]\n", g.id, mermaidText(g.label))
		for _, bx := range g.boxes {
			b.WriteString("    " + mermaidBox(bx) + "\n")
		}
		b.WriteString("  end\n")
	}
	for _, bx := range m.boxes {
		b.WriteString("  " + mermaidBox(bx) + "\n")
	}
	for _, e := range m.edges {
		arrow := "---"
		if e.service {
			arrow = "-.->"
		}
		fmt.Fprintf(&b, "  %s %s|\"%s\"| %s\n", e.from, arrow, mermaidLines(e.lines), e.to)
	}
	writeMermaidClasses(&b, m)
	_, err := w.Write(b.Bytes())
	return err
}

// mermaidShapes are the opening and closing brackets of each shape.
var mermaidShapes = map[shape][2]string{
	shapeHost:         {"[", "]"},
	shapeNode:         {"[", "]"},
	shapePod:          {"(", ")"},
	shapeLoadBalancer: {"[[", "]]"},
	shapeNetwork:      {"{{", "}}"},
	shapeService:      {"([", "])"},
}

var mermaidClassNames = map[shape]string{
	shapeHost:         "host",
	shapeNode:         "kubenode",
	shapePod:          "pod",
	shapeLoadBalancer: "lb",
	shapeNetwork:      "net",
	shapeService:      "svc",
}

// mermaidClassStyles colour the kinds apart; they keep to fills and strokes, which
// read on GitHub's light and dark themes alike.
var mermaidClassStyles = []struct {
	shape shape
	style string
}{
	{shapeHost, "fill:#f5f5f5,stroke:#616161"},
	{shapeNode, "fill:#e3f2fd,stroke:#1565c0"},
	{shapePod, "fill:#e8f5e9,stroke:#2e7d32"},
	{shapeLoadBalancer, "fill:#fff3e0,stroke:#e65100"},
	{shapeNetwork, "fill:#ede7f6,stroke:#4527a0"},
	{shapeService, "fill:#fce4ec,stroke:#ad1457"},
}

func mermaidBox(bx box) string {
	br := mermaidShapes[bx.shape]
	return fmt.Sprintf("%s%s\"%s\"%s", bx.id, br[0], mermaidLines(bx.lines), br[1])
}

// writeMermaidClasses styles boxes by kind, naming only the classes that are used
// (Mermaid rejects a class statement with no ids).
func writeMermaidClasses(b *bytes.Buffer, m *model) {
	ids := map[shape][]string{}
	all := append([]box(nil), m.boxes...)
	for _, g := range m.groups {
		all = append(all, g.boxes...)
	}
	for _, bx := range all {
		ids[bx.shape] = append(ids[bx.shape], bx.id)
	}
	for _, c := range mermaidClassStyles {
		if len(ids[c.shape]) == 0 {
			continue
		}
		name := mermaidClassNames[c.shape]
		fmt.Fprintf(b, "  classDef %s %s\n", name, c.style)
		fmt.Fprintf(b, "  class %s %s\n", strings.Join(ids[c.shape], ","), name)
	}
}

func mermaidLines(lines []string) string {
	esc := make([]string, len(lines))
	for i, l := range lines {
		esc[i] = mermaidText(l)
	}
	return strings.Join(esc, "<br>")
}

// mermaidEscapes turns the characters that end a quoted label ("), start an entity
// code (#), or that GitHub's renderer reads as HTML or Markdown into entity codes.
var mermaidEscapes = strings.NewReplacer(
	`#`, "#35;",
	`"`, "#quot;",
	`<`, "#lt;",
	`>`, "#gt;",
	`&`, "#amp;",
	"*", "#42;",
	"`", "#96;",
	"_", "#95;",
	"|", "#124;",
)

func mermaidText(s string) string { return mermaidEscapes.Replace(s) }

// mermaidTitle keeps the front matter's title a plain YAML scalar.
func mermaidTitle(s string) string {
	return strings.Map(func(r rune) rune {
		if strings.ContainsRune(`:#"'{}[]|>&*!%@`+"`", r) {
			return ' '
		}
		return r
	}, s)
}
