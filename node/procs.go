package node

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// EnvMarker is set in the environment of every process labctl starts for a lab (and so
// inherited by their children). down ends exactly the processes carrying the marker of
// its instance: processes labctl started, found by PID, never by name pattern.
const EnvMarker = "LABCTL_LAB"

func markerEnv(instance string) []string {
	return append(os.Environ(), EnvMarker+"="+instance)
}

// procStart returns the start time of a process (field 22 of /proc/PID/stat), which
// with the PID identifies it for its whole life.
func procStart(pid int) (uint64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may contain spaces.
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	fields := strings.Fields(string(data[i+1:]))
	if len(fields) < 20 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	return strconv.ParseUint(fields[19], 10, 64)
}

// procAlive reports whether pid runs and is not a zombie.
func procAlive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(data, ')')
	return i >= 0 && i+2 < len(data) && data[i+2] != 'Z' && data[i+2] != 'X'
}

// procMarker returns the lab instance a process was started for, or "".
func procMarker(pid int) string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return ""
	}
	for _, kv := range bytes.Split(data, []byte{0}) {
		if v, ok := bytes.CutPrefix(kv, []byte(EnvMarker+"=")); ok {
			return string(v)
		}
	}
	return ""
}

func recordProcess(cmd *exec.Cmd, host, what string) Process {
	start, _ := procStart(cmd.Process.Pid)
	return Process{PID: cmd.Process.Pid, Start: start, Host: host, What: what}
}

// startBackground starts a long-running command inside a host's namespace, in its own
// session (so a Ctrl-C of labctl up does not reach it), output appended to logPath.
func startBackground(instance, netnsName, host, run, logPath string) (Process, error) {
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return Process{}, fmt.Errorf("open log %s: %w", logPath, err)
	}
	defer logf.Close()
	cmd := exec.Command("/bin/sh", "-c", run)
	cmd.Env = markerEnv(instance)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := InNetns(netnsName, cmd.Start); err != nil {
		return Process{}, fmt.Errorf("start %q: %w", run, err)
	}
	go cmd.Wait() //nolint:errcheck // reaps the child if it exits while this labctl still runs
	return recordProcess(cmd, host, "command: "+run), nil
}

// runSetup runs a setup command inside a host's namespace and waits for it.
func runSetup(ctx context.Context, instance, netnsName, run string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/sh", "-c", run)
	cmd.Env = markerEnv(instance)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := InNetns(netnsName, cmd.Run)
	if err != nil {
		return fmt.Errorf("command %q failed: %w: %s", run, err, firstLines(out.String(), 5))
	}
	return nil
}

// stopProcesses ends the processes of an instance: the recorded ones (if still the same
// process) and every other process carrying the instance's marker, e.g. the children of
// a server or a labctl exec shell. SIGTERM first, SIGKILL after a grace period.
func stopProcesses(instance string, recorded []Process) int {
	targets := map[int]bool{}
	for _, p := range recorded {
		if start, err := procStart(p.PID); err == nil && start == p.Start {
			targets[p.PID] = true
		}
	}
	entries, _ := os.ReadDir("/proc")
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		if procMarker(pid) == instance {
			targets[pid] = true
		}
	}
	for pid := range targets {
		_ = syscall.Kill(pid, syscall.SIGTERM)
	}
	deadline := time.Now().Add(2 * time.Second)
	for pid := range targets {
		for procAlive(pid) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if procAlive(pid) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	return len(targets)
}

// startAgent starts the probe agent (argv, normally "labctl agent ...") and waits until
// it reports that every listener is open, by writing a byte on the pipe given as fd 3.
func startAgent(instance string, argv []string, logPath string) (Process, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return Process{}, err
	}
	defer r.Close()
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		w.Close()
		return Process{}, fmt.Errorf("open log %s: %w", logPath, err)
	}
	defer logf.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = markerEnv(instance)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	w.Close()
	if err != nil {
		return Process{}, fmt.Errorf("start agent: %w", err)
	}
	proc := recordProcess(cmd, "", "agent")
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	ready := make(chan error, 1)
	go func() {
		buf := make([]byte, 1)
		_, err := r.Read(buf)
		ready <- err
	}()
	select {
	case err := <-ready:
		if err == nil {
			return proc, nil
		}
		<-done
	case <-done:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
	}
	tail, _ := os.ReadFile(logPath)
	return proc, fmt.Errorf("agent did not start: %s", firstLines(lastLines(string(tail), 5), 5))
}

func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, " | ")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func logPath(instance, name string) string {
	return filepath.Join(instanceDir(instance), "logs", name+".log")
}
