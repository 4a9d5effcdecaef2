package main

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

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
	os.Setenv("GITHUB_STEP_SUMMARY", summary)
	defer os.Unsetenv("GITHUB_STEP_SUMMARY")

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
