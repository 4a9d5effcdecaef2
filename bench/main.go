// Command bench measures labctl against its speed targets and against the floor (the
// same namespaces, veths, addresses and routes built by the leanest Go code, in the
// same run) and prints one table. It needs root and a built labctl (make bench).
//
// Every lab it builds is removed, also when it fails or is interrupted; at the end it
// checks that no namespace is left and that the root namespace's links are unchanged.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	var o options
	flag.StringVar(&o.bin, "labctl", "./bin/labctl", "labctl binary to measure")
	flag.IntVar(&o.reps, "reps", 3, "repetitions of each measurement (the table shows the median and the minimum)")
	flag.IntVar(&o.nodes, "nodes", 50, "nodes of the big cluster")
	flag.IntVar(&o.pods, "pods", 1000, "Pods of the big cluster")
	flag.IntVar(&o.services, "services", 200, "Services of the big cluster")
	flag.IntVar(&o.probes, "probes", 500, "probes run over the big cluster (0: skip)")
	flag.StringVar(&o.curve, "curve", "100,250,500,1000", "Pod counts of the growth curves (20 Pods per node; 1 Service per 5 Pods, and -curve-services; empty: skip)")
	flag.IntVar(&o.curveServices, "curve-services", 20, "Services of the second growth curve, the same at every size, so per-Pod topology cost shows (0: skip)")
	flag.StringVar(&o.hosts, "hosts", "10,100", "plain-host lab sizes (empty: skip)")
	flag.StringVar(&o.backends, "backends", "nft,legacy", "iptables backends to build the big cluster with")
	flag.StringVar(&o.mininet, "mininet", "auto", "compare with Mininet: auto (when installed), off")
	flag.BoolVar(&o.arpOverflow, "arp-overflow", false, "also build the big cluster without static neighbours and run its probes: this overflows the machine-wide neighbour table (every lab and the host itself then lose ARP entries) and takes minutes (docs/performance.md)")
	flag.BoolVar(&o.verbose, "v", false, "print every run")
	flag.Parse()
	os.Exit(mainErr(o))
}

type options struct {
	bin                             string
	reps, nodes, pods, services     int
	probes, curveServices           int
	curve, hosts, backends, mininet string
	verbose, arpOverflow            bool
}

func mainErr(o options) int {
	if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "bench: needs root (it builds network namespaces); run sudo make bench")
		return 2
	}
	if _, err := os.Stat(o.bin); err != nil {
		fmt.Fprintf(os.Stderr, "bench: %s not found: run make build first\n", o.bin)
		return 2
	}
	before, err := snapshot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "labctl-bench-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	w, err := newWitness()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		return 1
	}
	b := &bench{bin: o.bin, dir: dir, reps: o.reps, w: w, verbose: o.verbose, live: map[string]bool{}}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	t := &table{}
	fmt.Printf("labctl bench: %s; %d reps per figure, median (min)\n", machine(), o.reps)
	runErr := runAll(ctx, b, o, t)
	b.cleanup()
	w.close()
	t.print(os.Stdout)
	code := 0
	if runErr != nil {
		fmt.Fprintln(os.Stderr, "bench:", runErr)
		code = 1
	}
	if err := leakCheck(before); err != nil {
		fmt.Fprintln(os.Stderr, "bench: LEAK:", err)
		return 1
	}
	fmt.Println("leak check: no namespace left, root namespace links unchanged")
	return code
}

// runAll runs every section; a failing section is reported and the next one runs.
func runAll(ctx context.Context, b *bench, o options, t *table) error {
	var errs []error
	for _, section := range []func(context.Context, *bench, options, *table) error{
		sectionPlan, sectionCluster, sectionProbes, sectionNeighbors, sectionCurve, sectionHosts, sectionHairpin,
	} {
		if ctx.Err() != nil {
			break
		}
		if err := section(ctx, b, o, t); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func machine() string {
	var u syscall.Utsname
	_ = syscall.Uname(&u)
	rel := strings.TrimRight(string(int8sToBytes(u.Release[:])), "\x00")
	ipt, _ := exec.Command("iptables", "--version").Output()
	return fmt.Sprintf("kernel %s, %d CPUs, %s", rel, numCPU(), strings.TrimSpace(string(ipt)))
}

func int8sToBytes(s []int8) []byte {
	b := make([]byte, len(s))
	for i, c := range s {
		b[i] = byte(c)
	}
	return b
}

// snapshot is what must not change: lab namespaces and root links.
type snap struct{ netns, links string }

func snapshot() (snap, error) {
	links, err := exec.Command("ip", "-o", "link", "show").Output()
	if err != nil {
		return snap{}, fmt.Errorf("ip link: %w", err)
	}
	var names []string
	for _, l := range strings.Split(string(links), "\n") {
		if f := strings.Fields(l); len(f) > 1 {
			names = append(names, f[1])
		}
	}
	entries, _ := os.ReadDir("/run/netns")
	var ours []string
	for _, e := range entries {
		if n := e.Name(); strings.HasPrefix(n, "lc.fl-") || strings.HasPrefix(n, "lc.bench") || strings.HasPrefix(n, witnessNS) {
			ours = append(ours, n)
		}
	}
	return snap{netns: strings.Join(ours, " "), links: strings.Join(names, " ")}, nil
}

func leakCheck(before snap) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		after, err := snapshot()
		if err != nil {
			return err
		}
		if after == before {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("namespaces %q (were %q), root links %q (were %q)", after.netns, before.netns, after.links, before.links)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
