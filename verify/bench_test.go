package verify

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// benchLab writes a 20-host lab with 500 probes: host i asks host i+1 (mod 20) over
// TCP, checking who answers and the source it sees.
func benchLab(b *testing.B) string {
	var s strings.Builder
	s.WriteString("apiVersion: labctl.dev/v1\nkind: Lab\nname: NAME\nnetworks: [{name: lan, cidr: 10.60.0.0/24}]\nhosts:\n")
	for i := range 20 {
		fmt.Fprintf(&s, "  - {name: h%d, interfaces: [lan], servers: [8080]}\n", i)
	}
	s.WriteString("probes:\n")
	for i := range 500 {
		from, to := i%20, (i+1)%20
		fmt.Fprintf(&s, "  - {name: p%d, from: h%d, to: \"h%d:8080\", expect: {answeredBy: h%d, sourceSeen: h%d}}\n", i, from, to, to, from)
	}
	path := filepath.Join(b.TempDir(), "bench.yaml")
	if err := os.WriteFile(path, []byte(s.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	return path
}

func benchmarkProbes(b *testing.B, workers int) {
	p := upLab(b, benchLab(b))
	k := NewKernel(p)
	defer k.Close()
	for b.Loop() {
		rep := Run(b.Context(), p, k, Options{Workers: workers})
		if !rep.OK() || rep.Passed != 500 {
			b.Fatalf("%d passed, %d failed", rep.Passed, rep.Failed)
		}
	}
}

// BenchmarkProbes500 runs 500 probes one after the other in a 20-host lab of real
// namespaces (root): connection, request, answer and judgement each.
func BenchmarkProbes500(b *testing.B) { benchmarkProbes(b, 1) }

// BenchmarkProbes500Concurrent is the same with the default concurrency.
func BenchmarkProbes500Concurrent(b *testing.B) { benchmarkProbes(b, 0) }
