package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// run is one labctl invocation: its wall time, peak RSS and output.
type run struct {
	wall time.Duration
	// rssKB is the child's ru_maxrss. On Linux it is never below inheritedKB, the
	// bench's own resident set when it started labctl: the kernel folds the peak of
	// the address space a child leaves at exec into the child's, and Go starts
	// children with vfork semantics, so that address space is the bench's. The
	// figure is labctl's peak when it is above inheritedKB, else an upper bound.
	rssKB, inheritedKB int64
	stdout             string
	stderr             string
}

// rssNote says what a peak RSS figure is: exact, or an upper bound set by the bench.
func (r run) rssNote() string {
	if r.rssKB <= r.inheritedKB {
		return fmt.Sprintf(" (upper bound: the bench's own %d MB, see run.rssKB)", r.inheritedKB/1024)
	}
	return ""
}

// labctl runs the labctl binary with args, as root, and measures it.
func labctl(ctx context.Context, bin string, timeout time.Duration, args ...string) (run, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	// On timeout, end what labctl started too: the whole process group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	inherited := resetPeakRSS()
	start := time.Now()
	err := cmd.Run()
	r := run{wall: time.Since(start), inheritedKB: inherited, stdout: out.String(), stderr: errb.String()}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			r.rssKB = ru.Maxrss // KB on Linux
		}
	}
	if err != nil {
		return r, fmt.Errorf("labctl %s: %w: %s", strings.Join(args, " "), err, lastLine(errb.String()))
	}
	return r, nil
}

// resetPeakRSS lowers the bench's own peak RSS to its current RSS (clear_refs 5,
// Linux 4.0 on), so a child inherits only what the bench holds now, not what it
// held while it compiled a plan for the floor; it returns that RSS in KB.
func resetPeakRSS() int64 {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb
		}
	}
	return 0
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// phaseLine is a line labctl up -v prints when a phase ends: name, count, seconds.
var phaseLine = regexp.MustCompile(`^\s+(\S.*?)\s+(\d+)(?:/\d+)?\s+([0-9.]+)s$`)

// phases reads the phase lines of labctl up -v or down -v.
func phases(stderr string) map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, l := range strings.Split(stderr, "\n") {
		if m := phaseLine.FindStringSubmatch(l); m != nil {
			s, _ := strconv.ParseFloat(m[3], 64)
			out[m[1]] = time.Duration(s * float64(time.Second))
		}
	}
	return out
}

// stats summarises repeated measurements.
type stats []time.Duration

func (s stats) median() time.Duration {
	if len(s) == 0 {
		return 0
	}
	c := slices.Clone(s)
	slices.Sort(c)
	return c[len(c)/2]
}

func (s stats) min() time.Duration {
	if len(s) == 0 {
		return 0
	}
	return slices.Min(s)
}

// String is "median (min)" in seconds, or "median" for one run.
func (s stats) String() string {
	switch len(s) {
	case 0:
		return "-"
	case 1:
		return secs(s[0])
	}
	return fmt.Sprintf("%s (min %s)", secs(s.median()), secs(s.min()))
}

func secs(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.0f ms", d.Seconds()*1000)
	}
	return fmt.Sprintf("%.2f s", d.Seconds())
}

// quiet waits up to limit for the machine to be idle (over 85 % idle CPU in a
// 500 ms window), so one run does not pay for the kernel cleanup of the last or for
// someone else's build. It returns the idle share seen last.
func quiet(limit time.Duration) float64 {
	deadline := time.Now().Add(limit)
	for {
		idle := idleShare(500 * time.Millisecond)
		if idle > 0.85 || time.Now().After(deadline) {
			return idle
		}
	}
}

func idleShare(window time.Duration) float64 {
	a := cpuTimes()
	time.Sleep(window)
	b := cpuTimes()
	var total, idle float64
	for i := range b {
		d := b[i] - a[i]
		total += d
		if i == 3 || i == 4 { // idle, iowait
			idle += d
		}
	}
	if total == 0 {
		return 1
	}
	return idle / total
}

func cpuTimes() []float64 {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return make([]float64, 8)
	}
	line, _, _ := strings.Cut(string(data), "\n")
	var out []float64
	for _, f := range strings.Fields(line)[1:] {
		v, _ := strconv.ParseFloat(f, 64)
		out = append(out, v)
	}
	return out
}

// arpTableFulls reads the kernel's count of refused neighbour entries (the IPv4
// neighbour table is machine-wide: every namespace shares gc_thresh3).
func arpTableFulls() int64 {
	data, err := os.ReadFile("/proc/net/stat/arp_cache")
	if err != nil {
		return -1
	}
	lines := strings.Split(string(data), "\n")
	if len(lines) < 2 {
		return -1
	}
	col := slices.Index(strings.Fields(lines[0]), "table_fulls")
	if col < 0 {
		return -1
	}
	var sum int64
	for _, l := range lines[1:] { // one line per CPU
		if vals := strings.Fields(l); col < len(vals) {
			v, _ := strconv.ParseInt(vals[col], 16, 64)
			sum += v
		}
	}
	return sum
}
