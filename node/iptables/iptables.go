// Package iptables runs iptables-restore and iptables-save inside lab namespaces.
// go-iptables has no restore API, and labctl loads each namespace's rules as one
// atomic restore payload (as kube-proxy does), so this small runner does the exec;
// go-iptables serves single-rule checks and counters (check.go).
package iptables

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"

	"github.com/containernetworking/plugins/pkg/ns"
	"golang.org/x/sys/unix"
)

// Backends labctl can load rules with.
const (
	NFT    = "nft"
	Legacy = "legacy"
)

// Runner loads and reads the iptables state of lab namespaces with one backend.
type Runner struct {
	Backend string
	// LockDir, when set, gives each namespace its own xtables lock file. The legacy
	// backend otherwise serialises every namespace on one machine-wide /run/xtables.lock.
	LockDir string
}

// Tool returns the path of an iptables tool ("restore" or "save") for the backend.
func (r Runner) Tool(tool string) (string, error) {
	name := fmt.Sprintf("iptables-%s-%s", r.backend(), tool)
	path, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Errorf("%s not found: install the iptables package (apt-get install iptables), or run make deps", name)
	}
	return path, nil
}

func (r Runner) backend() string {
	if r.Backend == "" {
		return NFT
	}
	return r.Backend
}

// RestoreError is a payload the kernel or iptables refused, with the payload line
// iptables named, so callers can point at the lab file line that wrote it.
type RestoreError struct {
	Line   int // 1-based payload line, 0 if iptables did not say
	Output string
}

func (e *RestoreError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("iptables-restore refused payload line %d: %s", e.Line, e.Output)
	}
	return "iptables-restore failed: " + e.Output
}

var failedLine = regexp.MustCompile(`line:? (\d+)`)

// Restore loads payload into the namespace at netnsPath as one atomic transaction,
// replacing the tables it names.
func (r Runner) Restore(ctx context.Context, netnsPath string, payload []byte) error {
	return r.inNetns(netnsPath, func() error { return r.restore(ctx, netnsPath, payload, "-w") })
}

// Test checks payload with iptables-restore --test in a fresh, unnamed scratch namespace
// that the kernel discards right after: nothing of the lab exists yet when it runs.
func (r Runner) Test(ctx context.Context, payload []byte) error {
	errc := make(chan error, 1)
	go func() {
		// The thread enters a namespace of its own and is never unlocked, so Go
		// destroys it, and the kernel the namespace, when the goroutine ends.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("create scratch namespace: %w", err)
			return
		}
		errc <- r.restore(ctx, "scratch", payload, "--test")
	}()
	return <-errc
}

func (r Runner) restore(ctx context.Context, lockKey string, payload []byte, args ...string) error {
	tool, err := r.Tool("restore")
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, tool, args...)
	cmd.Stdin = bytes.NewReader(payload)
	cmd.Env = r.env(lockKey)
	out, err := cmd.CombinedOutput()
	if err == nil {
		return nil
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		return fmt.Errorf("run %s: %w", filepath.Base(tool), err)
	}
	text := strings.TrimSpace(string(out))
	re := &RestoreError{Output: firstLines(text, 4)}
	if m := failedLine.FindStringSubmatch(text); m != nil {
		re.Line, _ = strconv.Atoi(m[1])
	}
	return re
}

// Save returns iptables-save output of the namespace, with packet counters if asked.
func (r Runner) Save(ctx context.Context, netnsPath string, counters bool, tables ...string) ([]byte, error) {
	tool, err := r.Tool("save")
	if err != nil {
		return nil, err
	}
	var out []byte
	err = r.inNetns(netnsPath, func() error {
		args := []string{}
		if counters {
			args = append(args, "-c")
		}
		for _, t := range tables {
			args = append(args, "-t", t)
		}
		cmd := exec.CommandContext(ctx, tool, args...)
		cmd.Env = r.env(netnsPath)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		var runErr error
		out, runErr = cmd.Output()
		if runErr != nil {
			return fmt.Errorf("%s: %w: %s", filepath.Base(tool), runErr, firstLines(stderr.String(), 3))
		}
		return nil
	})
	return out, err
}

func (r Runner) inNetns(path string, fn func() error) error {
	if path == "" {
		return fn()
	}
	return ns.WithNetNSPath(path, func(ns.NetNS) error { return fn() })
}

func (r Runner) env(lockKey string) []string {
	env := os.Environ()
	if r.LockDir != "" && r.backend() == Legacy {
		name := strings.NewReplacer("/", "_").Replace(filepath.Base(lockKey)) + ".xtables.lock"
		env = append(env, "XTABLES_LOCKFILE="+filepath.Join(r.LockDir, name))
	}
	return env
}

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, " | ")
}
