package node

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/labctl/labctl/node/iptables"
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
	// Workers bounds the per-namespace work done in parallel (default: 2 per CPU).
	Workers int
	// Progress, when set, is told when each phase ends.
	Progress func(Phase)
}

// Phase is one step of building or removing a lab, for progress output and benchmarks.
type Phase struct {
	Name    string
	Count   int
	Elapsed time.Duration
}

// UpResult says what up did.
type UpResult struct {
	// AlreadyUp is true when the same plan was already running: nothing was done.
	AlreadyUp bool
	State     *State
	Phases    []Phase
}

// ErrRunning is returned when another plan of the lab is running and Replace is off.
var ErrRunning = errors.New("lab is already running")

// Up builds the plan in the kernel. It writes the state record first, so Down can
// always remove what Up created, even if Up is killed.
func Up(ctx context.Context, p *plan.Plan, opts UpOptions) (res *UpResult, err error) {
	if err := Preflight(p); err != nil {
		return nil, err
	}
	unlock, err := lock(p.Instance)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if done, err := checkRunning(p, opts.Replace); err != nil || done != nil {
		return done, err
	}
	st := newState(p)
	if err := writeState(st); err != nil {
		return nil, err
	}
	defer func() {
		if err != nil && !opts.KeepOnFailure {
			_, _ = down(p.Instance)
		}
	}()
	b := &build{plan: p, opts: opts, state: st, res: &UpResult{State: st}}
	if b.opts.Workers <= 0 {
		b.opts.Workers = 2 * runtime.NumCPU()
	}
	steps := []struct {
		name string
		fn   func(context.Context) (int, error)
	}{
		{"namespaces", b.namespaces},
		{"links", b.links},
		{"addresses and routes", b.configure},
		{"iptables", b.rules},
		{"processes", b.processes},
	}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		start := time.Now()
		n, err := s.fn(ctx)
		if err != nil {
			return nil, err
		}
		ph := Phase{Name: s.name, Count: n, Elapsed: time.Since(start)}
		b.res.Phases = append(b.res.Phases, ph)
		if opts.Progress != nil {
			opts.Progress(ph)
		}
	}
	st.Status = StatusUp
	if err := writeState(st); err != nil {
		return nil, err
	}
	return b.res, nil
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
	_, err = down(p.Instance)
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
	st := &State{Instance: p.Instance, Lab: p.Lab, Machine: p.Machine, Source: p.Source, Digest: p.Digest(), Backend: p.Backend, Status: StatusBuilding, Created: time.Now().UTC()}
	if abs, err := filepath.Abs(p.Source); err == nil && p.Source != "" {
		st.Source = abs
	}
	for _, n := range p.Namespaces {
		st.Namespaces = append(st.Namespaces, n.NetNS)
		h := Host{Name: n.Name, Kind: n.Kind, NetNS: n.NetNS}
		for _, e := range p.Ends(n.Name) {
			h.Addresses = append(h.Addresses, prefixStrings(e.Addresses)...)
		}
		for _, br := range n.Bridges {
			h.Addresses = append(h.Addresses, prefixStrings(br.Addresses)...)
		}
		h.Addresses = append(h.Addresses, prefixStrings(n.Loopback)...)
		st.Hosts = append(st.Hosts, h)
	}
	return st
}

func prefixStrings(ps []netip.Prefix) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

// build carries one run of Up through its phases.
type build struct {
	plan  *plan.Plan
	opts  UpOptions
	state *State
	res   *UpResult
}

// parallel runs fn for every namespace with at most opts.Workers at once.
func (b *build) parallel(ctx context.Context, fn func(*plan.Namespace) error) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(b.opts.Workers)
	for _, n := range b.plan.Namespaces {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(n); err != nil {
				return fmt.Errorf("%s %s: %w", n.Kind, n.Name, err)
			}
			return nil
		})
	}
	return g.Wait()
}

func (b *build) namespaces(ctx context.Context) (int, error) {
	err := b.parallel(ctx, func(n *plan.Namespace) error {
		return createNetns(n.NetNS, func() error { return setupInside(b.plan, n) })
	})
	return len(b.plan.Namespaces), err
}

// links creates every veth pair. Link creation is serialised by the kernel's rtnl lock,
// so one goroutine does it.
func (b *build) links(ctx context.Context) (int, error) {
	hs := handles{}
	defer hs.close()
	for _, v := range b.plan.Veths {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if err := addVeth(hs, b.plan, v); err != nil {
			return 0, fmt.Errorf("%s: %w", v.A.Namespace, err)
		}
	}
	return len(b.plan.Veths), nil
}

func (b *build) configure(ctx context.Context) (int, error) {
	aSides := map[string]map[string]bool{}
	for _, v := range b.plan.Veths {
		if aSides[v.A.Namespace] == nil {
			aSides[v.A.Namespace] = map[string]bool{}
		}
		aSides[v.A.Namespace][v.A.Name] = true
	}
	ends := map[string][]plan.End{}
	for _, v := range b.plan.Veths {
		ends[v.A.Namespace] = append(ends[v.A.Namespace], v.A)
		ends[v.B.Namespace] = append(ends[v.B.Namespace], v.B)
	}
	err := b.parallel(ctx, func(n *plan.Namespace) error {
		if len(n.Sysctls) > 0 {
			if err := InNetns(n.NetNS, func() error { return writeSysctls(n.Sysctls) }); err != nil {
				return err
			}
		}
		if len(ends[n.Name]) == 0 && len(n.Routes) == 0 && len(n.Vxlans) == 0 {
			return nil
		}
		hs := handles{}
		defer hs.close()
		h, err := hs.get(n.NetNS)
		if err != nil {
			return err
		}
		return configureEnds(h, n, ends[n.Name], aSides[n.Name])
	})
	return len(b.plan.Namespaces), err
}

func (b *build) rules(ctx context.Context) (int, error) {
	runner := iptables.Runner{Backend: b.plan.Backend, LockDir: instanceDir(b.plan.Instance)}
	count := 0
	for _, n := range b.plan.Namespaces {
		if payload, _ := n.Payload(); payload != nil {
			count++
		}
	}
	err := b.parallel(ctx, func(n *plan.Namespace) error {
		payload, origins := n.Payload()
		if payload == nil {
			return nil
		}
		if err := runner.Restore(ctx, NetnsPath(n.NetNS), payload); err != nil {
			return explainRestore(b.plan.Source, err, payload, origins)
		}
		return nil
	})
	return count, err
}

func (b *build) processes(ctx context.Context) (int, error) {
	p, st := b.plan, b.state
	if err := os.MkdirAll(filepath.Join(instanceDir(p.Instance), "logs"), 0o755); err != nil {
		return 0, err
	}
	started := 0
	if b.opts.Agent != nil && hasServers(p) {
		cfg := filepath.Join(instanceDir(p.Instance), "agent.json")
		if err := os.WriteFile(cfg, b.opts.AgentConfig, 0o644); err != nil {
			return 0, fmt.Errorf("write agent configuration: %w", err)
		}
		proc, err := startAgent(p.Instance, b.opts.Agent(cfg), logPath(p.Instance, "agent"))
		if proc.PID != 0 {
			st.Processes = append(st.Processes, proc)
			_ = writeState(st)
		}
		if err != nil {
			return 0, err
		}
		started++
	}
	for _, n := range p.Namespaces {
		for _, c := range n.Commands {
			if err := ctx.Err(); err != nil {
				return started, err
			}
			if !c.Background {
				if err := runSetup(ctx, p.Instance, n.NetNS, c.Run); err != nil {
					return started, fmt.Errorf("host %s: %s (line %d): %w", n.Name, p.Source, c.Line, err)
				}
				continue
			}
			proc, err := startBackground(p.Instance, n.NetNS, n.Name, c.Run, logPath(p.Instance, n.Name))
			if err != nil {
				return started, fmt.Errorf("host %s: %w", n.Name, err)
			}
			st.Processes = append(st.Processes, proc)
			if err := writeState(st); err != nil {
				return started, err
			}
			started++
		}
	}
	return started, nil
}

func hasServers(p *plan.Plan) bool {
	for _, n := range p.Namespaces {
		if len(n.Servers) > 0 {
			return true
		}
	}
	return false
}
