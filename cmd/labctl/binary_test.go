package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// Tests in this package run the real labctl binary, as users and CI do: exit codes,
// signals and process lifetimes are part of the contract.

// TestMain keeps these tests out of the job summary of the CI run they are part of:
// labctl appends to $GITHUB_STEP_SUMMARY whenever it is set, so it is unset for every
// labctl the tests run, in-process or spawned (they inherit the environment); a test
// of the summary sets its own file with t.Setenv.
func TestMain(m *testing.M) {
	os.Unsetenv("GITHUB_STEP_SUMMARY")
	os.Exit(m.Run())
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// labctlBinary builds labctl once per test run and returns its path. The directory is
// world-readable so tests can run it as an unprivileged user too.
func labctlBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "labctl-test-bin-")
		if err != nil {
			buildErr = err
			return
		}
		if err := os.Chmod(dir, 0o755); err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "labctl")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = errors.New(string(out))
		}
	})
	if buildErr != nil {
		t.Fatalf("build labctl: %v", buildErr)
	}
	return binPath
}

// result is what a labctl run printed and how it ended.
type result struct {
	stdout, stderr string
	code           int
}

// runLabctl runs the binary with args and returns its output and exit status.
func runLabctl(t testing.TB, stdin string, args ...string) result {
	t.Helper()
	cmd := exec.Command(labctlBinary(t), args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if stdin != "" {
		cmd.Stdin = bytes.NewBufferString(stdin)
	}
	err := cmd.Run()
	code := 0
	var exitErr *exec.ExitError
	switch {
	case errors.As(err, &exitErr):
		code = exitErr.ExitCode()
	case err != nil:
		t.Fatalf("run labctl %v: %v", args, err)
	}
	return result{out.String(), errOut.String(), code}
}

// uniqueLabName avoids meeting a lab of another test or of the user.
func uniqueLabName() string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return "e" + hex.EncodeToString(b)
}

// writeLab writes a lab file into the test's directory.
func writeLab(t testing.TB, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "lab.yaml")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
