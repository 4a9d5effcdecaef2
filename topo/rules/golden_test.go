package rules

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// checkGolden compares got with the file testdata/name, or rewrites it with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatalf("update golden file: %v", err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run go test ./topo/rules -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got; run with -update if the change is intended):\n%s", path, diff)
	}
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// annotated renders a ruleset as its restore payload with each line's origin.
func annotated(rs *Ruleset) string {
	payload, origins := rs.Render()
	var b strings.Builder
	for i, line := range strings.Split(strings.TrimSuffix(string(payload), "\n"), "\n") {
		if line == "" {
			continue
		}
		b.WriteString(line)
		if origins[i] != (Origin{}) {
			b.WriteString("    # " + origins[i].String())
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// withCounters renders a ruleset like iptables-save -c prints it.
func withCounters(rs *Ruleset) string {
	var b strings.Builder
	for _, t := range rs.Tables {
		fmt.Fprintf(&b, "*%s\n", t.Name)
		for _, c := range t.Chains {
			fmt.Fprintf(&b, ":%s %s [%d:%d]\n", c.Name, cmpOr(c.Policy, "-"), c.Packets, c.Bytes)
		}
		for _, c := range t.Chains {
			for _, r := range c.Rules {
				fmt.Fprintf(&b, "[%d:%d] -A %s %s\n", r.Packets, r.Bytes, c.Name, r.Spec())
			}
		}
		b.WriteString("COMMIT\n")
	}
	return b.String()
}
