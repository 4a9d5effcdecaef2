package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/labctl/labctl/bench/floor"
	"github.com/labctl/labctl/topo"
	"github.com/labctl/labctl/topo/plan"
)

// bench holds what every scenario needs.
type bench struct {
	bin     string
	dir     string
	reps    int
	w       *witness
	verbose bool
	// live lists the lab instances up right now, so an interrupted run removes them.
	live map[string]bool
}

// sample is one scenario measured reps times: labctl's up, down and the kernel's
// cleanup after down, and the same lab built and removed by the floor.
type sample struct {
	up, down, settle        stats
	floor, floorDown        stats
	peak                    run                      // the up with the highest peak RSS
	phases                  map[string]time.Duration // of the last up
	downPhases              map[string]time.Duration
	namespaces, veths, rule int
}

func (b *bench) logf(format string, args ...any) {
	if b.verbose {
		fmt.Fprintf(os.Stderr, "  "+format+"\n", args...)
	}
}

// measure builds file reps times with labctl (upArgs added to up) and with the floor.
func (b *bench) measure(ctx context.Context, file string, upArgs ...string) (*sample, error) {
	p, err := topo.CompileFile(file, topo.CompileOptions{})
	if err != nil {
		return nil, err
	}
	s := &sample{namespaces: len(p.Namespaces), veths: len(p.Veths)}
	for _, n := range p.Namespaces {
		if n.Rules != nil {
			s.rule += n.Rules.RuleCount()
		}
	}
	for i := range b.reps {
		if err := ctx.Err(); err != nil {
			return s, err
		}
		fu, fd, err := b.floor(p)
		if err != nil {
			return s, fmt.Errorf("floor: %w", err)
		}
		s.floor, s.floorDown = append(s.floor, fu), append(s.floorDown, fd)
		up, down, settle, err := b.upDown(ctx, file, p.Instance, upArgs)
		if err != nil {
			return s, err
		}
		s.up, s.down, s.settle = append(s.up, up.wall), append(s.down, down.wall), append(s.settle, settle)
		if up.rssKB >= s.peak.rssKB {
			s.peak = up
		}
		s.phases, s.downPhases = phases(up.stderr), phases(down.stderr)
		b.logf("%s rep %d: floor %s (+%s down), up %s, down %s, cleanup %s, rss %d MB", filepath.Base(file), i+1, secs(fu), secs(fd), secs(up.wall), secs(down.wall), secs(settle), up.rssKB/1024)
	}
	return s, nil
}

// upDown runs labctl up and down once, then waits for the kernel's cleanup.
func (b *bench) upDown(ctx context.Context, file, instance string, upArgs []string) (up, down run, settle time.Duration, err error) {
	quiet(20 * time.Second)
	b.live[instance] = true
	up, err = labctl(ctx, b.bin, 10*time.Minute, append(append([]string{"up", "-v"}, upArgs...), file)...)
	if err != nil {
		return up, down, 0, err
	}
	if err := b.attach(plan.InstancePrefix(instance)); err != nil {
		return up, down, 0, err
	}
	down, err = labctl(ctx, b.bin, 5*time.Minute, "down", "-v", instance)
	if err != nil {
		return up, down, 0, err
	}
	delete(b.live, instance)
	settle, err = b.w.wait(2 * time.Minute)
	return up, down, settle, err
}

// floor builds and removes the plan with the leanest code, timing both; the removal
// time includes the kernel's cleanup, like labctl's down plus settle.
func (b *bench) floor(p *plan.Plan) (up, down time.Duration, err error) {
	quiet(20 * time.Second)
	prefix := plan.InstancePrefix("fl-" + p.Instance)
	start := time.Now()
	lab, err := floor.Build(p, prefix, 2*runtime.NumCPU())
	up = time.Since(start)
	if err == nil {
		err = b.attach(prefix)
	}
	start = time.Now()
	if rerr := lab.Remove(); rerr != nil && err == nil {
		err = rerr
	}
	if _, werr := b.w.wait(2 * time.Minute); werr != nil && err == nil {
		err = werr
	}
	return up, time.Since(start), err
}

// attach puts the witness into the first, middle and last namespace of a lab, in the
// order down removes them (sorted by name).
func (b *bench) attach(prefix string) error {
	entries, err := os.ReadDir("/run/netns")
	if err != nil {
		return err
	}
	var names []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), prefix) {
			names = append(names, e.Name())
		}
	}
	if len(names) == 0 {
		return fmt.Errorf("no namespace named %s*", prefix)
	}
	slices.Sort(names)
	for _, n := range slices.Compact([]string{names[0], names[len(names)/2], names[len(names)-1]}) {
		if err := b.w.attach(filepath.Join("/run/netns", n)); err != nil {
			return err
		}
	}
	return nil
}

// hostsLab writes a lab of n plain hosts on one network, as Mininet's single,n.
func (b *bench) hostsLab(n int) (string, error) {
	var sb strings.Builder
	fmt.Fprintf(&sb, "apiVersion: labctl.dev/v1\nkind: Lab\nname: bench-h%d\nnetworks: [{name: lan, cidr: 10.0.0.0/16}]\nhosts:\n", n)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&sb, "  - {name: h%d, interfaces: [lan]}\n", i)
	}
	path := filepath.Join(b.dir, fmt.Sprintf("hosts-%d.yaml", n))
	return path, os.WriteFile(path, []byte(sb.String()), 0o644)
}

// genCluster writes a generated cluster lab and returns its path.
func (b *bench) genCluster(ctx context.Context, name string, nodes, pods, services, probes int, extra ...string) (string, error) {
	path := filepath.Join(b.dir, name+".yaml")
	args := append([]string{"gen", "cluster", "--name", name, "--nodes", fmt.Sprint(nodes), "--pods", fmt.Sprint(pods),
		"--services", fmt.Sprint(services), "--lb", "--probes", fmt.Sprint(probes), "-o", path}, extra...)
	_, err := labctl(ctx, b.bin, time.Minute, args...)
	return path, err
}

// cleanup removes whatever an interrupted run left up.
func (b *bench) cleanup() {
	for inst := range b.live {
		_, _ = labctl(context.Background(), b.bin, 5*time.Minute, "down", "-q", inst)
	}
}
