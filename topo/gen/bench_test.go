package gen

import (
	"io"
	"testing"

	"github.com/labctl/labctl/topo"
)

// BenchmarkPlan is labctl plan of the big cluster: 50 nodes, 1,000 Pods, 200
// Services, a load balancer and 500 probes. Target: well under a second.
//
//	go test -run '^$' -bench Plan ./topo/gen/
func BenchmarkPlan(b *testing.B) {
	data, err := Cluster(ClusterOptions{Nodes: 50, Pods: 1000, Services: 200, LB: true, Probes: 500})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("parse+compile", func(b *testing.B) {
		for b.Loop() {
			compileData(b, data)
		}
	})
	b.Run("parse+compile+text", func(b *testing.B) {
		for b.Loop() {
			if err := compileData(b, data).WriteText(io.Discard); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("generate", func(b *testing.B) {
		for b.Loop() {
			if _, err := Cluster(ClusterOptions{Nodes: 50, Pods: 1000, Services: 200, LB: true, Probes: 500}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func compileData(b *testing.B, data []byte) interface{ WriteText(io.Writer) error } {
	lab, err := topo.Parse("gen.yaml", data)
	if err != nil {
		b.Fatal(err)
	}
	p, err := topo.Compile(lab, topo.CompileOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return p
}
