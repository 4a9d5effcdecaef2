package graph

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	"github.com/labctl/labctl/topo/plan"
)

// DOT writes the lab as a Graphviz graph (dot -Tsvg lab.dot > lab.svg). Groups become
// clusters, so Pods are drawn inside their node's frame.
func DOT(w io.Writer, p *plan.Plan) error {
	m := build(p)
	var b bytes.Buffer
	fmt.Fprintf(&b, "graph %s {\n", dotString(m.title))
	fmt.Fprintf(&b, "  label=%s;\n  labelloc=t;\n  rankdir=LR;\n", dotString(m.title))
	b.WriteString("  node [fontname=\"Helvetica\", fontsize=10, style=filled];\n")
	b.WriteString("  edge [fontname=\"Helvetica\", fontsize=9];\n")
	for _, g := range m.groups {
		// Graphviz draws a frame only around subgraphs whose name starts with "cluster".
		fmt.Fprintf(&b, "  subgraph cluster_%s {\n", g.id)
		fmt.Fprintf(&b, "    label=%s;\n    style=rounded;\n", dotString(g.label))
		for _, bx := range g.boxes {
			b.WriteString("    " + dotBox(bx) + "\n")
		}
		b.WriteString("  }\n")
	}
	for _, bx := range m.boxes {
		b.WriteString("  " + dotBox(bx) + "\n")
	}
	for _, e := range m.edges {
		attrs := "label=" + dotString(strings.Join(e.lines, "\n"))
		if e.service {
			attrs += ", style=dashed, dir=forward"
		}
		fmt.Fprintf(&b, "  %s -- %s [%s];\n", e.from, e.to, attrs)
	}
	b.WriteString("}\n")
	_, err := w.Write(b.Bytes())
	return err
}

var dotShapes = map[shape]string{
	shapeHost:         `shape=box, fillcolor="#f5f5f5"`,
	shapeNode:         `shape=box, fillcolor="#e3f2fd"`,
	shapePod:          `shape=box, style="rounded,filled", fillcolor="#e8f5e9"`,
	shapeLoadBalancer: `shape=box3d, fillcolor="#fff3e0"`,
	shapeNetwork:      `shape=hexagon, fillcolor="#ede7f6"`,
	shapeService:      `shape=ellipse, fillcolor="#fce4ec"`,
}

func dotBox(bx box) string {
	return fmt.Sprintf("%s [label=%s, %s];", bx.id, dotString(strings.Join(bx.lines, "\n")), dotShapes[bx.shape])
}

// dotString quotes s as a DOT string; a newline becomes \n, which Graphviz draws as a
// centred line break.
func dotString(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)
	return `"` + r.Replace(s) + `"`
}
