package verify

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// maxCell is the widest an expected or seen cell of the table gets; the details
// under the table have the full text.
const maxCell = 60

// WriteTable writes the human report: one line per probe and step, then, for each
// failure, what was expected, what was seen and where the packets went.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PROBE\tRESULT\tEXPECTED\tSEEN\tTIME")
	for _, res := range r.Results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", res.Name(), res.Status(), cell(res.Expected()), cell(res.Seen()), durationText(res.Duration))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, res := range r.Results {
		if !res.Pass && res.Skipped == "" {
			fmt.Fprintf(w, "\n%s", res.Details())
		}
	}
	_, err := fmt.Fprintf(w, "\n%s\n", r.Summary())
	return err
}

// Summary is the report's last line.
func (r *Report) Summary() string {
	total := r.Passed + r.Failed + r.Unchecked
	s := fmt.Sprintf("lab %s: %d of %d passed, %d failed (%s)", r.Lab, r.Passed, total, r.Failed, durationText(r.Duration))
	s += shareSummary(r)
	if r.Untraced > 0 {
		s += fmt.Sprintf("; %d failures not traced, labctl trace traces one (commands above)", r.Untraced)
	}
	return s
}

// Details explains one result: the traffic, each check, and the trace.
func (res Result) Details() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", res.Status(), res.Name())
	if res.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", res.Line)
	}
	fmt.Fprintf(&b, "\n  %s\n", res.Summary)
	if res.Error != "" {
		fmt.Fprintf(&b, "  %s\n", res.Error)
	}
	for _, c := range res.Checks {
		mark := "ok  "
		switch {
		case c.Unchecked:
			mark = "????"
		case !c.Pass:
			mark = "FAIL"
		}
		fmt.Fprintf(&b, "  %s %s\n         expected: %s\n         seen:     %s\n", mark, c.Name, c.Expected, c.Seen)
	}
	if res.Untraced != "" {
		fmt.Fprintf(&b, "  not traced (a run traces only its first failures: each trace reads the whole machine's conntrack table); trace it with: %s\n", res.Untraced)
	}
	if res.Trace != nil {
		b.WriteString("  where the packets went (the probe sent once more, counters and conntrack of every host read):\n")
		for _, line := range strings.Split(strings.TrimRight(res.Trace.Text(), "\n"), "\n") {
			fmt.Fprintf(&b, "    %s\n", line)
		}
	}
	return b.String()
}

func cell(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > maxCell {
		return s[:maxCell-3] + "..."
	}
	return s
}

func durationText(d time.Duration) string {
	switch {
	case d >= time.Second:
		return fmt.Sprintf("%.2fs", d.Seconds())
	case d >= time.Millisecond:
		return fmt.Sprintf("%dms", d.Milliseconds())
	}
	return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000)
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// Reports are the reports of several labs as one document: what labctl test -o json
// prints, whatever the number of labs, so tools read one shape.
type Reports struct {
	Labs      []*Report     `json:"labs"`
	Passed    int           `json:"passed"`
	Failed    int           `json:"failed"`
	Unchecked int           `json:"unchecked,omitempty"`
	Skipped   int           `json:"skipped,omitempty"`
	Duration  time.Duration `json:"durationNs"`
}

// WriteJSONAll writes reports as one indented JSON document (Reports).
func WriteJSONAll(w io.Writer, reports ...*Report) error {
	all := Reports{Labs: reports}
	if all.Labs == nil {
		all.Labs = []*Report{}
	}
	for _, r := range reports {
		all.Passed += r.Passed
		all.Failed += r.Failed
		all.Unchecked += r.Unchecked
		all.Skipped += r.Skipped
		all.Duration += r.Duration
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(all)
}

// WriteMarkdown writes the report as GitHub-flavoured Markdown, for a job summary
// (GITHUB_STEP_SUMMARY): a table, and each failure's details folded.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	icon := "✅"
	if !r.OK() {
		icon = "❌"
	}
	fmt.Fprintf(&b, "### %s labctl verify: %s\n\n", icon, mdEscape(r.Summary()))
	b.WriteString("| | Probe | Expected | Seen | Time |\n|---|---|---|---|---|\n")
	for _, res := range r.Results {
		mark := "✅"
		switch {
		case res.Skipped != "":
			mark = "⏭️"
		case res.Unchecked:
			mark = "❔"
		case !res.Pass:
			mark = "❌"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", mark, mdEscape(res.Name()), mdEscape(res.Expected()), mdEscape(res.Seen()), durationText(res.Duration))
	}
	for _, res := range r.Results {
		if res.Pass || res.Skipped != "" {
			continue
		}
		fmt.Fprintf(&b, "\n<details><summary>%s</summary>\n\n```\n%s```\n\n</details>\n", htmlEscape(res.Status()+" "+res.Name()), res.Details())
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ", "<", "&lt;", ">", "&gt;").Replace(s)
}

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
