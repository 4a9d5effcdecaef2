package agent

import (
	"bufio"
	"net"
	"sync"
)

// HTTP on a TCP listener. A Pod declares its container ports as TCP, yet a probe may
// speak HTTP to them (as a browser or an ingress controller would), so the TCP
// listener looks at the first bytes of each connection: an HTTP method makes it an
// HTTP conversation, served exactly like an http listener's; anything else (a JSON
// request starts with '{') keeps the line protocol.

// httpMethods are the request methods a TCP listener recognises.
var httpMethods = map[string]bool{
	"GET": true, "HEAD": true, "POST": true, "PUT": true, "DELETE": true,
	"OPTIONS": true, "PATCH": true, "CONNECT": true, "TRACE": true,
}

// speaksHTTP reports whether the connection starts with "METHOD ". It only waits for
// more bytes while they could still be an HTTP method, so a short line-protocol
// request, which starts with '{', is never held up.
func speaksHTTP(r *bufio.Reader) bool {
	const longest = len("OPTIONS ")
	for n := 1; n <= longest; n++ {
		b, err := r.Peek(n)
		if err != nil {
			return false
		}
		c := b[n-1]
		switch {
		case c == ' ':
			return httpMethods[string(b[:n-1])]
		case c < 'A' || c > 'Z':
			return false
		}
	}
	return false
}

// peekedConn is a connection whose first bytes sit in r; Close tells the TCP
// listener's conversation that the HTTP server is done with it.
type peekedConn struct {
	net.Conn
	r    *bufio.Reader
	once sync.Once
	done chan struct{}
}

func newPeekedConn(conn net.Conn, r *bufio.Reader) *peekedConn {
	return &peekedConn{Conn: conn, r: r, done: make(chan struct{})}
}

func (c *peekedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c *peekedConn) Close() error {
	c.once.Do(func() { close(c.done) })
	return c.Conn.Close()
}

// handoffListener is the net.Listener of the HTTP server behind a TCP listener: it
// accepts the connections the TCP listener hands over.
type handoffListener struct {
	addr   net.Addr
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
}

func newHandoffListener(addr net.Addr) *handoffListener {
	return &handoffListener{addr: addr, conns: make(chan net.Conn), closed: make(chan struct{})}
}

func (l *handoffListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.closed:
		return nil, net.ErrClosed
	}
}

func (l *handoffListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *handoffListener) Addr() net.Addr { return l.addr }

// handOver gives conn to the HTTP server and waits until the server closed it or the
// agent stops.
func (e *tcpEndpoint) handOver(s *server, conn *peekedConn) {
	select {
	case e.handoff.conns <- conn:
	case <-e.handoff.closed:
		return
	case <-s.ctx.Done():
		return
	}
	select {
	case <-conn.done:
	case <-s.ctx.Done():
	}
}
