package verify

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/joshdk/go-junit"
)

var update = flag.Bool("update", false, "rewrite golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./verify -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got; go test ./verify -update accepts the change):\n%s", path, diff)
	}
}

// sampleReport has a pass, a failure with its trace, a step and an error.
func sampleReport() *Report {
	trace := &Trace{From: "client", Client: netip.MustParseAddrPort("203.0.113.10:41234"), Target: "198.51.100.80:80", Protocol: "tcp", Outcome: "answered",
		AnsweredBy: "web-1", SourceSeen: "192.168.50.12:41234",
		Hops: []TraceHop{
			{Host: "lb", Rules: []TraceRule{{Table: "nat", Chain: "PREROUTING", Index: 1, Target: "DNAT", Packets: 1}}, DNAT: "198.51.100.80:80 -> 192.168.50.12:30080"},
			{Host: "node-2", Rules: []TraceRule{
				{Table: "nat", Chain: "KUBE-NODEPORTS", Index: 1, Target: "KUBE-EXT-XXXX", Packets: 1},
				{Table: "nat", Chain: "KUBE-SVC-XXXX", Index: 2, Target: "KUBE-SEP-YYYY", Packets: 1},
				{Table: "nat", Chain: "KUBE-SEP-YYYY", Index: 2, Target: "DNAT", Packets: 1},
				{Table: "nat", Chain: "KUBE-POSTROUTING", Index: 3, Target: "MASQUERADE", Packets: 1},
			}, DNAT: "192.168.50.12:30080 -> 10.244.2.2:8080", SNAT: "203.0.113.10:41234 -> 192.168.50.12:41234"},
		}}
	return &Report{Lab: "hairpin", Source: "labs/hairpin.yaml", Passed: 2, Failed: 2, Duration: 1234 * time.Millisecond, Results: []Result{
		{Probe: "web-0 reaches its own Service", Line: 31, Summary: "web-0 -> service/web:80 (10.96.0.10:80) tcp x40 timeout 1s", Pass: true, Tries: 40, Duration: 12 * time.Millisecond,
			Checks: []Check{{Name: "reach", Expected: "40/40 answered", Seen: "40/40 answered", Pass: true},
				{Name: "everyBackend", Expected: "each of web-0, web-1 answers", Seen: "answered by web-0 x22, web-1 x18", Pass: true}}},
		{Probe: "client IP | kept", Line: 40, Summary: "client -> loadbalancer/web:80 (198.51.100.80:80) tcp x1 timeout 1s", Tries: 1, Duration: 3 * time.Millisecond,
			Checks: []Check{{Name: "reach", Expected: "1/1 answered", Seen: "1/1 answered", Pass: true},
				{Name: "sourceSeen", Expected: "source seen client (203.0.113.10)", Seen: "saw 192.168.50.12 (want client (203.0.113.10))"}},
			Trace: trace},
		{Probe: "iptables on lb", Step: 2, Line: 50, Summary: "iptables on lb (one atomic restore; conntrack keeps existing flows):", Pass: true, Duration: 21 * time.Millisecond},
		{Probe: "old flow <kept>", Step: 3, Line: 52, Summary: "client -> 198.51.100.80:80 tcp x1 timeout 1s session flow1", Error: "could not run: host client: open namespace: no such file or directory"},
	}}
}

func TestReportFormats(t *testing.T) {
	rep := sampleReport()
	var table, js, md, junit bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.txt", table.Bytes())
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.json", js.Bytes())
	if err := rep.WriteMarkdown(&md); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.md", md.Bytes())
	if err := WriteJUnit(&junit, rep); err != nil {
		t.Fatal(err)
	}
	golden(t, "report.xml", junit.Bytes())

	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatalf("JSON report does not read back: %v", err)
	}
	if diff := cmp.Diff(*rep, back, cmpopts.EquateComparable(netip.AddrPort{})); diff != "" {
		t.Errorf("JSON round trip (-want +got):\n%s", diff)
	}
}

// junitSchema mirrors the JUnit XSD (testsuites > testsuite > testcase with
// failure/error/skipped), with every attribute test reporters read.
type junitSchema struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    string   `xml:"tests,attr"`
	Failures string   `xml:"failures,attr"`
	Errors   string   `xml:"errors,attr"`
	Time     string   `xml:"time,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    string `xml:"tests,attr"`
		Failures string `xml:"failures,attr"`
		Errors   string `xml:"errors,attr"`
		Skipped  string `xml:"skipped,attr"`
		Time     string `xml:"time,attr"`
		Cases    []struct {
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
			Time      string `xml:"time,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
			Error *struct {
				Message string `xml:"message,attr"`
			} `xml:"error"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// TestJUnitIsValid parses the JUnit output strictly and checks what the schema
// requires: counts that add up, decimal times, a message on every failure.
func TestJUnitIsValid(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, sampleReport(), &Report{Lab: "empty"}); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(&buf)
	dec.Strict = true
	var doc junitSchema
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("JUnit XML does not parse: %v", err)
	}
	number := func(what, s string) float64 {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Errorf("%s %q is not a number", what, s)
		}
		return f
	}
	if len(doc.Suites) != 2 || doc.Tests != "4" || doc.Failures != "1" || doc.Errors != "1" {
		t.Errorf("testsuites: %d suites, tests %s failures %s errors %s; want 2, 4, 1, 1", len(doc.Suites), doc.Tests, doc.Failures, doc.Errors)
	}
	number("testsuites time", doc.Time)
	for _, s := range doc.Suites {
		failures, errs := 0, 0
		for _, c := range s.Cases {
			number("testcase time", c.Time)
			if c.Name == "" || c.Classname == "" {
				t.Errorf("testcase without name or classname: %+v", c)
			}
			if c.Failure != nil {
				failures++
				if c.Failure.Message == "" || !strings.Contains(c.Failure.Text, "where the packets went") {
					t.Errorf("failure without message or trace: %+v", c.Failure)
				}
			}
			if c.Error != nil {
				errs++
			}
		}
		if number("tests", s.Tests) != float64(len(s.Cases)) || number("failures", s.Failures) != float64(failures) || number("errors", s.Errors) != float64(errs) {
			t.Errorf("suite %s counts do not add up: %+v", s.Name, s)
		}
	}
}

// TestJUnitReadsInAJUnitParser reads the report with go-junit, the parser test
// reporters are built on: every probe is a test with the right status, message and
// time, and each suite's own counts agree with its test cases.
func TestJUnitReadsInAJUnitParser(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteJUnit(&buf, sampleReport(), &Report{Lab: "empty"}); err != nil {
		t.Fatal(err)
	}
	suites, err := junit.Ingest(buf.Bytes())
	if err != nil {
		t.Fatalf("go-junit cannot read the report: %v", err)
	}
	if len(suites) != 2 || suites[0].Name != "lab hairpin" || suites[1].Name != "lab empty" {
		t.Fatalf("suites: %+v", suites)
	}
	s := suites[0]
	if got, want := s.Totals, (junit.Totals{Tests: 4, Passed: 2, Failed: 1, Error: 1, Duration: 36 * time.Millisecond}); got != want {
		t.Errorf("hairpin totals %+v, want %+v", got, want)
	}
	for _, sv := range suites {
		for attr, n := range map[string]int{"tests": sv.Totals.Tests, "failures": sv.Totals.Failed, "errors": sv.Totals.Error, "skipped": sv.Totals.Skipped} {
			if sv.Properties[attr] != strconv.Itoa(n) {
				t.Errorf("suite %s: %s=%q, but its test cases count %d", sv.Name, attr, sv.Properties[attr], n)
			}
		}
	}
	want := []struct {
		name   string
		status junit.Status
		msg    string
	}{
		{"web-0 reaches its own Service", junit.StatusPassed, ""},
		{"client IP | kept", junit.StatusFailed, "sourceSeen: expected source seen client (203.0.113.10), seen saw 192.168.50.12"},
		{"step 2: iptables on lb", junit.StatusPassed, ""},
		{"step 3: old flow <kept>", junit.StatusError, "could not run: host client: open namespace"},
	}
	for i, w := range want {
		tc := s.Tests[i]
		if tc.Name != w.name || tc.Status != w.status || !strings.HasPrefix(tc.Message, w.msg) || tc.Classname != "labctl.hairpin" {
			t.Errorf("test %d: %q %s %q (class %s), want %q %s %q...", i, tc.Name, tc.Status, tc.Message, tc.Classname, w.name, w.status, w.msg)
		}
	}
	if e, ok := s.Tests[1].Error.(junit.Error); !ok || !strings.Contains(e.Body, "where the packets went") || e.Type != "probe" {
		t.Errorf("failure body lacks the trace: %#v", s.Tests[1].Error)
	}
}
