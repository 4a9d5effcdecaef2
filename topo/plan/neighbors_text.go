package plan

import (
	"bytes"
	"fmt"
)

// shownNeighbors is how many static entries labctl plan prints per namespace: all of
// a small lab's, and a sample of a big one's, whose 20,000 lines would bury the rest.
const shownNeighbors = 4

// writeStaticNeighbors writes the plan-wide line about static neighbours and returns
// the table the namespaces' sections print from (nil when they are off).
func (p *Plan) writeStaticNeighbors(b *bytes.Buffer) *NeighborTable {
	t := p.Neighbors()
	if t == nil {
		return nil
	}
	fmt.Fprintf(b, "static neighbours: on (%s): fixed MACs, and in each namespace a permanent ARP entry "+
		"for every other address of its segments (%d in all): no ARP on lab segments\n", p.StaticNeighbors.Why, t.Total())
	return t
}

// writeNeighbors writes a namespace's static entries: their count and the first few.
func (t *NeighborTable) writeNeighbors(b *bytes.Buffer, namespace string) {
	n := t.Count(namespace)
	if n == 0 {
		return
	}
	fmt.Fprintf(b, "  static neighbours: %d permanent\n", n)
	entries := t.For(namespace)
	show := entries
	if len(entries) > shownNeighbors {
		show = entries[:shownNeighbors-1]
	}
	for _, e := range show {
		fmt.Fprintf(b, "    %s lladdr %s dev %s\n", e.IP, e.MAC, e.Dev)
	}
	if len(show) < len(entries) {
		fmt.Fprintf(b, "    ... and %d more\n", len(entries)-len(show))
	}
}

// macText is the " mac ..." suffix of a link or bridge line, empty without a MAC.
func macText(mac string) string {
	if mac == "" {
		return ""
	}
	return " mac " + mac
}
