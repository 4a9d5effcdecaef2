package labs

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/labctl/labctl/node"
	"github.com/labctl/labctl/node/nodetest"
	"github.com/labctl/labctl/topo"
	"github.com/labctl/labctl/topo/plan"
	"github.com/labctl/labctl/verify"
	"github.com/labctl/labctl/verify/agent"
)

// schemaLine is the first line of every lab: editors with the YAML language server
// then complete and check the file.
const schemaLine = "# yaml-language-server: $schema=https://raw.githubusercontent.com/labctl/labctl/main/docs/lab.schema.json"

// shippedLabs returns the lab files of this directory, variants included.
func shippedLabs(tb testing.TB) []string {
	tb.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		tb.Fatalf("no lab files in labs/: %v", err)
	}
	return files
}

// TestLabsCompile: every shipped lab compiles without a single problem (no root
// needed) and keeps the conventions the guides and labctl test rely on.
func TestLabsCompile(t *testing.T) {
	for _, file := range shippedLabs(t) {
		name := strings.TrimSuffix(file, ".yaml")
		t.Run(name, func(t *testing.T) {
			p, err := topo.CompileFile(file, topo.CompileOptions{})
			if err != nil {
				t.Fatalf("labs/%s does not compile:\n%v", file, err)
			}
			if p.Lab != name {
				t.Errorf("labs/%s is lab %q: name it %q after its file, as its guide's labctl down %s expects", file, p.Lab, name, name)
			}
			if strings.TrimSpace(p.Description) == "" {
				t.Errorf("labs/%s has no description: state the lab's question there", file)
			}
			if len(p.Probes) == 0 {
				t.Errorf("labs/%s has no probes: labctl test would pass without proving anything", file)
			}
			src, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if first, _, _ := strings.Cut(string(src), "\n"); first != schemaLine {
				t.Errorf("labs/%s: the first line must be the schema line\n  %s\nnot\n  %s", file, schemaLine, first)
			}
		})
	}
}

// compileFresh compiles a lab under a fresh random name, so a benchmark never meets
// (or removes) a running copy of the lab.
func compileFresh(tb testing.TB, file string) *plan.Plan {
	tb.Helper()
	lab, err := topo.Load(file)
	if err != nil {
		tb.Fatalf("labs/%s: %v", file, err)
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	lab.Name = "bench-" + hex.EncodeToString(b)
	p, err := topo.Compile(lab, topo.CompileOptions{})
	if err != nil {
		tb.Fatalf("labs/%s: %v", file, err)
	}
	return p
}

// agentArg makes the test binary run as the probe agent (see TestMain).
const agentArg = "labs-test-agent"

// TestMain lets the test binary serve as the probe agent of the labs the benchmarks
// build: node.Up starts it as a process of its own, as labctl up starts `labctl agent`.
func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == agentArg {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := agent.Main(ctx, os.Args[2], 3)
		stop()
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runLab does what labctl test does for one lab, in this process: check the rules,
// build the lab and start its probe agent (this test binary, as a process of its
// own, as labctl up starts labctl agent), run its probes and steps, remove it. It
// fails tb unless every probe and step passed.
func runLab(tb testing.TB, file string, p *plan.Plan) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	defer func() {
		if _, err := node.Down(p.Instance); err != nil {
			tb.Errorf("labs/%s: down: %v", file, err)
		}
	}()
	if err := node.CheckRules(ctx, p); err != nil {
		tb.Fatalf("labs/%s: rules: %v", file, err)
	}
	opts := node.UpOptions{Replace: true}
	if cfg := agent.ConfigFor(p, node.NetnsDir); len(cfg.Hosts) > 0 {
		data, err := json.Marshal(cfg)
		if err != nil {
			tb.Fatal(err)
		}
		self, err := os.Executable()
		if err != nil {
			tb.Fatal(err)
		}
		opts.AgentConfig = data
		opts.Agent = func(path string) []string { return []string{self, agentArg, path} }
	}
	if _, err := node.Up(ctx, p, opts); err != nil {
		tb.Fatalf("labs/%s: up: %v", file, err)
	}
	env := verify.NewKernel(p)
	defer env.Close()
	rep := verify.Run(ctx, p, env, verify.Options{})
	if !rep.OK() {
		var out bytes.Buffer
		_ = rep.WriteTable(&out)
		tb.Fatalf("labs/%s: %d of %d failed:\n%s", file, rep.Failed, rep.Failed+rep.Passed, out.String())
	}
}

// BenchmarkLab measures each shipped lab as labctl test runs it: rules checked, lab
// built, every probe and step run, lab removed (root; go test -run '^$' -bench Lab ./labs/).
func BenchmarkLab(b *testing.B) {
	nodetest.RequireRoot(b)
	for _, file := range shippedLabs(b) {
		b.Run(strings.TrimSuffix(file, ".yaml"), func(b *testing.B) {
			p := compileFresh(b, file)
			for b.Loop() {
				runLab(b, file, p)
			}
		})
	}
}

// BenchmarkAllLabs measures every shipped lab in a row, as labctl test labs/*.yaml
// runs them in CI.
func BenchmarkAllLabs(b *testing.B) {
	nodetest.RequireRoot(b)
	files := shippedLabs(b)
	plans := make([]*plan.Plan, len(files))
	for i, file := range files {
		plans[i] = compileFresh(b, file)
	}
	for b.Loop() {
		for i, file := range files {
			runLab(b, file, plans[i])
		}
	}
	b.ReportMetric(float64(len(files)), "labs")
}
