package kube

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGolden renders every scenario as the iptables-restore payload labctl loads and
// compares it with testdata/golden/<scenario>.rules (go test -update rewrites them).
func TestGolden(t *testing.T) {
	for _, sc := range scenarios(t) {
		t.Run(sc.name, func(t *testing.T) {
			payload, origins := sc.rs.Render()
			if lines := strings.Count(string(payload), "\n"); lines != len(origins) {
				t.Errorf("%d payload lines but %d origins", lines, len(origins))
			}
			path := filepath.Join("testdata", "golden", sc.name+".rules")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, payload, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(string(payload), "\n")); diff != "" {
				t.Errorf("%s differs (-golden +generated); go test -update rewrites it:\n%s", path, diff)
			}
		})
	}
}
