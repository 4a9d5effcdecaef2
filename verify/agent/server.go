package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Main runs the agent of `labctl agent`: it loads the config file, serves until ctx
// is done, and, when readyFD > 0, writes one byte to that file descriptor and
// closes it once every listener is open. The parent (`labctl up`) reads the other
// end of that pipe: one byte means "listening", end of file without a byte means
// the agent failed (its error is on stderr).
func Main(ctx context.Context, configPath string, readyFD int) error {
	var readyPipe *os.File
	if readyFD > 0 {
		if _, err := unix.FcntlInt(uintptr(readyFD), unix.F_GETFD, 0); err != nil {
			return fmt.Errorf("ready pipe: file descriptor %d: %w; `labctl up` passes it, do not set it by hand", readyFD, err)
		}
		readyPipe = os.NewFile(uintptr(readyFD), "ready pipe")
		// Closed on every path, so the parent never waits for a byte that
		// will not come.
		defer readyPipe.Close()
	}
	cfg, err := LoadConfig(configPath)
	if err != nil {
		return err
	}
	var readyErr error
	err = Serve(ctx, cfg, func() {
		if readyPipe == nil {
			return
		}
		if _, readyErr = readyPipe.Write([]byte{1}); readyErr == nil {
			readyErr = readyPipe.Close()
		}
	})
	if readyErr != nil {
		return errors.Join(err, fmt.Errorf("ready pipe (fd %d): %w: `labctl up` may not know the agent listens", readyFD, readyErr))
	}
	return err
}

// Serve opens every listener of cfg, each in its host's network namespace, calls
// ready once all are open, serves until ctx is done, then closes every listener
// and connection and returns. It opens nothing if the config is invalid, and
// serves nothing if any listener cannot be opened: the error lists every failure.
// It returns early with an error if a listener fails while serving.
func Serve(ctx context.Context, cfg Config, ready func()) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("agent config: %w", err)
	}
	var spaces namespaces
	defer spaces.closeAll()
	endpoints, err := openAll(cfg, &spaces)
	if err != nil {
		return err
	}
	srv := newServer(ctx)
	for _, e := range endpoints {
		srv.goServe(e)
	}
	if ready != nil {
		ready()
	}
	<-srv.ctx.Done()
	for _, e := range endpoints {
		e.close()
	}
	srv.closeConns()
	srv.wg.Wait()
	return srv.failure()
}

// endpoint is one open listener.
type endpoint interface {
	// serve answers until the endpoint is closed; an error means it broke.
	serve(s *server) error
	close()
}

// host is a lab host as the running agent knows it.
type host struct {
	name   string
	dialer *NetNSDialer // dials from the host's namespace, for relays
}

// maxReportedFailures caps the listing of failed listeners: a missing namespace
// directory would otherwise list every host of a large lab.
const maxReportedFailures = 20

func openAll(cfg Config, spaces *namespaces) ([]endpoint, error) {
	var endpoints []endpoint
	var failures []error
	for _, hc := range cfg.Hosts {
		netns, err := spaces.open(hc.NetNS)
		if err != nil {
			failures = append(failures, fmt.Errorf("host %s: %w", hc.Name, err))
			continue
		}
		h := &host{name: hc.Name, dialer: &NetNSDialer{NetNS: netns}}
		err = inNetNS(netns, func() error {
			for _, l := range hc.Listeners {
				e, err := openEndpoint(h, l)
				if err != nil {
					failures = append(failures, fmt.Errorf("host %s: %s: %w", h.name, l, err))
					continue
				}
				endpoints = append(endpoints, e)
			}
			return nil
		})
		if err != nil {
			failures = append(failures, fmt.Errorf("host %s: enter network namespace %s: %w", hc.Name, hc.NetNS, err))
		}
	}
	if len(failures) == 0 {
		return endpoints, nil
	}
	for _, e := range endpoints {
		e.close()
	}
	if len(failures) > maxReportedFailures {
		more := len(failures) - maxReportedFailures
		failures = append(failures[:maxReportedFailures], fmt.Errorf("and %d more", more))
	}
	return nil, fmt.Errorf("agent: cannot open listeners, serving none:\n%w", errors.Join(failures...))
}

// openEndpoint opens one listener in the calling thread's namespace.
func openEndpoint(h *host, l Listener) (endpoint, error) {
	var err error
	var e endpoint
	switch l.Protocol {
	case TCP:
		e, err = openTCP(h, l)
	case UDP:
		e, err = openUDP(h, l)
	case HTTP:
		e, err = openHTTP(h, l)
	}
	if err != nil {
		return nil, fmt.Errorf("%w%s", err, listenHint(err))
	}
	return e, nil
}

func listenHint(err error) string {
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return " (another listener of this host, or another process in its namespace, has this port: give each listener its own port)"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return " (the address is on no interface of this host: fix the listener address or the host's addresses)"
	case errors.Is(err, syscall.EACCES):
		return " (ports below 1024 need root: run labctl as root)"
	}
	return ""
}

func (l Listener) bindAddress() string {
	return net.JoinHostPort(l.Address, fmt.Sprint(l.Port))
}

// server is the running state shared by all endpoints: the serving context,
// open connections (closed on shutdown), and the first serving failure.
type server struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	failErr error
}

func newServer(parent context.Context) *server {
	ctx, cancel := context.WithCancel(parent)
	return &server{ctx: ctx, cancel: cancel, conns: map[net.Conn]struct{}{}}
}

func (s *server) goServe(e endpoint) {
	s.wg.Go(func() {
		if err := e.serve(s); err != nil && s.ctx.Err() == nil {
			s.fail(err)
		}
	})
}

// goConn runs handle for conn in its own goroutine and closes conn afterwards
// or at shutdown, whichever comes first.
func (s *server) goConn(conn net.Conn, handle func(net.Conn)) {
	s.mu.Lock()
	if s.ctx.Err() != nil {
		s.mu.Unlock()
		conn.Close()
		return
	}
	s.conns[conn] = struct{}{}
	s.mu.Unlock()
	s.wg.Go(func() {
		defer func() {
			s.mu.Lock()
			delete(s.conns, conn)
			s.mu.Unlock()
			conn.Close()
		}()
		handle(conn)
	})
}

func (s *server) closeConns() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for conn := range s.conns {
		conn.Close()
	}
}

func (s *server) fail(err error) {
	s.mu.Lock()
	if s.failErr == nil {
		s.failErr = err
	}
	s.mu.Unlock()
	s.cancel()
}

func (s *server) failure() error {
	s.cancel()
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failErr
}

// acceptRetry says whether an Accept error is worth waiting out (out of file
// descriptors or memory for a moment) rather than a broken listener.
func acceptRetry(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM)
}

// acceptLoop accepts connections of ln and hands each to handle in its own
// goroutine, until ln is closed.
func (s *server) acceptLoop(h *host, l Listener, ln net.Listener, handle func(net.Conn)) error {
	for {
		conn, err := ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			if acceptRetry(err) {
				time.Sleep(50 * time.Millisecond)
				continue
			}
			return fmt.Errorf("host %s: %s: accept: %w", h.name, l, err)
		}
		s.goConn(conn, handle)
	}
}
