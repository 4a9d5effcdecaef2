package node

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// StateDir holds one directory per running lab instance. /run is usually a tmpfs: the
// records vanish on reboot together with the namespaces they describe (where it is
// not, down removes a record whose namespaces are gone).
var StateDir = "/run/labctl"

// Status of a lab instance.
const (
	StatusBuilding = "building"
	StatusUp       = "up"
)

// State is the record of a lab instance, written before any kernel object exists so
// that down can remove a lab whose up was killed at any moment.
type State struct {
	Instance   string    `json:"instance"`
	Lab        string    `json:"lab"`
	Machine    string    `json:"machine,omitempty"`
	Source     string    `json:"source,omitempty"`
	Digest     string    `json:"digest"`
	Backend    string    `json:"iptablesBackend"`
	Status     string    `json:"status"`
	Created    time.Time `json:"created"`
	Hosts      []Host    `json:"hosts"`
	Processes  []Process `json:"processes,omitempty"`
	Namespaces []string  `json:"namespaces"`
	// Underlay and Tunnels: a machine's share of a lab spread over machines.
	Underlay string         `json:"underlayNetns,omitempty"`
	Tunnels  []TunnelRecord `json:"tunnels,omitempty"`
}

// Host is what ls and exec need to know about a host of a running lab.
type Host struct {
	Name      string   `json:"name"`
	Kind      string   `json:"kind"`
	NetNS     string   `json:"netns"`
	Addresses []string `json:"addresses,omitempty"`
}

// Process is a process labctl started for the lab. Start (the kernel's start time of
// the process) tells it apart from an unrelated process that later got the same PID.
type Process struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start"`
	Host  string `json:"host,omitempty"`
	What  string `json:"what"`
}

// Host returns the named host, or nil.
func (s *State) Host(name string) *Host {
	for i := range s.Hosts {
		if s.Hosts[i].Name == name {
			return &s.Hosts[i]
		}
	}
	return nil
}

func instanceDir(instance string) string { return filepath.Join(StateDir, instance) }

func statePath(instance string) string { return filepath.Join(instanceDir(instance), "state.json") }

// ReadState returns the record of a running instance, or an error wrapping
// os.ErrNotExist when there is none.
func ReadState(instance string) (*State, error) {
	data, err := os.ReadFile(statePath(instance))
	if err != nil {
		return nil, err
	}
	var s State
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, fmt.Errorf("state of lab %s is damaged (%s): %w; labctl down %s still removes the lab", instance, statePath(instance), err, instance)
	}
	return &s, nil
}

// writeState replaces the record atomically, so a crash never leaves half a file.
func writeState(s *State) error {
	dir := instanceDir(s.Instance)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create state directory: %w", err)
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp := statePath(s.Instance) + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	if err := os.Rename(tmp, statePath(s.Instance)); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

// Instances lists lab instances that have a state record or left namespaces behind.
func Instances() ([]string, error) {
	seen := map[string]bool{}
	entries, err := os.ReadDir(StateDir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			seen[e.Name()] = true
		}
	}
	names, err := listNetns("lc.")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		// lc.<instance>.<host>: neither part may contain a dot.
		if inst, _, ok := strings.Cut(strings.TrimPrefix(n, "lc."), "."); ok && inst != "" {
			seen[inst] = true
		}
	}
	out := make([]string, 0, len(seen))
	for name := range seen {
		out = append(out, name)
	}
	slices.Sort(out)
	return out, nil
}

// instanceLock is the held lock of one lab instance (see lock).
type instanceLock struct {
	f    *os.File
	path string
}

// lock takes the instance's lock so two labctl processes never build or remove the
// same lab at once. It blocks until the other finishes.
//
// A successful down removes the lock file while it holds the lock (see remove), so a
// process that was waiting may hold the lock of a file no longer in the directory:
// once it has the lock it checks that its file is still the one at the path, and
// starts over if not. Two holders at once are impossible: both would have to lock
// the file now at the path.
func lock(instance string) (*instanceLock, error) {
	if instance == "" || strings.ContainsAny(instance, "/\x00") || strings.HasPrefix(instance, ".") {
		return nil, fmt.Errorf("lab name %q is not valid: use lowercase letters, digits and '-'", instance)
	}
	dir := filepath.Join(StateDir, ".locks")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create lock directory: %w", err)
	}
	path := filepath.Join(dir, instance)
	for {
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
		if err != nil {
			return nil, fmt.Errorf("open lock of lab %s: %w", instance, err)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock lab %s: %w", instance, err)
		}
		var held, now unix.Stat_t
		if err := unix.Fstat(int(f.Fd()), &held); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock lab %s: %w", instance, err)
		}
		err = unix.Stat(path, &now)
		if err == nil && now.Dev == held.Dev && now.Ino == held.Ino {
			return &instanceLock{f: f, path: path}, nil
		}
		f.Close()
		if err != nil && !errors.Is(err, unix.ENOENT) {
			return nil, fmt.Errorf("lock lab %s: %w", instance, err)
		}
	}
}

// unlock releases the lock and leaves the lock file for the next user.
func (l *instanceLock) unlock() { l.f.Close() }

// remove deletes the lock file, then releases the lock: the instance is gone and
// leaves nothing behind. Only the holder may call it (see lock).
func (l *instanceLock) remove() {
	_ = os.Remove(l.path)
	l.f.Close()
}
