package node

import (
	"sync"
	"sync/atomic"
	"time"
)

// Phase is one step of building or removing a lab, for progress output and benchmarks.
type Phase struct {
	Name string
	// Count is what the phase did so far (all of it once Done), out of Total.
	Count, Total int
	Elapsed      time.Duration
	// Done is false for the updates sent while the phase runs (see ProgressEvery).
	Done bool
}

// counter counts what a running phase has done; workers add to it concurrently.
type counter struct{ n atomic.Int64 }

func (c *counter) add(n int) { c.n.Add(int64(n)) }

func (c *counter) get() int { return int(c.n.Load()) }

// reporter hands phases to a Progress callback: every phase when it ends, and, when
// every > 0, the running phases at that interval. The workers only bump counters, so
// reporting costs the build nothing but one ticker wake-up per interval.
type reporter struct {
	fn    func(Phase)
	every time.Duration
	mu    sync.Mutex
	live  map[*livePhase]bool
	stop  chan struct{}
	done  chan struct{}
}

type livePhase struct {
	name  string
	total int
	start time.Time
	c     *counter
}

func newReporter(fn func(Phase), every time.Duration) *reporter {
	r := &reporter{fn: fn, every: every, live: map[*livePhase]bool{}, stop: make(chan struct{}), done: make(chan struct{})}
	if fn == nil || every <= 0 {
		close(r.done)
		return r
	}
	go r.tick()
	return r
}

func (r *reporter) tick() {
	defer close(r.done)
	t := time.NewTicker(r.every)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			r.mu.Lock()
			for lp := range r.live {
				r.fn(Phase{Name: lp.name, Count: lp.c.get(), Total: lp.total, Elapsed: time.Since(lp.start)})
			}
			r.mu.Unlock()
		}
	}
}

// begin starts a phase; the returned function ends it and returns its record.
func (r *reporter) begin(name string, total int, c *counter) func() Phase {
	lp := &livePhase{name: name, total: total, start: time.Now(), c: c}
	r.mu.Lock()
	r.live[lp] = true
	r.mu.Unlock()
	return func() Phase {
		ph := Phase{Name: name, Count: c.get(), Total: total, Elapsed: time.Since(lp.start), Done: true}
		r.mu.Lock()
		delete(r.live, lp)
		if r.fn != nil {
			r.fn(ph)
		}
		r.mu.Unlock()
		return ph
	}
}

// close stops the ticker; no callback runs after it returns.
func (r *reporter) close() {
	select {
	case <-r.done:
	default:
		close(r.stop)
		<-r.done
	}
}
