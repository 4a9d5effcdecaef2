package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/labctl/labctl/node"
	"github.com/labctl/labctl/node/nodetest"
)

// TestCommands: a setup command runs in its host before up returns; a background
// command keeps running with its output in the host's log, until down stops it.
func TestCommands(t *testing.T) {
	nodetest.RequireRoot(t)
	lab := uniqueLabName()
	file := writeLab(t, fmt.Sprintf(`apiVersion: labctl.dev/v1
kind: Lab
name: %s
hosts:
  - name: a
    commands:
      - ip addr add 192.0.2.9/32 dev lo
      - run: echo serving on $(ip -o addr show lo | grep -o 192.0.2.9); echo to stderr >&2; exec sleep 300
        background: true
`, lab))
	t.Cleanup(func() { runLabctl(t, "", "down", lab) })
	if r := runLabctl(t, "", "up", file); r.code != 0 {
		t.Fatalf("up: exit %d: %s", r.code, r.stderr)
	}
	if r := runLabctl(t, "", "exec", lab, "a", "--", "ip", "-o", "addr", "show", "lo"); !strings.Contains(r.stdout, "192.0.2.9/32") {
		t.Errorf("the setup command did not run in host a: lo has %q", r.stdout)
	}

	log := filepath.Join(node.StateDir, lab, "logs", "a.log")
	want := "serving on 192.0.2.9\nto stderr\n"
	var got []byte
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if got, _ = os.ReadFile(log); string(got) == want {
			break
		}
	}
	if string(got) != want {
		t.Errorf("%s holds %q, want %q (the background command ran after the setup one, in host a)", log, got, want)
	}

	st, err := node.ReadState(lab)
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	for _, p := range st.Processes {
		if p.Host == "a" && strings.HasPrefix(p.What, "command: ") {
			pid = p.PID
		}
	}
	if pid == 0 || syscall.Kill(pid, 0) != nil {
		t.Fatalf("background command not running after up: processes %+v", st.Processes)
	}
	if r := runLabctl(t, "", "down", lab); r.code != 0 || !strings.Contains(r.stdout, "stopped 1 process") {
		t.Fatalf("down: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err == nil && !zombie(pid) {
		t.Errorf("background command (pid %d) still runs after down", pid)
	}
	assertGone(t, lab)
}

func zombie(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err == nil && strings.Contains(string(stat), ") Z ")
}

// TestFailingCommandRollsBack: a setup command that exits non-zero fails up with
// exit 1, naming the host, the lab file line and the command's output, and up
// removes everything it built, a background command already started included.
func TestFailingCommandRollsBack(t *testing.T) {
	nodetest.RequireRoot(t)
	before := nodetest.SnapshotRoot(t)
	lab := uniqueLabName()
	file := writeLab(t, fmt.Sprintf(`apiVersion: labctl.dev/v1
kind: Lab
name: %s
hosts:
  - name: a
    commands:
      - {run: sleep 300, background: true}
  - name: b
    commands:
      - "true"
      - echo broken pipe; exit 3
`, lab))
	t.Cleanup(func() { runLabctl(t, "", "down", lab) })
	r := runLabctl(t, "", "up", file)
	if r.code != 1 {
		t.Fatalf("up with a failing command: exit %d, want 1; stderr:\n%s", r.code, r.stderr)
	}
	for _, want := range []string{"host b", "line 11", "exit status 3", "broken pipe"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
		}
	}
	assertGone(t, lab)
	nodetest.AssertUnchanged(t, before)
}
