package main

import (
	"context"
	"os"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestPeakRSSFromRusage: labctl's peak RSS comes from the child's rusage, needs no
// /usr/bin/time, and a figure the bench itself set (the kernel carries the spawner's
// resident set over exec) is called an upper bound.
func TestPeakRSSFromRusage(t *testing.T) {
	// A child (this test binary again) that holds 64 MB of its own.
	t.Setenv("LABCTL_BENCH_ALLOC_MB", "64")
	r, err := labctl(context.Background(), os.Args[0], time.Minute, "-test.run", "^TestHelperAlloc$")
	if err != nil {
		t.Fatal(err)
	}
	if r.rssKB < 64<<10 {
		t.Errorf("peak RSS of a child holding 64 MB: %d KB", r.rssKB)
	}
	if r.inheritedKB <= 0 || r.inheritedKB >= r.rssKB {
		t.Errorf("bench's own RSS at start %d KB, child's peak %d KB: want 0 < own < child's", r.inheritedKB, r.rssKB)
	}
	if note := r.rssNote(); note != "" {
		t.Errorf("an exact figure is noted as %q", note)
	}

	// The bench holds 256 MB; a small child then reports at least that.
	big := make([]byte, 256<<20)
	for i := range big {
		big[i] = 1
	}
	r, err = labctl(context.Background(), "/bin/true", time.Minute)
	runtime.KeepAlive(big)
	if err != nil {
		t.Fatal(err)
	}
	if r.rssKB < 256<<10 || r.rssNote() == "" {
		t.Errorf("child of a 256 MB bench: peak %d KB, note %q: want at least 256 MB, called an upper bound", r.rssKB, r.rssNote())
	}
	if v := rssVerdict(run{}, 1); v == "met" {
		t.Errorf("a run without rusage is judged %q", v)
	}
}

// TestHelperAlloc is the child of TestPeakRSSFromRusage: it touches
// $LABCTL_BENCH_ALLOC_MB megabytes, and does nothing without it.
func TestHelperAlloc(t *testing.T) {
	mb, err := strconv.Atoi(os.Getenv("LABCTL_BENCH_ALLOC_MB"))
	if err != nil {
		t.Skip("only a child of TestPeakRSSFromRusage")
	}
	buf := make([]byte, mb<<20)
	for i := range buf {
		buf[i] = 1
	}
	runtime.KeepAlive(buf)
}

// TestMininetLinkNames: the links the bench refuses to run Mininet beside, and may
// remove after it, are exactly those of Mininet's single,N switch.
func TestMininetLinkNames(t *testing.T) {
	for name, want := range map[string]bool{
		"s1": true, "s12": true, "s1-eth1": true, "s1-eth100": true,
		"eth0": false, "s": false, "s1x": false, "s1-eth": false, "sw1": false, "lcsim-s1": false, "s1-eth1x": false,
	} {
		if got := mnLink.MatchString(name); got != want {
			t.Errorf("%s: named like Mininet's switches: %v, want %v", name, got, want)
		}
	}
}

// TestGrowthCurves: the bench prints the curve with Services growing with the Pods
// and, beside it, one with a fixed number of Services.
func TestGrowthCurves(t *testing.T) {
	points, err := curvePoints(options{curve: "100,1000", curveServices: 20})
	if err != nil {
		t.Fatal(err)
	}
	want := []point{{"Services = Pods/5", 100, 20}, {"Services = Pods/5", 1000, 200}, {"20 Services", 100, 20}, {"20 Services", 1000, 20}}
	if !slices.Equal(points, want) {
		t.Errorf("curves: %v, want %v", points, want)
	}
	if points, _ := curvePoints(options{curve: "100", curveServices: 0}); len(points) != 1 {
		t.Errorf("-curve-services 0 still gives the second curve: %v", points)
	}
	if _, err := curvePoints(options{curve: "100,ten"}); err == nil {
		t.Error("-curve 100,ten accepted")
	}
}

// TestNeighbourOverflowIsOptIn: without -arp-overflow the section that fills the
// machine-wide neighbour table does nothing (a nil bench would panic if it ran).
func TestNeighbourOverflowIsOptIn(t *testing.T) {
	tb := &table{}
	if err := sectionNeighbors(context.Background(), nil, options{probes: 500, pods: 1000}, tb); err != nil || len(tb.rows) != 0 {
		t.Errorf("sectionNeighbors without -arp-overflow: err %v, rows %v", err, tb.rows)
	}
}
