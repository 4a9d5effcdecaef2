package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/labctl/labctl/node"
	"github.com/labctl/labctl/node/nodetest"
)

func TestHostList(t *testing.T) {
	many := make([]string, 30)
	for i := range many {
		many[i] = fmt.Sprintf("pod-%02d", i)
	}
	cases := []struct {
		names []string
		want  string
	}{
		{nil, "-"},
		{[]string{"client", "router", "server"}, "client, router, server"},
		{many, "pod-00, pod-01, pod-02, pod-03, +26 more"},
		{[]string{"a-host-whose-name-is-longer-than-the-width-of-the-column", "b"}, "a-host-whose-name-is-longer-than-the-width-of-the-column, +1 more"},
	}
	for _, c := range cases {
		got := hostList(c.names, hostsWidth)
		if got != c.want {
			t.Errorf("hostList(%d names) = %q, want %q", len(c.names), got, c.want)
		}
		if len(c.names) > 1 && len(got) > hostsWidth && !strings.HasPrefix(got, c.names[0]+", +") {
			t.Errorf("hostList(%d names) = %q is wider than %d", len(c.names), got, hostsWidth)
		}
	}
}

func TestLsTable(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	running := []node.Running{
		{Instance: "basic", Namespaces: 4, State: &node.State{Status: node.StatusUp, Created: now.Add(-90 * time.Second), Source: "/labs/basic.yaml",
			Hosts: []node.Host{{Name: "internet", Kind: "network"}, {Name: "client", Kind: "host"}, {Name: "router", Kind: "host"}, {Name: "server", Kind: "host"}}}},
		{Instance: "gone", Namespaces: 2},
	}
	var b bytes.Buffer
	if err := lsTable(&b, running, now); err != nil {
		t.Fatal(err)
	}
	want := `LAB    STATUS                                         AGE    HOSTS                   SOURCE
basic  up                                             1m30s  client, router, server  /labs/basic.yaml
gone   leftover (2 namespaces; run labctl down gone)  -      -                       -
`
	if b.String() != want {
		t.Errorf("ls table:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if err := lsTable(&b, nil, now); err != nil || b.String() != "no labs are running\n" {
		t.Errorf("no labs: %q %v", b.String(), err)
	}
}

// TestLs runs ls on a real lab: the list names its hosts, ls LAB (or FILE) prints
// its host table with addresses, -o json carries the state record.
func TestLs(t *testing.T) {
	nodetest.RequireRoot(t)
	lab := uniqueLabName()
	file := writeLab(t, fmt.Sprintf(`apiVersion: labctl.dev/v1
kind: Lab
name: %s
networks: [{name: lan, cidr: 10.61.0.0/24}]
hosts:
  - {name: web, interfaces: [lan]}
  - {name: db, interfaces: [lan]}
`, lab))
	t.Cleanup(func() { runLabctl(t, "", "down", lab) })
	if r := runLabctl(t, "", "up", file); r.code != 0 {
		t.Fatalf("up: %s", r.stderr)
	}

	r := runLabctl(t, "", "ls")
	var row string
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(line, lab+" ") {
			row = line
		}
	}
	if r.code != 0 || !strings.HasPrefix(r.stdout, "LAB ") || !strings.Contains(row, " up ") || !strings.Contains(row, "web, db") || !strings.HasSuffix(row, file) {
		t.Errorf("ls: exit %d, row %q of:\n%s", r.code, row, r.stdout)
	}

	for _, arg := range []string{lab, file} {
		r = runLabctl(t, "", "ls", arg)
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if r.code != 0 || len(lines) != 4 || !strings.HasPrefix(lines[0], "lab "+lab+" is up (age ") ||
			!strings.HasPrefix(lines[1], "HOST") || !strings.Contains(lines[2], "web") || !strings.Contains(lines[2], "10.61.0.1/24") ||
			!strings.Contains(lines[3], "db") || !strings.Contains(lines[3], "10.61.0.2/24") {
			t.Errorf("ls %s: exit %d:\n%s", arg, r.code, r.stdout)
		}
	}

	r = runLabctl(t, "", "ls", "-o", "json")
	var list []lsEntry
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("ls -o json: %v:\n%s", err, r.stdout)
	}
	found := false
	for _, e := range list {
		if e.Instance == lab {
			found = true
			if e.State == nil || e.Namespaces != 3 || len(e.State.Hosts) != 3 || e.State.Host("db") == nil {
				t.Errorf("ls -o json entry of %s: %+v", lab, e)
			}
		}
	}
	if !found {
		t.Errorf("ls -o json lacks %s:\n%s", lab, r.stdout)
	}
	r = runLabctl(t, "", "ls", "-o", "json", lab)
	var one lsEntry
	if err := json.Unmarshal([]byte(r.stdout), &one); err != nil || one.Instance != lab || one.State.Host("web") == nil {
		t.Errorf("ls -o json %s: %v:\n%s", lab, err, r.stdout)
	}

	if r := runLabctl(t, "", "down", lab); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := runLabctl(t, "", "ls", lab); r.code != 1 || !strings.Contains(r.stderr, "lab "+lab+" is not running") {
		t.Errorf("ls of a lab that is down: exit %d %q", r.code, r.stderr)
	}
}
