package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

const bigName = "bench-big"

func numCPU() int { return runtime.NumCPU() }

// sectionPlan times labctl plan of the big cluster (compile and render every payload).
func sectionPlan(ctx context.Context, b *bench, o options, t *table) error {
	file, err := b.genCluster(ctx, bigName, o.nodes, o.pods, o.services, o.probes)
	if err != nil {
		return err
	}
	var s stats
	for range b.reps {
		quiet(10 * time.Second)
		r, err := labctl(ctx, b.bin, time.Minute, "plan", file)
		if err != nil {
			return err
		}
		s = append(s, r.wall)
	}
	t.add(fmt.Sprintf("labctl plan, %d nodes / %d Pods / %d Services", o.nodes, o.pods, o.services), s.String(), "< 1 s", "", "", verdict(s.median() < time.Second))
	return nil
}

// sectionCluster builds the big cluster with each backend, beside the floor.
func sectionCluster(ctx context.Context, b *bench, o options, t *table) error {
	file, err := b.genCluster(ctx, bigName, o.nodes, o.pods, o.services, o.probes)
	if err != nil {
		return err
	}
	for _, be := range strings.Split(o.backends, ",") {
		s, err := b.measure(ctx, file, "--iptables", be)
		if err != nil {
			return fmt.Errorf("cluster (%s): %w", be, err)
		}
		what := fmt.Sprintf("up, %d Pods, iptables %s (%d ns, %d veths, %d rules)", o.pods, be, s.namespaces, s.veths, s.rule)
		ratio := float64(s.up.median()) / float64(s.floor.median())
		t.add(what, s.up.String(), "≤ 5 s, ≤ 2× floor", s.floor.String(), fmt.Sprintf("%.2f×", ratio), verdict(s.up.median() <= 5*time.Second && ratio <= 2))
		t.add("  phases of the last up", phaseText(s.phases), "", "", "", "")
		t.add(fmt.Sprintf("down, iptables %s", be), s.down.String(), "≤ 2 s", "", "", verdict(s.down.median() <= 2*time.Second))
		t.add("  kernel cleanup after down (async)", s.settle.String(), "", s.floorDown.String()+" floor incl. cleanup", "", "info")
		t.add(fmt.Sprintf("peak RSS of labctl up, %s", be), fmt.Sprintf("%d MB", s.peak.rssKB/1024), "≤ 200 MB", "", "", rssVerdict(s.peak, 200*1024))
	}
	return nil
}

// sectionProbes runs the big cluster's probes with labctl verify.
func sectionProbes(ctx context.Context, b *bench, o options, t *table) error {
	if o.probes == 0 {
		return nil
	}
	what := fmt.Sprintf("labctl verify, %d probes over %d Pods", o.probes, o.pods)
	if _, err := labctl(ctx, b.bin, time.Minute, "verify", "--help"); err != nil {
		t.add(what, "n/a", "≤ 2 s", "", "", "no probe engine yet")
		return nil
	}
	down, err := b.upForProbes(ctx, bigName, b.dir+"/"+bigName+".yaml")
	defer down()
	if err != nil {
		return err
	}
	// First the probes p0001-p0199, then all (without static neighbours, as in
	// sectionNeighbors, only the first ones fit the kernel's neighbour table).
	for _, sel := range []string{"^p0[01]", ""} {
		quiet(20 * time.Second)
		fulls := arpTableFulls()
		args := []string{"verify", bigName}
		label := what
		if sel != "" {
			args = append(args, "--run", sel)
			label = fmt.Sprintf("labctl verify, probes p0001-p0199 over %d Pods", o.pods)
		}
		r, err := labctl(ctx, b.bin, 90*time.Second, args...)
		refused := arpTableFulls() - fulls
		status := verdict(err == nil && r.wall <= 2*time.Second)
		if err != nil {
			status = "FAILED: " + lastLine(r.stdout+r.stderr)
		}
		if refused > 0 {
			status += fmt.Sprintf("; the kernel refused %d neighbour entries (table_fulls: the IPv4 neighbour table is machine-wide, gc_thresh3)", refused)
		}
		t.add(label, secs(r.wall), "≤ 2 s", "", "", status)
	}
	return nil
}

// sectionCurve builds clusters of growing size (20 Pods per node), twice: with one
// Service per 5 Pods, where every node holds every Service's rules so rules grow
// with the square of the size and time per Pod cannot stay flat; and with a fixed
// number of Services, where what grows is the topology alone (namespaces, veths,
// addresses, routes, neighbours): time per Pod should stay flat there.
func sectionCurve(ctx context.Context, b *bench, o options, t *table) error {
	points, err := curvePoints(o)
	if err != nil {
		return err
	}
	// A cluster on both curves (100 Pods: 20 Services either way) is built once.
	measured := map[[2]int]*sample{}
	for _, p := range points {
		key := [2]int{p.pods, p.services}
		if measured[key] == nil {
			s, err := b.curveSample(ctx, p.pods, p.services)
			if err != nil {
				return err
			}
			measured[key] = s
		}
		s := measured[key]
		per := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", d.Seconds()*1000/float64(p.pods)) }
		net := s.phases["hosts and pods"] + s.phases["namespaces"] + s.phases["links"] + s.phases["addresses and routes"]
		t.add(fmt.Sprintf("growth (%s): up per Pod, %d Pods, %d nodes, %d Services, %d rules, legacy", p.label, p.pods, p.pods/20, p.services, s.rule),
			per(s.up.median())+" (links "+per(net)+")", "flat", per(s.floor.median()), fmt.Sprintf("%.2f×", float64(s.up.median())/float64(s.floor.median())), "see curve")
	}
	return nil
}

// point is one cluster of a growth curve.
type point struct {
	label          string
	pods, services int
}

// curvePoints lists the clusters of both curves, the first curve first.
func curvePoints(o options) ([]point, error) {
	if o.curve == "" {
		return nil, nil
	}
	var sizes []int
	for _, f := range strings.Split(o.curve, ",") {
		pods, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || pods < 20 {
			return nil, fmt.Errorf("-curve: %q is not a Pod count of 20 or more", f)
		}
		sizes = append(sizes, pods)
	}
	var out []point
	for _, pods := range sizes {
		out = append(out, point{"Services = Pods/5", pods, pods / 5})
	}
	if o.curveServices > 0 {
		for _, pods := range sizes {
			out = append(out, point{fmt.Sprintf("%d Services", o.curveServices), pods, o.curveServices})
		}
	}
	return out, nil
}

// curveSample measures one cluster of the growth curves.
func (b *bench) curveSample(ctx context.Context, pods, services int) (*sample, error) {
	name := fmt.Sprintf("bench-p%d-s%d", pods, services)
	file, err := b.genCluster(ctx, name, pods/20, pods, services, 0, "--iptables", "legacy")
	if err != nil {
		return nil, err
	}
	s, err := b.measure(ctx, file)
	if err != nil {
		return nil, fmt.Errorf("curve %d Pods, %d Services: %w", pods, services, err)
	}
	return s, nil
}

// sectionHosts builds labs of plain hosts on one network (and Mininet's single,N).
func sectionHosts(ctx context.Context, b *bench, o options, t *table) error {
	if o.hosts == "" {
		return nil
	}
	for _, f := range strings.Split(o.hosts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return fmt.Errorf("-hosts: %q is not a host count", f)
		}
		file, err := b.hostsLab(n)
		if err != nil {
			return err
		}
		s, err := b.measure(ctx, file)
		if err != nil {
			return fmt.Errorf("hosts %d: %w", n, err)
		}
		mn := ""
		if o.mininet != "off" {
			mn = mininetRow(ctx, b, n)
		}
		sum := make(stats, len(s.up))
		for i := range s.up {
			sum[i] = s.up[i] + s.down[i]
		}
		t.add(fmt.Sprintf("%d hosts: up + down (labctl)", n), sum.String(), "", s.floor.String()+" up", fmt.Sprintf("%.2f×", float64(s.up.median())/float64(s.floor.median())), "up "+s.up.String()+", down "+s.down.String()+mn)
	}
	return nil
}

// sectionHairpin times labctl test of the hairpin lab, when it exists.
func sectionHairpin(ctx context.Context, b *bench, o options, t *table) error {
	const lab = "labs/hairpin.yaml"
	what := "labctl test " + lab + " (up, probes, down)"
	if _, err := os.Stat(lab); err != nil {
		t.add(what, "n/a", "≤ 0.3 s", "", "", "lab file not written yet")
		return nil
	}
	var s stats
	for range b.reps {
		quiet(10 * time.Second)
		r, err := labctl(ctx, b.bin, time.Minute, "test", "-q", lab)
		if err != nil && !errors.Is(err, context.Canceled) {
			t.add(what, secs(r.wall), "≤ 0.3 s", "", "", "FAILED: "+lastLine(r.stdout+r.stderr))
			return nil
		}
		s = append(s, r.wall)
	}
	t.add(what, s.String(), "≤ 0.3 s", "", "", verdict(s.median() <= 300*time.Millisecond))
	return nil
}

// rssVerdict judges a peak RSS: a run that reported none is not measured, not met.
func rssVerdict(r run, limitKB int64) string {
	if r.rssKB <= 0 {
		return "not measured (no rusage)"
	}
	return verdict(r.rssKB <= limitKB) + r.rssNote()
}

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func phaseText(ph map[string]time.Duration) string {
	var parts []string
	for _, name := range []string{"namespaces", "links", "hosts and pods", "addresses and routes", "links up", "iptables", "processes"} {
		if d, ok := ph[name]; ok {
			parts = append(parts, fmt.Sprintf("%s %s", name, secs(d)))
		}
	}
	return strings.Join(parts, ", ")
}

// upForProbes brings a lab up (legacy backend) to send probes through it; down, to
// be deferred even when up fails, removes it and waits for the kernel's cleanup.
func (b *bench) upForProbes(ctx context.Context, name, file string) (down func(), err error) {
	b.live[name] = true
	down = func() {
		_, _ = labctl(context.Background(), b.bin, 5*time.Minute, "down", "-q", name)
		delete(b.live, name)
		_, _ = b.w.wait(2 * time.Minute)
	}
	if _, err := labctl(ctx, b.bin, 10*time.Minute, "up", "-q", "--iptables", "legacy", file); err != nil {
		return down, err
	}
	_ = b.attach("lc." + name + ".")
	return down, nil
}
