package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"
)

// sectionNeighbors gives the big cluster's figures without static neighbours: the
// generated lab leaves options.staticNeighbors at auto, which is on at this size, so
// the cluster and probes sections measure it with them. Here the same lab, with
// staticNeighbors: false, is built reps times and its probes run once: its ARP
// entries do not fit the kernel's machine-wide neighbour table (table_fulls grows)
// and probes time out. Only with -arp-overflow: the overflow also evicts the
// entries of everything else on the machine, and the failures trace for minutes.
func sectionNeighbors(ctx context.Context, b *bench, o options, t *table) error {
	if !o.arpOverflow || o.probes == 0 {
		return nil
	}
	const name = bigName + "-arp"
	file, err := b.dynamicARPLab(ctx, name, o)
	if err != nil {
		return err
	}
	var ups, settles stats
	var peak run
	for range b.reps {
		up, _, settle, err := b.upDown(ctx, file, name, []string{"--iptables", "legacy"})
		if err != nil {
			return fmt.Errorf("static neighbours off: %w", err)
		}
		ups, settles = append(ups, up.wall), append(settles, settle)
		if up.rssKB >= peak.rssKB {
			peak = up
		}
	}
	t.add(fmt.Sprintf("up, %d Pods, legacy, static neighbours off", o.pods), ups.String(), "", "", "",
		fmt.Sprintf("info: peak RSS %d MB%s, kernel cleanup after down %s", peak.rssKB/1024, peak.rssNote(), settles))

	down, err := b.upForProbes(ctx, name, file)
	defer down()
	if err != nil {
		return err
	}
	quiet(20 * time.Second)
	fulls := arpTableFulls()
	// Failed probes time out (and the first few are traced): minutes, not seconds.
	r, err := labctl(ctx, b.bin, 20*time.Minute, "verify", name)
	status := verdict(err == nil && r.wall <= 2*time.Second)
	if err != nil {
		status = "FAILED: " + lastLine(r.stdout)
	}
	if refused := arpTableFulls() - fulls; refused > 0 {
		status += fmt.Sprintf("; the kernel refused %d neighbour entries (table_fulls)", refused)
	}
	t.add(fmt.Sprintf("labctl verify, %d probes, static neighbours off", o.probes), secs(r.wall), "≤ 2 s", "", "", status)
	return nil
}

// dynamicARPLab writes the big cluster with options.staticNeighbors: false.
func (b *bench) dynamicARPLab(ctx context.Context, name string, o options) (string, error) {
	path, err := b.genCluster(ctx, name, o.nodes, o.pods, o.services, o.probes)
	if err != nil {
		return "", err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	const opts = "\noptions: {iptables: legacy}\n"
	if !strings.Contains(string(data), opts) {
		return "", fmt.Errorf("%s: no %q line to add staticNeighbors: false to (has labctl gen changed?)", path, strings.TrimSpace(opts))
	}
	off := strings.Replace(string(data), opts, "\noptions: {iptables: legacy, staticNeighbors: false}\n", 1)
	return path, os.WriteFile(path, []byte(off), 0o644)
}
