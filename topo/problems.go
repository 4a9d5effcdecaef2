package topo

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// Pos is a position in a lab file (1-based line and column; zero when unknown).
type Pos struct {
	Line int `json:"line,omitempty"`
	Col  int `json:"col,omitempty"`
}

// Problem is one defect of a lab file, with where it is and what to do about it.
type Problem struct {
	File string `json:"file"`
	Pos
	Msg  string `json:"message"`
	Hint string `json:"hint,omitempty"`
}

func (p Problem) String() string {
	loc := p.File
	if p.Line > 0 {
		loc = fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
	}
	s := loc + ": " + p.Msg
	if p.Hint != "" {
		s += "\n    hint: " + p.Hint
	}
	return s
}

// Problems is every defect found in a lab file. It is returned as an error so callers
// can tell bad input (exit 2) from failures of the machine (errors.As).
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, 0, len(ps)+1)
	for _, p := range ps {
		lines = append(lines, p.String())
	}
	noun := "problems"
	if len(ps) == 1 {
		noun = "problem"
	}
	lines = append(lines, fmt.Sprintf("%d %s found; nothing was changed", len(ps), noun))
	return strings.Join(lines, "\n")
}

// sorted orders problems by position and drops exact duplicates, so a defect reached
// through two paths of the checks is reported once.
func (ps Problems) sorted() Problems {
	out := slices.Clone(ps)
	slices.SortStableFunc(out, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	return slices.CompactFunc(out, func(a, b Problem) bool { return a == b })
}

// report collects problems for one file.
type report struct {
	file     string
	problems Problems
}

func (r *report) add(at Pos, hint, format string, args ...any) {
	r.problems = append(r.problems, Problem{File: r.file, Pos: at, Msg: fmt.Sprintf(format, args...), Hint: hint})
}

func (r *report) err() error {
	if len(r.problems) == 0 {
		return nil
	}
	return r.problems.sorted()
}
