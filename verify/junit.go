package verify

import (
	"cmp"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// JUnit XML as CI systems read it (the common subset of the Ant/Surefire schema that
// GitHub test reporters understand): one testsuite per lab, one testcase per probe or
// step, a failure for a probe that failed its expectations, an error for one that
// could not run.

// JUnitSuites is the document root.
type JUnitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []JUnitSuite `xml:"testsuite"`
}

// JUnitSuite is one lab.
type JUnitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Skipped  int         `xml:"skipped,attr"`
	Time     string      `xml:"time,attr"`
	Cases    []JUnitCase `xml:"testcase"`
}

// JUnitCase is one probe or step.
type JUnitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	File      string        `xml:"file,attr,omitempty"`
	Line      int           `xml:"line,attr,omitempty"`
	Time      string        `xml:"time,attr"`
	Failure   *JUnitProblem `xml:"failure"`
	Error     *JUnitProblem `xml:"error"`
	Skipped   *JUnitProblem `xml:"skipped"`
	SystemOut string        `xml:"system-out,omitempty"`
}

// JUnitProblem is a failure or error: a one-line message and the details.
type JUnitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// JUnit converts reports (one per lab) to a JUnit document.
func JUnit(reports ...*Report) JUnitSuites {
	doc := JUnitSuites{Name: "labctl verify"}
	var total float64
	for _, r := range reports {
		s := JUnitSuite{Name: "lab " + r.Lab, Time: seconds(r.Duration.Seconds())}
		for _, res := range r.Results {
			c := JUnitCase{Name: res.Name(), Classname: "labctl." + r.Lab, File: r.Source, Line: res.Line, Time: seconds(res.Duration.Seconds())}
			switch {
			case res.Skipped != "" || res.Unchecked:
				// Neither passed nor failed here: a machine's share (machines.go).
				c.Skipped = &JUnitProblem{Message: res.Status() + ": " + cmp.Or(res.Skipped, res.Error, failedChecks(res)), Type: strings.ToLower(res.Status())}
				s.Skipped++
			case res.Error != "":
				c.Error = &JUnitProblem{Message: res.Error, Type: "error", Text: res.Details()}
				s.Errors++
			case !res.Pass:
				c.Failure = &JUnitProblem{Message: failedChecks(res), Type: "probe", Text: res.Details()}
				s.Failures++
			}
			s.Tests++
			s.Cases = append(s.Cases, c)
		}
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		doc.Errors += s.Errors
		total += r.Duration.Seconds()
		doc.Suites = append(doc.Suites, s)
	}
	doc.Time = seconds(total)
	return doc
}

// WriteJUnit writes reports as one JUnit XML document.
func WriteJUnit(w io.Writer, reports ...*Report) error {
	data, err := xml.MarshalIndent(JUnit(reports...), "", "  ")
	if err != nil {
		return fmt.Errorf("render JUnit XML: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s%s\n", xml.Header, data)
	return err
}

func failedChecks(res Result) string {
	var parts []string
	for _, c := range res.Checks {
		if !c.Pass {
			parts = append(parts, fmt.Sprintf("%s: expected %s, seen %s", c.Name, c.Expected, c.Seen))
		}
	}
	return strings.Join(parts, "; ")
}

func seconds(s float64) string { return fmt.Sprintf("%.3f", s) }
