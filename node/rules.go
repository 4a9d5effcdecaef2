package node

import (
	"context"
	"runtime"
	"sync"

	"github.com/labctl/labctl/node/iptables"
	"github.com/labctl/labctl/topo/plan"
)

// ruleLoader loads each namespace's iptables payload as soon as the namespace exists,
// beside the link stages: rules name interfaces but do not need them to exist, and
// restores are per namespace (nf_tables commits take a per-namespace mutex; legacy
// restores get a per-namespace lock file), so they overlap with each other and with
// the netlink work, which the kernel serialises on rtnl anyway.
type ruleLoader struct {
	runner iptables.Runner
	source string
	count  int // namespaces that have rules
	done   counter
	queue  chan *plan.Namespace // never blocks: buffered for every namespace with rules
	close  sync.Once
	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc // stops the build when a restore fails

	rep *reporter
	mu  sync.Mutex
	end func() Phase
	ph  Phase
	err error
}

func newRuleLoader(ctx context.Context, p *plan.Plan, workers int, rep *reporter, cancel context.CancelFunc) *ruleLoader {
	l := &ruleLoader{runner: iptables.Runner{Backend: p.Backend, LockDir: instanceDir(p.Instance)}, source: p.Source, rep: rep, ctx: ctx, cancel: cancel,
		ph: Phase{Name: "iptables", Done: true}}
	for _, n := range p.Namespaces {
		if n.Rules != nil && !n.Rules.Empty() {
			l.count++
		}
	}
	l.queue = make(chan *plan.Namespace, l.count)
	if workers <= 0 {
		// Each restore keeps a CPU busy (parsing, then the kernel translating or
		// committing the table); more at once than CPUs only adds switching.
		workers = runtime.NumCPU()
	}
	for range min(workers, l.count) {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			for n := range l.queue {
				l.restore(n)
			}
		}()
	}
	return l
}

// start queues the namespace's restore and returns at once: the worker that created
// the namespace goes on building the next one.
func (l *ruleLoader) start(n *plan.Namespace) {
	if n.Rules == nil || n.Rules.Empty() {
		return
	}
	l.mu.Lock()
	if l.end == nil {
		// The phase starts with the first restore, which overlaps the link stages.
		l.end = l.rep.begin("iptables", l.count, &l.done)
	}
	l.mu.Unlock()
	l.queue <- n
}

func (l *ruleLoader) restore(n *plan.Namespace) {
	if l.ctx.Err() != nil {
		return
	}
	// Rendered here, once, in parallel: a node of a 1,000-Pod cluster has about
	// 0.5 MB of rules.
	payload, origins := n.Payload()
	err := l.runner.Restore(l.ctx, NetnsPath(n.NetNS), payload)
	if err != nil {
		l.mu.Lock()
		if l.err == nil && l.ctx.Err() == nil {
			l.err = wrapHost(n, explainRestore(l.source, err, payload, origins))
			l.cancel()
		}
		l.mu.Unlock()
		return
	}
	l.done.add(1)
}

// wait waits for every queued restore and returns the phase (from the first
// restore's start) and the first failure. Only namespaces queued before it are
// loaded.
func (l *ruleLoader) wait() (Phase, error) {
	l.close.Do(func() { close(l.queue) })
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.end != nil {
		l.ph, l.end = l.end(), nil
	}
	return l.ph, l.err
}

// failed returns the restore error that stopped the build, if any.
func (l *ruleLoader) failed() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

func wrapHost(n *plan.Namespace, err error) error {
	return &hostError{kind: n.Kind, name: n.Name, err: err}
}

type hostError struct {
	kind, name string
	err        error
}

func (e *hostError) Error() string { return e.kind + " " + e.name + ": " + e.err.Error() }
func (e *hostError) Unwrap() error { return e.err }
