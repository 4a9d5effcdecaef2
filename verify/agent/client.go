package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Ask sends req to the agent at to and returns its Answer and the round-trip time
// (from before the dial to the answer). The socket is created by d.DialContext in
// the calling goroutine before anything else, so a Dialer that relies on the
// calling OS thread's namespace works. Ask waits until ctx is done or, if ctx has
// no deadline, for Budget of the hop and the relay.
//
// An agent that answered is a nil error, even if Answer.Error says it rejected
// the request. Every failure is an *Error; Classify tells refused, timeout,
// unreachable, blocked, reset and closed apart.
func Ask(ctx context.Context, d Dialer, to Hop, req Request) (Answer, time.Duration, error) {
	if !to.Protocol.valid() {
		return Answer{}, 0, &Error{Outcome: Failed, Protocol: to.Protocol, Target: to.Target, Op: "dial",
			Err: errors.New("protocol must be tcp, udp or http")}
	}
	req = stamp(req)
	ctx, cancel := withBudget(ctx, to, req)
	defer cancel()
	start := time.Now()
	conn, err := dialHop(ctx, d, to)
	if err != nil {
		return Answer{}, time.Since(start), err
	}
	defer conn.Close()
	stop := abortOnDone(ctx, conn)
	defer stop()
	var ans Answer
	switch to.Protocol {
	case TCP:
		s := newSession(conn, to.Target)
		ans, err = s.exchange(req)
	case UDP:
		ans, err = exchangeUDP(conn, to, req)
	case HTTP:
		ans, err = exchangeHTTP(conn, to, req)
	}
	rtt := time.Since(start)
	if err != nil {
		return Answer{}, rtt, err
	}
	ans.Target, ans.Outcome = to.Target, Answered
	return ans, rtt, nil
}

// requestCounter numbers requests so that answers can be matched to them.
var requestCounter atomic.Uint64

// stamp fills in the protocol version and, if missing, a request ID.
func stamp(req Request) Request {
	req.V = Version
	if req.ID == "" {
		req.ID = strconv.FormatUint(requestCounter.Add(1), 36)
	}
	return req
}

func withBudget(ctx context.Context, to Hop, req Request) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, Budget(append([]Hop{to}, req.Relay...)...))
}

// dialHop connects to a hop, giving up after the hop's timeout.
func dialHop(ctx context.Context, d Dialer, to Hop) (net.Conn, error) {
	dialCtx, cancel := context.WithTimeout(ctx, to.Timeout())
	defer cancel()
	conn, err := d.DialContext(dialCtx, to.Protocol.network(), to.Target)
	if err != nil {
		return nil, callError(to.Protocol, to.Target, "dial", err)
	}
	return conn, nil
}

// abortOnDone makes conn's reads and writes fail once ctx is done: at its
// deadline, as a timeout, or at once if it is cancelled.
func abortOnDone(ctx context.Context, conn net.Conn) (stop func() bool) {
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	return context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
}

func exchangeUDP(conn net.Conn, to Hop, req Request) (Answer, error) {
	data, _ := json.Marshal(req)
	if _, err := conn.Write(data); err != nil {
		return Answer{}, callError(UDP, to.Target, "send", err)
	}
	buf := make([]byte, 64<<10)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return Answer{}, callError(UDP, to.Target, "receive", err)
		}
		var ans Answer
		if err := json.Unmarshal(buf[:n], &ans); err != nil {
			return Answer{}, callError(UDP, to.Target, "decode", fmt.Errorf("datagram is not a labctl answer: %w: %q", err, clip(buf[:n])))
		}
		// An answer to an earlier request on this socket: not ours.
		if ans.ID == req.ID || ans.ID == "" {
			return ans, nil
		}
	}
}

// Session is one TCP connection to an agent, for several requests: every
// request travels in the same connection, so it shows what conntrack keeps for
// an established flow (its original NAT) after the rules change. A Session may be
// used by several goroutines; requests are sent one after the other.
type Session struct {
	mu      sync.Mutex
	conn    net.Conn
	target  string
	pending []byte // received bytes not yet part of a complete answer line
	buf     []byte
}

// Open connects a Session to the agent at target ("ip:port" of a TCP listener).
// It gives up at ctx's deadline, or after DefaultHopTimeout without one.
func Open(ctx context.Context, d Dialer, target string) (*Session, error) {
	conn, err := dialHop(ctx, d, Hop{Target: target, Protocol: TCP})
	if err != nil {
		return nil, err
	}
	return newSession(conn, target), nil
}

func newSession(conn net.Conn, target string) *Session {
	return &Session{conn: conn, target: target, buf: make([]byte, 4<<10)}
}

// LocalAddr is the client side of the connection, the original source of the flow.
func (s *Session) LocalAddr() net.Addr { return s.conn.LocalAddr() }

// Close closes the connection.
func (s *Session) Close() error { return s.conn.Close() }

// Ask sends req and waits for its answer, at most until ctx is done or, without a
// deadline, for Budget of the session's hop and req's relay. The round-trip time
// excludes the dial. A request that timed out does not spoil the session: its late
// answer is skipped by the next Ask.
func (s *Session) Ask(ctx context.Context, req Request) (Answer, time.Duration, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	req = stamp(req)
	ctx, cancel := withBudget(ctx, Hop{Target: s.target, Protocol: TCP}, req)
	defer cancel()
	stop := abortOnDone(ctx, s.conn)
	defer func() {
		stop()
		s.conn.SetDeadline(time.Time{})
	}()
	start := time.Now()
	ans, err := s.exchange(req)
	rtt := time.Since(start)
	if err != nil {
		return Answer{}, rtt, err
	}
	ans.Target, ans.Outcome = s.target, Answered
	return ans, rtt, nil
}

// exchange sends one request line and reads answer lines until the one for it.
func (s *Session) exchange(req Request) (Answer, error) {
	data, _ := json.Marshal(req)
	if _, err := s.conn.Write(append(data, '\n')); err != nil {
		return Answer{}, callError(TCP, s.target, "send", err)
	}
	for {
		line, err := s.readLine()
		if err != nil {
			return Answer{}, callError(TCP, s.target, "receive", err)
		}
		var ans Answer
		if err := json.Unmarshal(line, &ans); err != nil {
			return Answer{}, callError(TCP, s.target, "decode", fmt.Errorf("line is not a labctl answer: %w: %q", err, clip(line)))
		}
		// An answer without ID is the agent rejecting a request it could not
		// read, which can only be ours.
		if ans.ID == req.ID || ans.ID == "" {
			return ans, nil
		}
	}
}

func (s *Session) readLine() ([]byte, error) {
	for {
		if i := bytes.IndexByte(s.pending, '\n'); i >= 0 {
			line := s.pending[:i]
			s.pending = s.pending[i+1:]
			return line, nil
		}
		if len(s.pending) > MaxAnswerBytes {
			return nil, fmt.Errorf("answer longer than %d bytes", MaxAnswerBytes)
		}
		n, err := s.conn.Read(s.buf)
		s.pending = append(s.pending, s.buf[:n]...)
		if err != nil {
			return nil, err
		}
	}
}

// clip shortens data for an error message.
func clip(data []byte) []byte {
	if len(data) > 200 {
		return data[:200]
	}
	return data
}
