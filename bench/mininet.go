package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"
)

// mnScript builds Mininet's single,N topology with Linux bridges and no controller
// (this kernel has no Open vSwitch) through its Python API and removes it with
// net.stop(): never mn -c, which kills processes by name and deletes links it did
// not create. The constructor builds nothing (build=False) and is inside the try
// with the build, so whatever a failing build created still reaches net.stop().
const mnScript = `
import sys, time, json
from mininet.net import Mininet
from mininet.topo import SingleSwitchTopo
from mininet.nodelib import LinuxBridge
from mininet.log import setLogLevel
setLogLevel('error')
n = int(sys.argv[1])
net = None
t = time.time()
try:
    net = Mininet(topo=SingleSwitchTopo(n), switch=LinuxBridge, controller=None, build=False)
    net.build()
    net.start()
    up = time.time() - t
finally:
    t = time.time()
    if net is not None:
        net.stop()
print(json.dumps({"up": up, "down": time.time() - t}))
`

// mnLink matches the root-namespace links Mininet's single,N creates: the switch s1
// and its ports s1-eth1 ... s1-ethN.
var mnLink = regexp.MustCompile(`^s[0-9]+(-eth[0-9]+)?$`)

// mininetLinks lists root-namespace links named like Mininet's switches. The bench
// runs Mininet only when there are none: then every such link after the run is
// Mininet's, and removing a leftover one cannot touch someone else's.
func mininetLinks() ([]string, error) {
	out, err := exec.Command("ip", "-o", "link", "show").Output()
	if err != nil {
		return nil, fmt.Errorf("ip link: %w", err)
	}
	var found []string
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		name, _, _ := strings.Cut(strings.TrimSuffix(f[1], ":"), "@")
		if mnLink.MatchString(name) {
			found = append(found, name)
		}
	}
	return found, nil
}

// mnSysctls are the root-namespace settings Mininet's fixLimits raises; they are
// saved before each run and written back after it.
var mnSysctls = []string{
	"fs.file-max", "net.core.wmem_max", "net.core.rmem_max", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem",
	"net.core.netdev_max_backlog", "net.ipv4.neigh.default.gc_thresh1", "net.ipv4.neigh.default.gc_thresh2",
	"net.ipv4.neigh.default.gc_thresh3", "net.ipv4.route.max_size", "kernel.pty.max",
}

func sysctlPath(key string) string { return "/proc/sys/" + strings.ReplaceAll(key, ".", "/") }

// mininetRow measures Mininet on n hosts, reps times, and returns the table note.
func mininetRow(ctx context.Context, b *bench, n int) string {
	if _, err := exec.LookPath("mn"); err != nil {
		return "; Mininet not installed"
	}
	var up, down stats
	for range b.reps {
		u, d, err := mininetOnce(ctx, n)
		if err != nil {
			return "; Mininet: " + err.Error()
		}
		up, down = append(up, u), append(down, d)
	}
	return fmt.Sprintf("; Mininet (lxbr, API): up %s, stop %s", up, down)
}

func mininetOnce(ctx context.Context, n int) (up, down time.Duration, err error) {
	// Checked before the cleanup below is armed, so it never removes a link that
	// was there before.
	if links, err := mininetLinks(); err != nil {
		return 0, 0, err
	} else if len(links) > 0 {
		return 0, 0, fmt.Errorf("not run: the root namespace already has %s, named like Mininet's switches, which the bench must not remove", strings.Join(links, ", "))
	}
	saved := map[string][]byte{}
	for _, k := range mnSysctls {
		if v, err := os.ReadFile(sysctlPath(k)); err == nil {
			saved[k] = v
		}
	}
	defer func() {
		for k, v := range saved {
			if now, _ := os.ReadFile(sysctlPath(k)); string(now) != string(v) {
				if werr := os.WriteFile(sysctlPath(k), v, 0o644); werr != nil && err == nil {
					err = fmt.Errorf("restore %s: %w", k, werr)
				}
			}
		}
		// The switch is a bridge in the root namespace; stop() removes it, and this
		// makes sure (the bench's leak check compares the root links too). Only
		// Mininet's: mininetOnce ran it only when no such link existed before.
		if left, lerr := mininetLinks(); lerr == nil {
			for _, name := range left {
				_ = exec.Command("ip", "link", "del", name).Run()
			}
		}
	}()
	quiet(20 * time.Second)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	// Debian's Mininet is installed for the system Python, not a pyenv one.
	out, err := exec.CommandContext(ctx, "/usr/bin/python3", "-c", mnScript, fmt.Sprint(n)).Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && len(exit.Stderr) > 0 {
			// Mininet says what it misses (brctl: apt-get install bridge-utils).
			first, _, _ := strings.Cut(strings.TrimSpace(string(exit.Stderr)), "\n")
			return 0, 0, fmt.Errorf("mininet: %w: %s", err, first)
		}
		return 0, 0, fmt.Errorf("mininet: %w", err)
	}
	var res struct{ Up, Down float64 }
	if err := json.Unmarshal(out, &res); err != nil {
		return 0, 0, fmt.Errorf("mininet output %q: %w", out, err)
	}
	return time.Duration(res.Up * float64(time.Second)), time.Duration(res.Down * float64(time.Second)), nil
}
