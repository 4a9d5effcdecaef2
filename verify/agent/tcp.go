package agent

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// answerWriteTimeout bounds writing one answer, so a client that stops reading
// does not hold a goroutine until shutdown.
const answerWriteTimeout = 10 * time.Second

// tcpEndpoint serves line-delimited JSON requests on a TCP listener.
// Connections that start with an HTTP request go to an HTTP server (tcp_http.go).
type tcpEndpoint struct {
	host     *host
	listener Listener
	ln       net.Listener
	handoff  *handoffListener
	http     *httpEndpoint
}

func openTCP(h *host, l Listener) (*tcpEndpoint, error) {
	ln, err := net.Listen("tcp", l.bindAddress())
	if err != nil {
		return nil, err
	}
	handoff := newHandoffListener(ln.Addr())
	httpListener := Listener{Port: l.Port, Protocol: HTTP, Address: l.Address}
	return &tcpEndpoint{host: h, listener: l, ln: ln, handoff: handoff, http: newHTTPEndpoint(h, httpListener, handoff)}, nil
}

func (e *tcpEndpoint) close() {
	e.ln.Close()
	e.http.close()
}

func (e *tcpEndpoint) serve(s *server) error {
	s.wg.Go(func() {
		if err := e.http.serve(s); err != nil && s.ctx.Err() == nil {
			s.fail(err)
		}
	})
	return s.acceptLoop(e.host, e.listener, e.ln, func(conn net.Conn) { e.converse(s, conn) })
}

// converse answers every request line of one connection until the client closes
// it. A line that is not a request gets an error answer; the conversation goes on.
func (e *tcpEndpoint) converse(s *server, conn net.Conn) {
	x := exchange{protocol: TCP, local: conn.LocalAddr().String(), remote: conn.RemoteAddr().String()}
	reader := bufio.NewReader(conn)
	if speaksHTTP(reader) {
		e.handOver(s, newPeekedConn(conn, reader))
		return
	}
	for {
		line, readErr := readLine(reader, MaxRequestBytes)
		if errors.Is(readErr, errLineTooLong) {
			tooLong := fmt.Errorf("bad request: line longer than %d bytes; closing the connection", MaxRequestBytes)
			writeLine(conn, e.host.reject(x, tooLong))
			return
		}
		if readErr != nil && !errors.Is(readErr, io.EOF) {
			return
		}
		// A last request without a newline before the client's FIN is still
		// answered: `printf '{"v":1}' | nc` should work.
		if line = bytes.TrimSpace(line); len(line) > 0 {
			var ans Answer
			if req, err := decodeRequest(line); err != nil {
				ans = e.host.reject(x, err)
			} else {
				ans = e.host.answer(s.ctx, x, req)
			}
			if writeLine(conn, ans) != nil {
				return
			}
		}
		if readErr != nil {
			return
		}
	}
}

var errLineTooLong = errors.New("line too long")

// readLine reads up to and including the next newline, or up to the end of the
// stream. The buffer of r only needs to hold a typical line (a few hundred
// bytes), not the longest allowed: many sessions stay open for long.
func readLine(r *bufio.Reader, limit int) ([]byte, error) {
	var long []byte
	for {
		chunk, err := r.ReadSlice('\n')
		if len(long)+len(chunk) > limit {
			return nil, errLineTooLong
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			// No newline yet: at the limit already, the line is too long
			// whatever follows.
			if long = append(long, chunk...); len(long) >= limit {
				return nil, errLineTooLong
			}
			continue
		}
		if long == nil {
			return chunk, err
		}
		return append(long, chunk...), err
	}
}

func writeLine(conn net.Conn, ans Answer) error {
	conn.SetWriteDeadline(time.Now().Add(answerWriteTimeout))
	_, err := conn.Write(append(encodeAnswer(ans), '\n'))
	return err
}
