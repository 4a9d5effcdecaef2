package rules

import (
	"cmp"
	"fmt"
	"slices"
)

// Locator maps a 0-based line of the rules text to the lab-file position (1-based line
// and column) of that line's first character. Parse adds the offset within the line, so
// for a YAML block scalar the locator returns the block's indentation column.
type Locator func(textLine int) (line, col int)

// Problem is one defect of hand-written rules: where it is in the lab file, what is
// wrong, and what to do about it.
type Problem struct {
	Line, Col int
	Msg       string
	Hint      string
}

func (p Problem) String() string {
	s := fmt.Sprintf("%d:%d: %s", p.Line, p.Col, p.Msg)
	if p.Hint != "" {
		s += " (hint: " + p.Hint + ")"
	}
	return s
}

// pos is a position in the rules text: 0-based line, 0-based column counted in runes.
type pos struct{ line, col int }

// problems collects every defect of one text, positioned through the caller's locator.
type problems struct {
	loc  Locator
	list []Problem
}

func newProblems(loc Locator) *problems {
	if loc == nil {
		loc = func(textLine int) (int, int) { return textLine + 1, 1 }
	}
	return &problems{loc: loc}
}

// origin turns a text position into the lab-file position a rule remembers.
func (ps *problems) origin(at pos) Origin {
	line, col := ps.loc(at.line)
	return Origin{Line: line, Col: col + at.col}
}

func (ps *problems) add(at pos, hint, format string, args ...any) {
	o := ps.origin(at)
	ps.list = append(ps.list, Problem{Line: o.Line, Col: o.Col, Msg: fmt.Sprintf(format, args...), Hint: hint})
}

// sorted orders problems by position; a defect found twice is reported once.
func (ps *problems) sorted() []Problem {
	out := slices.Clone(ps.list)
	slices.SortStableFunc(out, func(a, b Problem) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	return slices.Compact(out)
}
