package main

import (
	"encoding/json"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/labctl/labctl/node/nodetest"
	"github.com/labctl/labctl/verify"
)

// oneMachine turns the split lab into the same lab on one machine: no machines, no
// placements. Everything else (addresses, rules, probes) is the same.
func oneMachine(text string) string {
	text = regexp.MustCompile(`(?m)^machines:\n(  - .*\n)+`).ReplaceAllString(text, "")
	text = regexp.MustCompile(`(?m)^ +machine: \w+\n`).ReplaceAllString(text, "")
	return regexp.MustCompile(`, machine: \w+`).ReplaceAllString(text, "")
}

// BenchmarkSplitLab measures what spreading a lab over machines costs: up of the
// same lab on one machine and split over two simulated machines (both shares, one
// after the other: real machines would build theirs at the same time), and the
// latency of probes that cross the underlay (the probe's own time, as verify
// measures it, without labctl's start-up).
//
//	go test ./cmd/labctl -run '^$' -bench SplitLab -benchtime 10x
func BenchmarkSplitLab(b *testing.B) {
	nodetest.RequireRoot(b)
	lab := uniqueLabName()
	split := splitLab(b, lab, "")
	one := writeLab(b, oneMachine(readFile(b, split)))
	m := simulateMachines(b)

	upOne := func() {
		if r := runLabctl(b, "", "up", one); r.code != 0 {
			b.Fatalf("up: %s", r.stderr)
		}
	}
	downOne := func() { runLabctl(b, "", "down", one) }
	upSplit := func() {
		for _, name := range []string{"a", "b"} {
			if r := runLabctl(b, "", "up", split, "--machine", name, "--underlay-netns", m.ns[name]); r.code != 0 {
				b.Fatalf("up --machine %s: %s", name, r.stderr)
			}
		}
	}
	downSplit := func() {
		for _, name := range []string{"a", "b"} {
			runLabctl(b, "", "down", split, "--machine", name)
		}
	}
	b.Cleanup(downOne)
	b.Cleanup(downSplit)
	for _, c := range []struct {
		name     string
		up, down func()
	}{{"up/one-machine", upOne, downOne}, {"up/two-machines", upSplit, downSplit}} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				c.up()
				b.StopTimer()
				c.down()
				b.StartTimer()
			}
		})
	}
	upOne()
	upSplit()
	probes := map[string]string{
		"pod-to-remote-service": "only endpoint is on machine b",
		"lb-to-remote-pod":      "through node-1's own NodePort",
		"p2p-link":              "point-to-point link crosses",
	}
	// Round trips without labctl in the way: ping over the point-to-point link and
	// from a Pod to a Pod of the other node (across both tunnels of the split lab).
	pings := map[string][3]string{"p2p-link": {"a", "edge", "192.168.77.2"}, "pod-to-pod": {"a", "caller", "10.244.1.2"}}
	for short, pg := range pings {
		for _, c := range []struct{ name, inst string }{{"one-machine", lab}, {"two-machines", lab + "@" + pg[0]}} {
			b.Run("ping/"+short+"/"+c.name, func(b *testing.B) {
				var sum float64
				for b.Loop() {
					r := runLabctl(b, "", "exec", c.inst, pg[1], "--", "ping", "-q", "-c", "50", "-i", "0.002", pg[2])
					m := regexp.MustCompile(`= [\d.]+/([\d.]+)/`).FindStringSubmatch(r.stdout)
					if r.code != 0 || m == nil {
						b.Fatalf("ping: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
					}
					avg, _ := strconv.ParseFloat(m[1], 64)
					sum += avg * 1000
				}
				b.ReportMetric(sum/float64(b.N), "µs/rtt")
			})
		}
	}
	for short, re := range probes {
		for _, c := range []struct {
			name string
			args []string
		}{{"one-machine", []string{one}}, {"two-machines", []string{split, "--machine", "a"}}} {
			b.Run("probe/"+short+"/"+c.name, func(b *testing.B) {
				var total time.Duration
				n := 0
				for b.Loop() {
					r := runLabctl(b, "", append([]string{"verify", "-o", "json", "--run", re}, c.args...)...)
					var rep verify.Report
					if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != 0 || rep.Passed != 1 {
						b.Fatalf("verify: exit %d: %v\n%s%s", r.code, err, r.stdout, r.stderr)
					}
					for _, res := range rep.Results {
						if res.Skipped == "" {
							total += res.Duration
							n++
						}
					}
				}
				b.ReportMetric(float64(total.Microseconds())/float64(n), "µs/probe")
			})
		}
	}
}
