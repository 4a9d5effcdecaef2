package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// mnScript builds Mininet's single,N topology with Linux bridges and no controller
// (this kernel has no Open vSwitch) through its Python API and removes it with
// net.stop(): never mn -c, which kills processes by name and deletes links it did
// not create.
const mnScript = `
import sys, time, json
from mininet.net import Mininet
from mininet.topo import SingleSwitchTopo
from mininet.nodelib import LinuxBridge
from mininet.log import setLogLevel
setLogLevel('error')
n = int(sys.argv[1])
t = time.time()
net = Mininet(topo=SingleSwitchTopo(n), switch=LinuxBridge, controller=None)
try:
    net.start()
    up = time.time() - t
finally:
    t = time.time()
    net.stop()
print(json.dumps({"up": up, "down": time.time() - t}))
`

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
		// makes sure (the bench's leak check compares the root links too).
		if exec.Command("ip", "link", "show", "s1").Run() == nil {
			_ = exec.Command("ip", "link", "del", "s1").Run()
		}
	}()
	quiet(20 * time.Second)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	// Debian's Mininet is installed for the system Python, not a pyenv one.
	out, err := exec.CommandContext(ctx, "/usr/bin/python3", "-c", mnScript, fmt.Sprint(n)).Output()
	if err != nil {
		return 0, 0, fmt.Errorf("mininet: %w", err)
	}
	var res struct{ Up, Down float64 }
	if err := json.Unmarshal(out, &res); err != nil {
		return 0, 0, fmt.Errorf("mininet output %q: %w", out, err)
	}
	return time.Duration(res.Up * float64(time.Second)), time.Duration(res.Down * float64(time.Second)), nil
}
