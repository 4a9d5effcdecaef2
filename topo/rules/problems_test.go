package rules

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// problemCase is one kind of problem: the text that causes it and every problem
// Parse must report, with message, hint and position (by the default locator, text
// line 1 is lab line 1 and columns count from 1). A case without want must parse
// cleanly.
type problemCase struct {
	name, text string
	// base is restore text standing for rules a generator wrote; "" for none.
	base string
	want []Problem
}

func runProblemCases(t *testing.T, cases []problemCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			var base *Ruleset
			if tt.base != "" {
				base = generated(t, tt.base)
			}
			_, got := Parse(tt.text, nil, base)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

// generated reads restore text as rules a generator wrote.
func generated(t *testing.T, text string) *Ruleset {
	t.Helper()
	rs, err := ParseSave([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	for _, tb := range rs.Tables {
		for _, c := range tb.Chains {
			for i := range c.Rules {
				c.Rules[i].Origin.By = "generator"
			}
		}
	}
	return rs
}
