package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/labctl/labctl/node"
	"github.com/labctl/labctl/node/nodetest"
	"github.com/labctl/labctl/topo/plan"
)

// probeLab is labs/basic.yaml with probes; extra is appended to its probes.
func probeLab(name, extra string) string {
	return fmt.Sprintf(`apiVersion: labctl.dev/v1
kind: Lab
name: %s
networks: [{name: internet, cidr: 203.0.113.0/24}]
hosts:
  - name: client
    interfaces: [internet]
  - name: router
    forwarding: true
    interfaces: [{network: internet, address: 203.0.113.254}]
    iptables: |
      iptables -t nat -A PREROUTING -d 203.0.113.254 -p tcp --dport 80 -j DNAT --to-destination 192.168.1.2:8080
      iptables -A INPUT -p tcp --dport 7 -j DROP
  - name: server
    routes: [{to: default, via: router}]
    servers: [8080]
links:
  - {between: [router, server], cidr: 192.168.1.0/24}
probes:
  - {name: client reaches the server, from: client, to: router/eth0:80, expect: {answeredBy: server, sourceSeen: client}}
%s`, name, extra)
}

func namespacesOf(lab string) []string {
	var out []string
	entries, _ := os.ReadDir(node.NetnsDir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), plan.InstancePrefix(lab)) {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestLabctlTestPassesFailsAndRejects(t *testing.T) {
	nodetest.RequireRoot(t)
	lab := uniqueLabName()
	t.Cleanup(func() { node.Down(lab) })
	dir := t.TempDir()
	junit, summary := filepath.Join(dir, "report.xml"), filepath.Join(dir, "summary.md")
	t.Setenv("GITHUB_STEP_SUMMARY", summary)

	res := runLabctl(t, "", "test", writeLab(t, probeLab(lab, "")), "--junit", junit)
	if res.code != 0 || !strings.Contains(res.stdout, "client reaches the server") || !strings.Contains(res.stdout, "1 of 1 passed") {
		t.Fatalf("passing lab: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	assertGone(t, lab)
	var doc struct {
		Tests string `xml:"tests,attr"`
	}
	if data, err := os.ReadFile(junit); err != nil || xml.Unmarshal(data, &doc) != nil || doc.Tests != "1" {
		t.Errorf("JUnit report %s: %v %+v", junit, err, doc)
	}
	if md, err := os.ReadFile(summary); err != nil || !strings.Contains(string(md), "| ✅ | client reaches the server |") {
		t.Errorf("GitHub step summary: %v\n%s", err, md)
	}

	failing := probeLab(lab, "  - {name: wrong server, from: client, to: router/eth0:80, expect: {answeredBy: router}}\n")
	res = runLabctl(t, "", "test", writeLab(t, failing))
	if res.code != 1 || !strings.Contains(res.stdout, "FAIL wrong server") || !strings.Contains(res.stdout, "answered by server x1 (not allowed: server)") {
		t.Fatalf("failing lab: exit %d, want 1\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	assertGone(t, lab)

	bad := probeLab(lab, "  - {name: bad, from: clinet, to: router/eth0:80}\n")
	res = runLabctl(t, "", "test", writeLab(t, bad))
	if res.code != 2 || !strings.Contains(res.stderr, `from: unknown host "clinet"`) || !strings.Contains(res.stderr, `did you mean "client"?`) {
		t.Fatalf("bad lab: exit %d, want 2\n%s", res.code, res.stderr)
	}
	if ns := namespacesOf(lab); len(ns) > 0 {
		t.Errorf("a bad lab file created namespaces: %v", ns)
	}
}

func TestLabctlVerifyAgainstARunningLab(t *testing.T) {
	nodetest.RequireRoot(t)
	lab := uniqueLabName()
	file := writeLab(t, probeLab(lab, "  - {name: dropped, from: client, to: router/eth0:7, timeout: 200ms, expect: {reach: timeout}}\n"))
	res := runLabctl(t, "", "verify", file)
	if res.code != 2 || !strings.Contains(res.stderr, "is not running") {
		t.Fatalf("verify of a lab that is not up: exit %d, want 2\n%s", res.code, res.stderr)
	}
	t.Cleanup(func() { node.Down(lab) })
	if res := runLabctl(t, "", "up", file); res.code != 0 {
		t.Fatalf("up: %s", res.stderr)
	}
	res = runLabctl(t, "", "verify", lab, "-o", "json", "--run", "^dropped$")
	if res.code != 0 || !strings.Contains(res.stdout, `"probe": "dropped"`) || strings.Contains(res.stdout, "client reaches") {
		t.Fatalf("verify --run by lab name: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	res = runLabctl(t, "", "trace", lab, "client", "router/eth0:80")
	for _, want := range []string{"-> 203.0.113.254:80 tcp: answered", "PREROUTING > DNAT  DNAT 203.0.113.254:80 -> 192.168.1.2:8080", "answered; saw source 203.0.113.1:"} {
		if res.code != 0 || !strings.Contains(res.stdout, want) {
			t.Errorf("trace: exit %d, want %q in\n%s\n%s", res.code, want, res.stdout, res.stderr)
		}
	}
	if res := runLabctl(t, "", "test", file); res.code != 2 || !strings.Contains(res.stderr, "is already running") || len(namespacesOf(lab)) == 0 {
		t.Errorf("test of a running lab: exit %d, want 2 and the lab left alone\n%s", res.code, res.stderr)
	}
	if res := runLabctl(t, "", "verify", lab, "--run", "("); res.code != 2 {
		t.Errorf("verify --run with a bad expression: exit %d, want 2", res.code)
	}
	if res := runLabctl(t, "", "verify", lab, "--run", "^nomatch$"); res.code != 2 || !strings.Contains(res.stderr, `--run "^nomatch$" matches no probe of lab `+lab) {
		t.Errorf("verify --run matching no probe: exit %d, want 2 naming the expression\n%s\n%s", res.code, res.stdout, res.stderr)
	}
}

// TestLabctlTestJSONIsOneDocument: labctl test -o json prints one document for all
// its labs; a --run that matches no probe of any lab is bad input, and builds nothing.
func TestLabctlTestJSONIsOneDocument(t *testing.T) {
	nodetest.RequireRoot(t)
	a, b := uniqueLabName(), uniqueLabName()
	t.Cleanup(func() { node.Down(a); node.Down(b) })
	fa, fb := writeLab(t, probeLab(a, "")), writeLab(t, probeLab(b, "  - {name: dropped, from: client, to: router/eth0:7, timeout: 100ms, expect: {reach: timeout}}\n"))
	res := runLabctl(t, "", "test", fa, fb, "-o", "json")
	var doc struct {
		Labs []struct {
			Lab     string `json:"lab"`
			Passed  int    `json:"passed"`
			Results []struct {
				Probe string `json:"probe"`
			} `json:"results"`
		} `json:"labs"`
		Passed int `json:"passed"`
		Failed int `json:"failed"`
	}
	dec := json.NewDecoder(strings.NewReader(res.stdout))
	if err := dec.Decode(&doc); res.code != 0 || err != nil || dec.More() {
		t.Fatalf("test -o json of two labs: exit %d, %v, more documents: %v\n%s\n%s", res.code, err, dec.More(), res.stdout, res.stderr)
	}
	if len(doc.Labs) != 2 || doc.Labs[0].Lab != a || doc.Labs[1].Lab != b || doc.Passed != 3 || doc.Failed != 0 || len(doc.Labs[1].Results) != 2 {
		t.Errorf("test -o json: %+v", doc)
	}
	// One lab: the same shape.
	res = runLabctl(t, "", "test", fb, "-o", "json", "--run", "^dropped$")
	if err := json.Unmarshal([]byte(res.stdout), &doc); res.code != 0 || err != nil || len(doc.Labs) != 1 || doc.Passed != 1 {
		t.Errorf("test -o json of one lab: exit %d, %v, %+v\n%s", res.code, err, doc, res.stderr)
	}
	// --run picks a probe of lab b only: lab a is not built.
	res = runLabctl(t, "", "test", fa, fb, "--run", "^dropped$")
	if res.code != 0 || !strings.Contains(res.stderr, "lab "+a+`: no probe matches --run "^dropped$", not built`) || strings.Contains(res.stdout, "lab "+a+":") {
		t.Errorf("test --run matching lab b only: exit %d\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	res = runLabctl(t, "", "test", fa, fb, "--run", "nomatch")
	if res.code != 2 || !strings.Contains(res.stderr, `--run "nomatch" matches no probe of lab `+a+", "+b) {
		t.Errorf("test --run matching nothing: exit %d, want 2\n%s\n%s", res.code, res.stdout, res.stderr)
	}
	if ns := append(namespacesOf(a), namespacesOf(b)...); len(ns) > 0 {
		t.Errorf("left behind: %v", ns)
	}
}

// TestVerifyProgressOnATerminal: on a terminal, verify prints a line per probe on
// stderr as it goes; -q silences them, and the report stays.
func TestVerifyProgressOnATerminal(t *testing.T) {
	nodetest.RequireRoot(t)
	lab := uniqueLabName()
	file := writeLab(t, probeLab(lab, ""))
	t.Cleanup(func() { node.Down(lab) })
	if res := runLabctl(t, "", "up", "-q", file); res.code != 0 {
		t.Fatalf("up: %s", res.stderr)
	}
	for _, quiet := range []bool{false, true} {
		args := []string{"verify", lab}
		if quiet {
			args = append(args, "-q")
		}
		stdout, tty, code := runOnTerminal(t, args...)
		progress := strings.Contains(tty, "PASS  client reaches the server")
		if code != 0 || progress == quiet || !strings.Contains(stdout, "1 of 1 passed") {
			t.Errorf("labctl %s on a terminal: exit %d, progress line shown: %v\nstdout:\n%s\nterminal:\n%s", strings.Join(args, " "), code, progress, stdout, tty)
		}
	}
}

// runOnTerminal runs labctl with its stderr on a pseudo-terminal and returns stdout,
// what the terminal showed, and the exit status.
func runOnTerminal(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	pts, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(labctlBinary(t), args...)
	var stdout bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, pts
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pts.Close() // the child holds the terminal now: reading ends when it exits
	shown := make(chan string)
	go func() {
		data, _ := io.ReadAll(master) // EIO once no one holds the terminal
		shown <- string(data)
	}()
	_ = cmd.Wait()
	return stdout.String(), <-shown, cmd.ProcessState.ExitCode()
}

// TestLabctlTestRemovesTheLabOnCtrlC interrupts labctl test while its probes run: the
// lab must still be removed, namespaces and processes alike.
func TestLabctlTestRemovesTheLabOnCtrlC(t *testing.T) {
	nodetest.RequireRoot(t)
	lab := uniqueLabName()
	t.Cleanup(func() { node.Down(lab) })
	slow := "  - {name: slow, from: client, to: router/eth0:7, timeout: 5s, count: 20, expect: {reach: timeout}}\n"
	cmd := exec.Command(labctlBinary(t), "test", writeLab(t, probeLab(lab, slow)))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(stderr.String(), "running") || len(markedProcesses(lab)) == 0 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("labctl test did not start probing:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // inside the slow probe
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if code := cmd.ProcessState.ExitCode(); code != 1 {
			t.Errorf("exit %d after Ctrl-C, want 1 (%v)\n%s\n%s", code, err, stdout.String(), stderr.String())
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatal("labctl test did not end within 30s of Ctrl-C")
	}
	if !strings.Contains(stdout.String(), "interrupted") {
		t.Errorf("report does not say the run was interrupted:\n%s", stdout.String())
	}
	assertGone(t, lab)
}
