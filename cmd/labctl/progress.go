package main

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/labctl/labctl/node"
)

// progressEvery is how often a terminal's live line is redrawn: often enough to see
// a 1,000-Pod lab move, rarely enough to cost nothing (node only bumps counters).
const progressEvery = 200 * time.Millisecond

// progressPrinter prints the phases of up or down: each finished phase on a line of
// its own (the format -v always had), and on a terminal also a live line, redrawn in
// place, with the counts of the phases still running.
func progressPrinter(w io.Writer, tty bool) (func(node.Phase), time.Duration) {
	var mu sync.Mutex
	live := map[string]node.Phase{}
	order := []string{}
	return func(ph node.Phase) {
		mu.Lock()
		defer mu.Unlock()
		if !ph.Done {
			if _, seen := live[ph.Name]; !seen {
				order = append(order, ph.Name)
			}
			live[ph.Name] = ph
			fmt.Fprintf(w, "\r%s\033[K", liveLine(live, order))
			return
		}
		delete(live, ph.Name)
		if tty {
			fmt.Fprint(w, "\r\033[K")
		}
		fmt.Fprintf(w, "  %-22s %5d  %6.3fs\n", ph.Name, ph.Count, ph.Elapsed.Seconds())
	}, map[bool]time.Duration{true: progressEvery, false: 0}[tty]
}

func liveLine(live map[string]node.Phase, order []string) string {
	s := " "
	for _, name := range order {
		if ph, ok := live[name]; ok {
			s += fmt.Sprintf(" %s %d/%d (%.1fs)", name, ph.Count, ph.Total, ph.Elapsed.Seconds())
		}
	}
	return s
}
