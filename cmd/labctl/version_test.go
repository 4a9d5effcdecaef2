package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/labctl/labctl/node/nodetest"
)

// TestVersion: labctl version prints the version, the commit (from -ldflags, else the
// build's VCS stamp, else unknown: GOFLAGS may say -buildvcs=false) and the Go release.
func TestVersion(t *testing.T) {
	r := runLabctl(t, "", "version")
	want := regexp.MustCompile(`^labctl \S+ \(commit ([0-9a-f]{40}|unknown), ` + regexp.QuoteMeta(runtime.Version()) + `\)\n$`)
	if r.code != 0 || !want.MatchString(r.stdout) {
		t.Errorf("labctl version: exit %d, %q does not match %s", r.code, r.stdout, want)
	}
}

// TestActionInstallStampsTheVersion runs the action's install.sh as GitHub would for
// uses: labctl/labctl@v1 on this checkout: the labctl it builds says v1 and the
// checkout's commit. modprobe and apt-get are stand-ins: nothing is installed or
// loaded on this machine.
func TestActionInstallStampsTheVersion(t *testing.T) {
	nodetest.RequireRoot(t) // install.sh would call sudo
	head, err := exec.Command("git", "rev-parse", "--verify", "-q", "HEAD").Output()
	if err != nil {
		t.Skip("not a git checkout: nothing to stamp")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	stubs := filepath.Join(dir, "stubs")
	if err := os.Mkdir(stubs, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"modprobe", "apt-get"} {
		if err := os.WriteFile(filepath.Join(stubs, name), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("bash", filepath.Join(root, ".github/action/install.sh"))
	cmd.Env = append(os.Environ(), "PATH="+stubs+":"+os.Getenv("PATH"), "GITHUB_ACTION_PATH="+root, "GITHUB_ACTION_REF=v1",
		"RUNNER_TEMP="+dir, "GITHUB_PATH="+filepath.Join(dir, "github_path"), "LABCTL_VERSION=source")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("install.sh: %v\n%s", err, out.String())
	}
	want := "labctl v1 (commit " + strings.TrimSpace(string(head)) + ", "
	if !strings.Contains(out.String(), want) {
		t.Errorf("install.sh built a labctl whose version does not say %q:\n%s", want, out.String())
	}
	if path, err := os.ReadFile(filepath.Join(dir, "github_path")); err != nil || strings.TrimSpace(string(path)) != filepath.Join(dir, "labctl-bin") {
		t.Errorf("GITHUB_PATH got %q (%v), want the bin directory", path, err)
	}
}
