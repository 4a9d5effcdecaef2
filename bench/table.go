package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// table is the one result table the bench prints (also valid Markdown).
type table struct{ rows [][6]string }

func (t *table) add(what, measured, target, floor, ratio, verdict string) {
	t.rows = append(t.rows, [6]string{what, measured, target, floor, ratio, verdict})
}

func (t *table) print(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 4, 1, ' ', tabwriter.Debug)
	fmt.Fprintln(tw, "| figure\t measured\t target\t floor\t ratio\t verdict\t")
	fmt.Fprintln(tw, "|---\t---\t---\t---\t---\t---\t")
	for _, r := range t.rows {
		fmt.Fprintf(tw, "| %s\t\n", strings.Join(r[:], "\t "))
	}
	tw.Flush()
}
