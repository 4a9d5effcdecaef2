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
		peak := int64(0)
		for _, r := range s.rssKB {
			peak = max(peak, r)
		}
		t.add(fmt.Sprintf("peak RSS of labctl up, %s", be), fmt.Sprintf("%d MB", peak/1024), "≤ 200 MB", "", "", verdict(peak <= 200*1024))
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
	file := b.dir + "/" + bigName + ".yaml"
	b.live[bigName] = true
	defer func() {
		_, _ = labctl(context.Background(), b.bin, 5*time.Minute, "down", "-q", bigName)
		delete(b.live, bigName)
		_, _ = b.w.wait(2 * time.Minute)
	}()
	if _, err := labctl(ctx, b.bin, 10*time.Minute, "up", "-q", "--iptables", "legacy", file); err != nil {
		return err
	}
	_ = b.attach("lc." + bigName + ".")
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

// sectionCurve builds clusters of growing size: time per Pod should stay flat.
func sectionCurve(ctx context.Context, b *bench, o options, t *table) error {
	if o.curve == "" {
		return nil
	}
	for _, f := range strings.Split(o.curve, ",") {
		pods, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || pods < 20 {
			return fmt.Errorf("-curve: %q is not a Pod count of 20 or more", f)
		}
		name := fmt.Sprintf("bench-p%d", pods)
		file, err := b.genCluster(ctx, name, pods/20, pods, pods/5, 0, "--iptables", "legacy")
		if err != nil {
			return err
		}
		s, err := b.measure(ctx, file)
		if err != nil {
			return fmt.Errorf("curve %d: %w", pods, err)
		}
		per := func(d time.Duration) string { return fmt.Sprintf("%.2f ms", d.Seconds()*1000/float64(pods)) }
		net := s.phases["hosts and pods"] + s.phases["namespaces"] + s.phases["links"] + s.phases["addresses and routes"]
		t.add(fmt.Sprintf("growth: up per Pod, %d Pods, %d nodes, %d Services, legacy", pods, pods/20, pods/5),
			per(s.up.median())+" (links "+per(net)+")", "flat", per(s.floor.median()), fmt.Sprintf("%.2f×", float64(s.up.median())/float64(s.floor.median())), "see curve")
	}
	return nil
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

func verdict(ok bool) string {
	if ok {
		return "met"
	}
	return "NOT met"
}

func phaseText(ph map[string]time.Duration) string {
	var parts []string
	for _, name := range []string{"namespaces", "links", "hosts and pods", "addresses and routes", "iptables", "processes"} {
		if d, ok := ph[name]; ok {
			parts = append(parts, fmt.Sprintf("%s %s", name, secs(d)))
		}
	}
	return strings.Join(parts, ", ")
}
