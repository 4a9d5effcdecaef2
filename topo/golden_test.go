package topo

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite golden files")

// golden compares got with testdata/<name>, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./topo -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got; go test ./topo -update accepts the change):\n%s", path, diff)
	}
}

// TestPlanGolden compiles each lab of testdata/labs and compares the plan, as text
// and as JSON, with its golden file.
func TestPlanGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/labs/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no test labs: %v", err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".yaml")
		t.Run(name, func(t *testing.T) {
			lab, err := Load(f)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Compile(lab, CompileOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var text bytes.Buffer
			if err := p.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			golden(t, "golden/"+name+".plan", text.Bytes())
			js, err := json.MarshalIndent(p, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "golden/"+name+".json", append(js, '\n'))
		})
	}
}
