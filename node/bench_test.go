package node

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/labctl/labctl/bench/floor"
	"github.com/labctl/labctl/node/nodetest"
	"github.com/labctl/labctl/topo/plan"
)

// hostsLab is n plain hosts on one network (Mininet's single,n).
func hostsLab(n int) string {
	var b strings.Builder
	b.WriteString("apiVersion: labctl.dev/v1\nkind: Lab\nname: NAME\nnetworks: [{name: lan, cidr: 10.0.0.0/16}]\nhosts:\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "  - {name: h%d, interfaces: [lan]}\n", i)
	}
	return b.String()
}

// BenchmarkUpDown builds and removes labs of plain hosts, and the same namespaces,
// veths and addresses with the floor (bench/floor), and reports both:
//
//	go test -run '^$' -bench UpDown -benchtime 5x ./node/
//
// up-ms and down-ms are labctl's; floor-ms is the leanest build of the same lab;
// up/floor their ratio. down-ms does not include the kernel's asynchronous cleanup.
func BenchmarkUpDown(b *testing.B) {
	nodetest.RequireRoot(b)
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("hosts-%d", n), func(b *testing.B) {
			var up, down, fl time.Duration
			for b.Loop() {
				p := compileLab(b, hostsLab(n))
				fl += floorOnce(b, p)
				start := time.Now()
				if _, err := Up(context.Background(), p, UpOptions{}); err != nil {
					_, _ = Down(p.Instance)
					b.Fatal(err)
				}
				up += time.Since(start)
				start = time.Now()
				if _, err := Down(p.Instance); err != nil {
					b.Fatal(err)
				}
				down += time.Since(start)
			}
			runs := float64(b.N)
			b.ReportMetric(up.Seconds()*1000/runs, "up-ms")
			b.ReportMetric(down.Seconds()*1000/runs, "down-ms")
			b.ReportMetric(fl.Seconds()*1000/runs, "floor-ms")
			b.ReportMetric(float64(up)/float64(fl), "up/floor")
		})
	}
}

// floorOnce builds the plan with the floor, removes it, and returns the build time.
func floorOnce(b *testing.B, p *plan.Plan) time.Duration {
	b.Helper()
	start := time.Now()
	lab, err := floor.Build(p, plan.InstancePrefix("fl-"+p.Instance), 2*runtime.NumCPU())
	d := time.Since(start)
	if rerr := lab.Remove(); rerr != nil {
		b.Fatal(rerr)
	}
	if err != nil {
		b.Fatal(err)
	}
	return d
}
