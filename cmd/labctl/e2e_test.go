package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/labctl/labctl/node"
	"github.com/labctl/labctl/node/nodetest"
	"github.com/labctl/labctl/topo/plan"
)

// killLab has enough of everything (namespaces, rules, setup commands, background
// servers, the agent) that a kill lands in every phase of up.
func killLab(name string, hosts int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: labctl.dev/v1\nkind: Lab\nname: %s\nnetworks: [{name: lan, cidr: 10.50.0.0/24}]\nhosts:\n", name)
	for i := range hosts {
		fmt.Fprintf(&b, `  - name: h%d
    interfaces: [lan]
    iptables: |
      iptables -t nat -A PREROUTING -p tcp --dport 80 -j DNAT --to-destination 10.50.0.%d:8080
    servers: [8080]
    commands:
      - "true"
      - {run: "sleep 300", background: true}
`, i, i+1)
	}
	return b.String()
}

// assertGone checks that nothing of the lab is left: no namespace, no process
// carrying its marker, no state record.
func assertGone(t *testing.T, lab string) {
	t.Helper()
	entries, _ := os.ReadDir(node.NetnsDir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), plan.InstancePrefix(lab)) {
			t.Errorf("namespace %s left behind", e.Name())
		}
	}
	for _, pid := range markedProcesses(lab) {
		t.Errorf("process %d of lab %s left behind", pid, lab)
	}
	if _, err := os.Stat(filepath.Join(node.StateDir, lab)); err == nil {
		t.Errorf("state record of %s left behind", lab)
	}
	if _, err := os.Stat(filepath.Join(node.StateDir, ".locks", lab)); err == nil {
		t.Errorf("lock file of %s left behind", lab)
	}
}

// markedProcesses lists live processes whose environment carries the lab's marker.
func markedProcesses(lab string) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil || !strings.Contains(string(env), node.EnvMarker+"="+lab+"\x00") {
			continue
		}
		if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil && !strings.Contains(string(stat), ") Z ") {
			out = append(out, pid)
		}
	}
	return out
}

// killSeed seeds the jitter of the kill points; LABCTL_KILL_SEED replays a run.
func killSeed(t *testing.T) uint64 {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("LABCTL_KILL_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("LABCTL_KILL_SEED=%q: %v", s, err)
		}
	}
	t.Logf("kill points seeded with %d: LABCTL_KILL_SEED=%d go test -run TestDownAfterKillDuringUp kills at the same moments of up (relative to its length)", seed, seed)
	return seed
}

// TestDownAfterKillDuringUp kills labctl up with SIGKILL at points spread over its
// whole run (one at a random moment of each eighth), then checks that labctl down
// leaves nothing behind and the root namespace as it was.
func TestDownAfterKillDuringUp(t *testing.T) {
	nodetest.RequireRoot(t)
	before := nodetest.SnapshotRoot(t)
	rng := rand.New(rand.NewPCG(killSeed(t), 0))
	lab := uniqueLabName()
	file := writeLab(t, killLab(lab, 20))
	t.Cleanup(func() { runLabctl(t, "", "down", lab) })

	start := time.Now()
	if r := runLabctl(t, "", "up", "-q", file); r.code != 0 {
		t.Fatalf("up: %d %s", r.code, r.stderr)
	}
	full := time.Since(start)
	if r := runLabctl(t, "", "down", lab); r.code != 0 {
		t.Fatalf("down: %s", r.stderr)
	}
	const points = 8
	for i := range points {
		slot := max(full/points, time.Millisecond)
		delay := slot*time.Duration(i) + time.Duration(rng.Int64N(int64(slot)))
		t.Run(fmt.Sprintf("kill after %v", delay.Round(time.Millisecond)), func(t *testing.T) {
			cmd := exec.Command(labctlBinary(t), "up", "-q", file)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(delay)
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
			if r := runLabctl(t, "", "down", lab); r.code != 0 {
				t.Fatalf("down after kill: exit %d: %s", r.code, r.stderr)
			}
			assertGone(t, lab)
			nodetest.AssertUnchanged(t, before)
		})
	}
}

// TestBadInputChangesNothing: every problem reported with file:line:col, exit 2,
// and not a single kernel object created.
func TestBadInputChangesNothing(t *testing.T) {
	nodetest.RequireRoot(t)
	before := nodetest.SnapshotRoot(t)
	lab := uniqueLabName()
	file := writeLab(t, fmt.Sprintf(`apiVersion: labctl.dev/v1
kind: Lab
name: %s
networks: [{name: lan, cidr: 10.0.0.0/24}]
hosts:
  - name: a
    interfaces: [lan]
  - name: b
    interfaces: [{network: lan, adress: 10.0.0.9}]
    iptables: |
      iptables -t nat -A POSTROUTING -o eth0 -j MASQUERAD
`, lab))
	r := runLabctl(t, "", "up", file)
	if r.code != 2 {
		t.Fatalf("exit %d, want 2; stderr:\n%s", r.code, r.stderr)
	}
	for _, want := range []string{file + `:9:33: hosts[1].interfaces[0]: unknown key "adress"`, `did you mean "address"?`, file + ":11:", "MASQUERAD", "nothing was changed"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	assertGone(t, lab)
	nodetest.AssertUnchanged(t, before)
}

// TestKernelRefusedRuleIsAProblem: a rule the parser accepts but the kernel refuses
// is found in a scratch namespace before anything of the lab exists.
func TestKernelRefusedRuleIsAProblem(t *testing.T) {
	nodetest.RequireRoot(t)
	lab := uniqueLabName()
	file := writeLab(t, fmt.Sprintf(`apiVersion: labctl.dev/v1
kind: Lab
name: %s
hosts:
  - name: a
    iptables: |
      iptables -t nat -A PREROUTING -p tcp --dport 80 -m nosuchmatch -j ACCEPT
`, lab))
	r := runLabctl(t, "", "up", file)
	if r.code != 2 || !strings.Contains(r.stderr, file+":7:") || !strings.Contains(r.stderr, "host a: iptables refuses") {
		t.Fatalf("exit %d, want 2 with the rule's line; stderr:\n%s", r.code, r.stderr)
	}
	assertGone(t, lab)
}

func TestExecPassesStreamsAndStatus(t *testing.T) {
	nodetest.RequireRoot(t)
	lab := uniqueLabName()
	file := writeLab(t, fmt.Sprintf("apiVersion: labctl.dev/v1\nkind: Lab\nname: %s\nhosts: [{name: a, loopback: [192.0.2.7]}]\n", lab))
	t.Cleanup(func() { runLabctl(t, "", "down", lab) })
	if r := runLabctl(t, "", "up", file); r.code != 0 {
		t.Fatalf("up: %s", r.stderr)
	}
	if r := runLabctl(t, "hello from stdin", "exec", lab, "a", "--", "cat"); r.stdout != "hello from stdin" {
		t.Errorf("stdin to stdout: got %q", r.stdout)
	}
	if r := runLabctl(t, "", "exec", file, "a", "--", "sh", "-c", "echo oops >&2; exit 7"); r.code != 7 || r.stderr != "oops\n" {
		t.Errorf("exit status and stderr: got %d %q, want 7 \"oops\\n\"", r.code, r.stderr)
	}
	// The command really runs in the host's namespace: it sees the host's address
	// and the host's /sys.
	if r := runLabctl(t, "", "exec", lab, "a", "--", "ip", "-o", "addr", "show", "lo"); !strings.Contains(r.stdout, "192.0.2.7/32") {
		t.Errorf("ip addr in host a: %q", r.stdout)
	}
	if r := runLabctl(t, "", "exec", lab, "a", "--", "ls", "/sys/class/net"); strings.TrimSpace(r.stdout) != "lo" {
		t.Errorf("/sys/class/net in host a lists %q, want only lo", r.stdout)
	}
	if r := runLabctl(t, "", "exec", lab, "nosuchhost", "--", "true"); r.code == 0 || !strings.Contains(r.stderr, `no host "nosuchhost"`) {
		t.Errorf("unknown host: exit %d %q", r.code, r.stderr)
	}
	if r := runLabctl(t, "", "exec", lab, "a", "true"); r.code != 2 {
		t.Errorf("exec without --: exit %d, want 2", r.code)
	}
}

func TestUpTwiceAndChanged(t *testing.T) {
	nodetest.RequireRoot(t)
	lab := uniqueLabName()
	src := fmt.Sprintf("apiVersion: labctl.dev/v1\nkind: Lab\nname: %s\nhosts:\n  - {name: a}\n", lab)
	file := writeLab(t, src)
	t.Cleanup(func() { runLabctl(t, "", "down", lab) })
	if r := runLabctl(t, "", "up", file); r.code != 0 {
		t.Fatalf("up: %s", r.stderr)
	}
	if r := runLabctl(t, "", "up", file); r.code != 0 || !strings.Contains(r.stdout, "already up and unchanged") {
		t.Errorf("second up: exit %d %q", r.code, r.stdout)
	}
	if err := os.WriteFile(file, []byte(src+"  - {name: b}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runLabctl(t, "", "up", file); r.code == 0 || !strings.Contains(r.stderr, "--replace") {
		t.Errorf("up of a changed lab: exit %d %q, want a failure naming --replace", r.code, r.stderr)
	}
	if r := runLabctl(t, "", "up", "--replace", file); r.code != 0 || !strings.Contains(r.stdout, "b ") {
		t.Errorf("up --replace: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
}

// TestMissingRequirementsSaySo: without root, or without iptables, labctl says in one
// sentence what is missing and how to get it, with exit status 2.
func TestMissingRequirementsSaySo(t *testing.T) {
	nodetest.RequireRoot(t)
	lab := uniqueLabName()
	// A directory the unprivileged user can read (t.TempDir's parent is private).
	dir, err := os.MkdirTemp("", "labctl-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "lab.yaml")
	src := fmt.Sprintf("apiVersion: labctl.dev/v1\nkind: Lab\nname: %s\nhosts:\n  - name: a\n    iptables: iptables -t nat -A POSTROUTING -j MASQUERADE\n", lab)
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(labctlBinary(t), "up", file)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if code := exitCode(err); code != 2 || !strings.Contains(string(out), "root privilege is missing") {
		t.Errorf("as nobody: exit %d %q", code, out)
	}
	// plan needs no root at all.
	cmd = exec.Command(labctlBinary(t), "plan", file)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "MASQUERADE") {
		t.Errorf("plan as nobody: %v %s", err, out)
	}

	cmd = exec.Command(labctlBinary(t), "up", file)
	cmd.Env = append(os.Environ(), "PATH="+t.TempDir())
	out, err = cmd.CombinedOutput()
	if code := exitCode(err); code != 2 || !strings.Contains(string(out), "iptables-nft-restore is missing") || !strings.Contains(string(out), "apt-get install iptables") {
		t.Errorf("without iptables: exit %d %q", code, out)
	}
	assertGone(t, lab)
}

func TestUsageErrorsExit2(t *testing.T) {
	for _, args := range [][]string{{"nosuchcommand"}, {"up"}, {"up", "a.yaml", "b.yaml"}, {"plan", "--nosuchflag", "x.yaml"}, {"ls", "--output", "xml"},
		{"down", ".."}, {"down", "Basic"}, {"down", "a..b"}, {"down", strings.Repeat("a", 25)}, {"exec", "..", "h", "--", "true"}, {"ls", ".."}, {"ls", "a", "b"}} {
		if r := runLabctl(t, "", args...); r.code != 2 {
			t.Errorf("labctl %v: exit %d, want 2 (%s)", args, r.code, r.stderr)
		}
	}
	if r := runLabctl(t, "", "down", ".."); !strings.Contains(r.stderr, `".." is not a lab file or a lab name`) {
		t.Errorf("down ..: %q, want the lab name format", r.stderr)
	}
	if r := runLabctl(t, "", "plan", "/nonexistent/lab.yaml"); r.code != 2 || !strings.Contains(r.stderr, "cannot read lab file") {
		t.Errorf("missing file: exit %d %q", r.code, r.stderr)
	}
}

func exitCode(err error) int {
	if exitErr, ok := err.(*exec.ExitError); ok {
		return exitErr.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}
