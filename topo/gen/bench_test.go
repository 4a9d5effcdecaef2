package gen

import (
	"encoding/json"
	"io"
	"testing"

	"github.com/labctl/labctl/topo"
	"github.com/labctl/labctl/topo/plan"
)

// BenchmarkPlan is labctl plan of the big cluster: 50 nodes, 1,000 Pods, 200
// Services, a load balancer and 500 probes. Target: well under a second. The parts
// apart: text and json render a compiled plan, digest is what up and verify add.
//
//	go test -run '^$' -bench Plan -count 6 ./topo/gen/
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
	p := compileData(b, data)
	b.Run("text", func(b *testing.B) {
		for b.Loop() {
			if err := p.WriteText(io.Discard); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json", func(b *testing.B) {
		for b.Loop() {
			if err := json.NewEncoder(io.Discard).Encode(p); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("digest", func(b *testing.B) {
		for b.Loop() {
			if p.Digest() == "" {
				b.Fatal("empty digest")
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

func compileData(b *testing.B, data []byte) *plan.Plan {
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
