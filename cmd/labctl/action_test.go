package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/labctl/labctl/node/nodetest"
)

// runActionTest runs the action's test.sh with a stand-in labctl on PATH that writes
// the arguments it got, one per line, and returns them, the script's output and
// exit status.
func runActionTest(t *testing.T, args string) ([]string, string, int) {
	t.Helper()
	nodetest.RequireRoot(t) // test.sh calls sudo when not root
	dir := t.TempDir()
	bin, got := filepath.Join(dir, "bin"), filepath.Join(dir, "args")
	if err := os.MkdirAll(filepath.Join(dir, "labs"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	fake := "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > " + got + "\n"
	for path, content := range map[string]string{filepath.Join(bin, "labctl"): fake, filepath.Join(dir, "labs", "a.yaml"): "x"} {
		if err := os.WriteFile(path, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	script, err := filepath.Abs("../../.github/action/test.sh")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "LABCTL_LABS=labs/*.yaml", "LABCTL_JUNIT=j.xml",
		"LABCTL_ARGS="+args, "GITHUB_OUTPUT="+filepath.Join(dir, "out"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	_ = cmd.Run()
	data, _ := os.ReadFile(got)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(data) == 0 {
		lines = nil
	}
	return lines, out.String(), cmd.ProcessState.ExitCode()
}

// TestActionSplitsArgsAsAShell: the args input is split as a shell splits words and
// quotes, without running anything in it.
func TestActionSplitsArgsAsAShell(t *testing.T) {
	for _, c := range []struct {
		args string
		want []string
	}{
		{"", []string{"test", "--junit", "j.xml", "labs/a.yaml"}},
		{`--run 'hairpin mode|KUBE-MARK-MASQ' -o json`, []string{"test", "--junit", "j.xml", "--run", "hairpin mode|KUBE-MARK-MASQ", "-o", "json", "labs/a.yaml"}},
		{`--run "a b"   --iptables legacy`, []string{"test", "--junit", "j.xml", "--run", "a b", "--iptables", "legacy", "labs/a.yaml"}},
		{`--run '$(touch pwned)' --run *`, []string{"test", "--junit", "j.xml", "--run", "$(touch pwned)", "--run", "*", "labs/a.yaml"}},
	} {
		got, out, code := runActionTest(t, c.args)
		if code != 0 || !slices.Equal(got, c.want) {
			t.Errorf("args %q: exit %d, labctl got %q, want %q\n%s", c.args, code, got, c.want, out)
		}
	}
	if got, out, code := runActionTest(t, `--run 'unclosed`); code != 2 || got != nil || !strings.Contains(out, "::error::args: cannot split") {
		t.Errorf("an unmatched quote: exit %d, labctl got %q, want exit 2 and no run\n%s", code, got, out)
	}
}
