package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
)

// runInProcess runs labctl's command tree with args and returns what it printed.
func runInProcess(args ...string) (string, error) {
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(io.Discard)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestGraphCommand(t *testing.T) {
	const lab = "../../topo/testdata/labs/cluster.yaml"
	for format, golden := range map[string]string{"mermaid": "cluster.mmd", "dot": "cluster.dot"} {
		got, err := runInProcess("graph", "--format", format, lab)
		if err != nil {
			t.Fatalf("graph --format %s: %v", format, err)
		}
		want, err := os.ReadFile("../../topo/graph/testdata/golden/" + golden)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("graph --format %s prints something else than topo/graph/testdata/golden/%s", format, golden)
		}
	}
	if got, err := runInProcess("graph", lab); err != nil || !strings.HasPrefix(got, "---\ntitle: lab cluster\n---\nflowchart LR\n") {
		t.Errorf("graph without --format: want Mermaid, got %v %q", err, got)
	}
	var usage usageError
	if _, err := runInProcess("graph", "--format", "svg", lab); !errors.As(err, &usage) || !strings.Contains(err.Error(), "use mermaid or dot") {
		t.Errorf("graph --format svg: want a usage error (exit 2), got %v", err)
	}
}
