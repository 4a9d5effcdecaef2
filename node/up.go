package node

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/labctl/labctl/topo/plan"
)

// UpOptions tune how a plan is built.
type UpOptions struct {
	// Replace removes a running instance of the lab first, instead of refusing.
	Replace bool
	// KeepOnFailure leaves a half-built lab in place for inspection; by default a
	// failed up removes everything it created.
	KeepOnFailure bool
	// Agent returns the command line that runs the probe agent with the given
	// configuration file; AgentConfig is that file's content. Both are set by the
	// caller when the plan has servers.
	Agent       func(configPath string) []string
	AgentConfig []byte
	// Workers bounds the namespaces built in parallel (default: 2 per CPU).
	Workers int
	// RuleWorkers bounds the iptables-restore processes run at once (default: 1 per CPU).
	RuleWorkers int
	// Progress, when set, is told when each phase ends, and with ProgressEvery > 0
	// also at that interval while phases run (Phase.Done false), with counts so far.
	Progress      func(Phase)
	ProgressEvery time.Duration
}

// UpResult says what up did.
type UpResult struct {
	// AlreadyUp is true when the same plan was already running: nothing was done.
	AlreadyUp bool
	State     *State
	Phases    []Phase
}

// upMemoryLimit is the soft memory limit of Up (see debug.SetMemoryLimit).
const upMemoryLimit = 170 << 20

// ErrRunning is returned when another plan of the lab is running and Replace is off.
var ErrRunning = errors.New("lab is already running")

// Up builds the plan in the kernel. It writes the state record first, so Down can
// always remove what Up created, even if Up is killed.
func Up(ctx context.Context, p *plan.Plan, opts UpOptions) (res *UpResult, err error) {
	if err := Preflight(p); err != nil {
		return nil, err
	}
	lk, err := lock(p.Instance)
	if err != nil {
		return nil, err
	}
	// gone: a failed up removed everything, its lock file too.
	gone := false
	defer func() {
		if gone {
			lk.remove()
		} else {
			lk.unlock()
		}
	}()
	if done, err := checkRunning(p, opts.Replace); err != nil || done != nil {
		return done, err
	}
	// The digest renders every payload (half a second for a 1,000-Pod cluster): it is
	// computed beside the build and recorded with the final state. The first record
	// only needs the namespaces, for down.
	digest := make(chan string, 1)
	go func() { digest <- p.Digest() }()
	st := newState(p)
	if err := writeState(st); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil && !opts.KeepOnFailure {
			_, derr := down(p.Instance, DownOptions{})
			gone = derr == nil
		}
	}()
	if opts.Workers <= 0 {
		opts.Workers = 2 * runtime.NumCPU()
	}
	if debug.SetMemoryLimit(-1) == math.MaxInt64 {
		// Unless GOMEMLIMIT says otherwise: rendering payloads and the digest churn
		// about 300 MB of short-lived memory for a 1,000-Pod cluster, and with the
		// default GC pace the heap grows to twice the live plan (RSS 200 MB). A soft
		// limit makes the GC work a little harder instead (RSS 175 MB, +5 % CPU).
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(upMemoryLimit))
	}
	b := newBuild(p, opts, st)
	if err := b.check(); err != nil {
		return nil, err
	}
	defer b.close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b.progress = newReporter(opts.Progress, opts.ProgressEvery)
	defer b.progress.close()
	b.rules = newRuleLoader(ctx, p, opts.RuleWorkers, b.progress, cancel)
	for _, s := range b.stages() {
		if s.fn == nil { // the rule loader, started with the first namespace
			ph, err := b.rules.wait()
			if err != nil {
				return nil, err
			}
			b.res.Phases = append(b.res.Phases, ph)
			continue
		}
		if err := ctx.Err(); err != nil {
			return nil, b.stopped(err)
		}
		c := &counter{}
		end := b.progress.begin(s.name, s.total, c)
		if err := s.fn(ctx, c); err != nil {
			return nil, b.stopped(err)
		}
		b.res.Phases = append(b.res.Phases, end())
	}
	st.Status, st.Digest = StatusUp, <-digest
	if err := writeState(st); err != nil {
		return nil, err
	}
	return b.res, nil
}

// stopped prefers the restore failure that cancelled the build over the cancellation,
// once no restore runs any more (down must not race with one).
func (b *build) stopped(err error) error {
	_, _ = b.rules.wait()
	if rerr := b.rules.failed(); rerr != nil {
		return rerr
	}
	return err
}

// checkRunning decides what to do when the instance already exists: nothing if the
// same plan is fully up, remove it first if asked to replace it, else refuse and say
// what to do.
func checkRunning(p *plan.Plan, replace bool) (*UpResult, error) {
	old, err := ReadState(p.Instance)
	switch {
	case errors.Is(err, os.ErrNotExist):
		leftovers, err := listNetns(plan.InstancePrefix(p.Instance))
		if err != nil || len(leftovers) == 0 {
			return nil, err
		}
		if !replace {
			return nil, fmt.Errorf("lab %s: %d namespaces are left from an earlier run (e.g. %s): run labctl down %s: %w", p.Instance, len(leftovers), leftovers[0], p.Instance, ErrRunning)
		}
	case err != nil:
		if !replace {
			return nil, fmt.Errorf("%w: %w", err, ErrRunning)
		}
	case !replace && old.Status == StatusUp && old.Digest == p.Digest() && allExist(old.Namespaces):
		return &UpResult{AlreadyUp: true, State: old}, nil
	case !replace:
		why := "a different version of the lab is running"
		if old.Status != StatusUp || !allExist(old.Namespaces) {
			why = "an earlier up did not finish or parts of the lab are gone"
		}
		return nil, fmt.Errorf("lab %s: %s: run labctl up --replace to rebuild it, or labctl down %s: %w", p.Instance, why, p.Instance, ErrRunning)
	}
	_, err = down(p.Instance, DownOptions{})
	return nil, err
}

func allExist(names []string) bool {
	for _, n := range names {
		if !netnsExists(n) {
			return false
		}
	}
	return true
}

func newState(p *plan.Plan) *State {
	st := &State{Instance: p.Instance, Lab: p.Lab, Machine: p.Machine, Source: p.Source, Backend: p.Backend, Status: StatusBuilding, Created: time.Now().UTC()}
	if abs, err := filepath.Abs(p.Source); err == nil && p.Source != "" {
		st.Source = abs
	}
	// One pass over the veths: p.Ends per namespace would be quadratic (a million
	// comparisons for a 1,000-Pod cluster).
	ends := map[string][]plan.End{}
	for _, v := range p.Veths {
		ends[v.A.Namespace] = append(ends[v.A.Namespace], v.A)
		ends[v.B.Namespace] = append(ends[v.B.Namespace], v.B)
	}
	for _, n := range p.Namespaces {
		st.Namespaces = append(st.Namespaces, n.NetNS)
		h := Host{Name: n.Name, Kind: n.Kind, NetNS: n.NetNS}
		for _, e := range ends[n.Name] {
			h.Addresses = append(h.Addresses, prefixStrings(e.Addresses)...)
		}
		for _, br := range n.Bridges {
			h.Addresses = append(h.Addresses, prefixStrings(br.Addresses)...)
		}
		h.Addresses = append(h.Addresses, prefixStrings(n.Loopback)...)
		st.Hosts = append(st.Hosts, h)
	}
	recordTunnels(st, p)
	return st
}

func prefixStrings(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

// processCount is the number of processes and setup commands the lab starts.
func (b *build) processCount() int {
	n := 0
	if b.opts.Agent != nil && hasServers(b.plan) {
		n++
	}
	for _, ns := range b.plan.Namespaces {
		n += len(ns.Commands)
	}
	return n
}

func (b *build) processes(ctx context.Context, c *counter) error {
	p, st := b.plan, b.state
	if err := os.MkdirAll(filepath.Join(instanceDir(p.Instance), "logs"), 0o755); err != nil {
		return err
	}
	if b.opts.Agent != nil && hasServers(p) {
		cfg := filepath.Join(instanceDir(p.Instance), "agent.json")
		if err := os.WriteFile(cfg, b.opts.AgentConfig, 0o644); err != nil {
			return fmt.Errorf("write agent configuration: %w", err)
		}
		proc, err := startAgent(p.Instance, b.opts.Agent(cfg), logPath(p.Instance, "agent"))
		if proc.PID != 0 {
			st.Processes = append(st.Processes, proc)
			_ = writeState(st)
		}
		if err != nil {
			return err
		}
		c.add(1)
	}
	for _, n := range p.Namespaces {
		for _, cmd := range n.Commands {
			if err := ctx.Err(); err != nil {
				return err
			}
			if !cmd.Background {
				if err := runSetup(ctx, p.Instance, n.NetNS, cmd.Run); err != nil {
					return fmt.Errorf("host %s: %s (line %d): %w", n.Name, p.Source, cmd.Line, err)
				}
				c.add(1)
				continue
			}
			proc, err := startBackground(p.Instance, n.NetNS, n.Name, cmd.Run, logPath(p.Instance, n.Name))
			if err != nil {
				return fmt.Errorf("host %s: %w", n.Name, err)
			}
			st.Processes = append(st.Processes, proc)
			if err := writeState(st); err != nil {
				return err
			}
			c.add(1)
		}
	}
	return nil
}

func hasServers(p *plan.Plan) bool {
	for _, n := range p.Namespaces {
		if len(n.Servers) > 0 {
			return true
		}
	}
	return false
}
