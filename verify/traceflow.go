package verify

import (
	"context"
	"fmt"
	"time"

	"github.com/labctl/labctl/topo"
	"github.com/labctl/labctl/topo/plan"
)

// TraceFlow sends one try from host from to a target of the running lab and says
// where its packets went (see Trace). to is written as a probe's to (web-0:8080,
// service/web:80, 198.51.100.80:80...); port, when not zero, replaces its port; proto
// is tcp, udp, http or icmp ("" picks as a probe would). Nothing else may send in the
// lab meanwhile, or its packets count too.
//
// A request that names no host, target or port of the lab returns an *InputError; any
// other error is a failure of the running lab (a namespace gone...).
func TraceFlow(ctx context.Context, lab *plan.Plan, from, to, proto string, port int) (Trace, error) {
	p, err := traceProbeFor(lab, from, to, proto, port)
	if err != nil {
		return Trace{}, &InputError{err}
	}
	k := NewKernel(lab)
	defer k.Close()
	tr := traceProbe(ctx, k, lab, p)
	if tr.Outcome == "" && tr.Error != "" {
		return tr, fmt.Errorf("trace %s -> %s: %s", from, to, tr.Error)
	}
	return tr, nil
}

// InputError is a trace request the lab cannot make sense of: bad input, not a
// failure of the lab.
type InputError struct{ Err error }

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// traceProbeFor builds the one-try probe a trace sends.
func traceProbeFor(lab *plan.Plan, from, to, proto string, port int) (plan.Probe, error) {
	if r := lab.Remote(from); r != nil {
		return plan.Probe{}, fmt.Errorf("host %s runs on machine %s, not on machine %s: trace it there (labctl trace --machine %s)", from, r.Machine, lab.Machine, r.Machine)
	}
	if n := lab.Namespace(from); n == nil || n.Kind == plan.KindNetwork {
		return plan.Probe{}, fmt.Errorf("lab %s has no host %q to send from", lab.Instance, from)
	}
	if port < 0 || port > 65535 {
		return plan.Probe{}, fmt.Errorf("port %d: use 1 to 65535", port)
	}
	t, svcProto, err := topo.ResolveTarget(lab, to)
	if err != nil {
		return plan.Probe{}, fmt.Errorf("target %q: %w", to, err)
	}
	if port != 0 {
		t.Port = port
	}
	switch {
	case proto != "":
	case svcProto != "":
		proto = svcProto
	case t.Port != 0:
		proto = plan.TCP
	default:
		proto = plan.ICMP
	}
	switch proto {
	case plan.TCP, plan.UDP, plan.HTTP, plan.ICMP:
	default:
		return plan.Probe{}, fmt.Errorf("protocol %q: use tcp, udp, http or icmp", proto)
	}
	if proto == plan.ICMP {
		t.Port = 0
	} else if t.Port == 0 {
		return plan.Probe{}, fmt.Errorf("target %q has no port: add :PORT or --port", to)
	}
	return plan.Probe{Name: "trace", From: from, To: t, Protocol: proto, Count: 1,
		Timeout: plan.Duration(time.Second), Expect: plan.Expect{Reach: plan.ReachAnswered}}, nil
}
