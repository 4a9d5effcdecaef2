package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
)

// Outcome is how a call to an agent ended. Probes assert on it ("must NOT reach
// (refused|timeout|blocked)"), so each kernel failure maps to exactly one value.
type Outcome string

const (
	// Answered: an agent answered (check Answer.Error for a rejected request).
	Answered Outcome = "answered"
	// Refused: the target said no one listens: a TCP RST to the SYN or an ICMP
	// port unreachable (ECONNREFUSED). A closed port, or iptables REJECT with its
	// default icmp-port-unreachable or with tcp-reset.
	Refused Outcome = "refused"
	// Timeout: nothing came back in time, typically a DROP somewhere on the path.
	Timeout Outcome = "timeout"
	// Unreachable: no route, no neighbour, or an ICMP host/net unreachable or
	// admin-prohibited (EHOSTUNREACH, ENETUNREACH), e.g. iptables REJECT
	// --reject-with icmp-host-prohibited.
	Unreachable Outcome = "unreachable"
	// Blocked: the client host's own firewall refused to send (EPERM, EACCES),
	// which is what a DROP in the sender's OUTPUT chain looks like to UDP and ICMP.
	// TCP never sees it: connect keeps retrying the dropped SYN, so it is a Timeout.
	Blocked Outcome = "blocked"
	// Reset: an established connection was reset (ECONNRESET, EPIPE).
	Reset Outcome = "reset"
	// Closed: the peer closed the connection without answering.
	Closed Outcome = "closed"
	// Failed: anything else (a malformed answer, a cancelled probe, a bad target).
	Failed Outcome = "failed"
)

// Error is a failed call to an agent: what was tried, at which step, and how it
// ended. Ask and Session return it for every failure.
type Error struct {
	Outcome  Outcome
	Protocol Protocol
	Target   string
	// Op is the step that failed: "dial", "send", "receive" or "decode".
	Op  string
	Err error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s %s: %s: %s (%s)", e.Protocol, e.Target, e.Op, e.Err, e.Outcome)
}

func (e *Error) Unwrap() error { return e.Err }

// Classify says how a call ended: Answered for nil, the Outcome of an *Error, and
// for any other error the Outcome its cause maps to.
func Classify(err error) Outcome {
	if err == nil {
		return Answered
	}
	var agentErr *Error
	if errors.As(err, &agentErr) {
		return agentErr.Outcome
	}
	return classifyCause(err)
}

func classifyCause(err error) Outcome {
	var netErr net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return Refused
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return Unreachable
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EACCES):
		return Blocked
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return Reset
	case errors.Is(err, syscall.ETIMEDOUT), errors.Is(err, context.DeadlineExceeded):
		return Timeout
	case errors.As(err, &netErr) && netErr.Timeout():
		return Timeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return Closed
	}
	return Failed
}

// callError wraps a failure of one step of a call to target.
func callError(protocol Protocol, target, op string, err error) *Error {
	var already *Error
	if errors.As(err, &already) {
		return already
	}
	return &Error{Outcome: classifyCause(err), Protocol: protocol, Target: target, Op: op, Err: err}
}
