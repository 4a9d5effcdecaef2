package graph

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/labctl/labctl/topo"
	"github.com/labctl/labctl/topo/plan"
)

var update = flag.Bool("update", false, "rewrite golden files")

// formats are the writers under test, by the extension of their golden files.
var formats = []struct {
	ext   string
	write func(io.Writer, *plan.Plan) error
	check func(*testing.T, []byte)
}{
	{"mmd", Mermaid, checkMermaidOutput},
	{"dot", DOT, checkDOTOutput},
}

// testLabs are the labs with golden drawings: the shared test labs of topo and the
// ones here that cover what those do not (vxlan, NodePort, externalIPs).
func testLabs(t *testing.T) []string {
	t.Helper()
	var files []string
	for _, pattern := range []string{"../testdata/labs/*.yaml", "testdata/labs/*.yaml"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 4 {
		t.Fatalf("found only %d test labs: %v", len(files), files)
	}
	return files
}

func compile(t *testing.T, file string) *plan.Plan {
	t.Helper()
	p, err := topo.CompileFile(file, topo.CompileOptions{})
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return p
}

func render(t *testing.T, write func(io.Writer, *plan.Plan) error, p *plan.Plan) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := write(&b, p); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestGolden draws every test lab in both formats and compares with
// testdata/golden/<lab>.<format>; go test ./topo/graph -update rewrites them.
func TestGolden(t *testing.T) {
	for _, file := range testLabs(t) {
		name := strings.TrimSuffix(filepath.Base(file), ".yaml")
		p := compile(t, file)
		for _, f := range formats {
			t.Run(name+"."+f.ext, func(t *testing.T) {
				got := render(t, f.write, p)
				f.check(t, got)
				golden(t, filepath.Join("testdata", "golden", name+"."+f.ext), got)
			})
		}
	}
}

// TestShippedLabsDraw draws the labs users start from; their drawings are not golden
// (the labs change), but they must be valid in both formats.
func TestShippedLabsDraw(t *testing.T) {
	files, err := filepath.Glob("../../labs/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no shipped labs: %v", err)
	}
	for _, file := range files {
		p := compile(t, file)
		for _, f := range formats {
			t.Run(filepath.Base(file)+"."+f.ext, func(t *testing.T) {
				f.check(t, render(t, f.write, p))
			})
		}
	}
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
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
		t.Fatalf("%v (go test ./topo/graph -update creates it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got; go test ./topo/graph -update accepts the change):\n%s", path, diff)
	}
}
