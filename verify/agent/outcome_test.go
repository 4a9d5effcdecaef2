package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func errorAs(err error, target **Error) bool { return errors.As(err, target) }

func TestClassifyKernelErrors(t *testing.T) {
	opErr := func(errno syscall.Errno) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", errno)}
	}
	tests := []struct {
		err  error
		want Outcome
	}{
		{nil, Answered},
		{opErr(syscall.ECONNREFUSED), Refused},
		{opErr(syscall.EHOSTUNREACH), Unreachable},
		{opErr(syscall.ENETUNREACH), Unreachable},
		{opErr(syscall.EPERM), Blocked},
		{opErr(syscall.ECONNRESET), Reset},
		{opErr(syscall.EPIPE), Reset},
		{opErr(syscall.ETIMEDOUT), Timeout},
		{&net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}, Timeout},
		{fmt.Errorf("wrapped: %w", context.DeadlineExceeded), Timeout},
		{io.EOF, Closed},
		{context.Canceled, Failed},
		{errors.New("something else"), Failed},
		{&Error{Outcome: Refused, Err: errors.New("x")}, Refused},
		{fmt.Errorf("probe: %w", &Error{Outcome: Reset, Err: errors.New("x")}), Reset},
	}
	for _, tt := range tests {
		if got := Classify(tt.err); got != tt.want {
			t.Errorf("Classify(%v) = %s, want %s", tt.err, got, tt.want)
		}
	}
}

// fullBacklogListener is a TCP listener whose accept queue is full, so the kernel
// drops further SYNs: a connect to it times out, as through a DROP rule.
func fullBacklogListener(t *testing.T) string {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", sa.(*unix.SockaddrInet4).Port)
	// With a backlog of 0, one connection waiting to be accepted fills the queue.
	filler, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { filler.Close() })
	return addr
}

// misbehavingServer accepts TCP connections, reads one request line, and then
// does what misbehave says.
func misbehavingServer(t *testing.T, misbehave func(*net.TCPConn)) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 4096)
			conn.Read(buf)
			misbehave(conn.(*net.TCPConn))
		}
	}()
	return ln.Addr().String()
}

func TestOutcomesOnLoopback(t *testing.T) {
	silentUDP, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silentUDP.Close()
	tests := []struct {
		name   string
		to     Hop
		want   Outcome
		wantOp string
	}{
		{"tcp closed port", Hop{Target: loopback(freePort(t)), Protocol: TCP}, Refused, "dial"},
		{"http closed port", Hop{Target: loopback(freePort(t)), Protocol: HTTP}, Refused, "dial"},
		{"udp closed port (ICMP port unreachable)", Hop{Target: loopback(freePort(t)), Protocol: UDP}, Refused, "receive"},
		{"udp nobody answers", Hop{Target: silentUDP.LocalAddr().String(), Protocol: UDP, TimeoutMS: 200}, Timeout, "receive"},
		{"tcp SYN dropped", Hop{Target: fullBacklogListener(t), Protocol: TCP, TimeoutMS: 300}, Timeout, "dial"},
		{"tcp accepted, never answered", Hop{Target: misbehavingServer(t, func(c *net.TCPConn) {
			// Hold the connection open, unanswered, until the client leaves.
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}), Protocol: TCP, TimeoutMS: 200}, Timeout, "receive"},
		{"tcp reset", Hop{Target: misbehavingServer(t, func(c *net.TCPConn) {
			c.SetLinger(0)
			c.Close()
		}), Protocol: TCP}, Reset, "receive"},
		{"tcp closed without answer", Hop{Target: misbehavingServer(t, func(c *net.TCPConn) { c.Close() }), Protocol: TCP}, Closed, "receive"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			// No deadline: Ask must bound itself by the hop's budget.
			_, _, err := Ask(context.Background(), &net.Dialer{}, tt.to, Request{})
			if got := outcomeOf(t, err); got != tt.want {
				t.Fatalf("outcome %s (%v), want %s", got, err, tt.want)
			}
			var agentErr *Error
			errorAs(err, &agentErr)
			if agentErr.Op != tt.wantOp || agentErr.Target != tt.to.Target || agentErr.Protocol != tt.to.Protocol {
				t.Errorf("error %+v, want op %s for %s", agentErr, tt.wantOp, tt.to)
			}
			if elapsed := time.Since(start); elapsed > Budget(tt.to)+time.Second {
				t.Errorf("took %v, want at most the budget %v", elapsed, Budget(tt.to))
			}
		})
	}
}

func TestAskRejectsUnknownProtocol(t *testing.T) {
	_, _, err := Ask(t.Context(), &net.Dialer{}, Hop{Target: "127.0.0.1:1", Protocol: "sctp"}, Request{})
	if outcomeOf(t, err) != Failed {
		t.Errorf("error %v, want a failure", err)
	}
}
