package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// HostHeader is the response header naming the answering host, so a client learns
// who answered even when the status allows no body (204, 304).
const HostHeader = "X-Labctl-Host"

// httpEndpoint answers HTTP requests, or proxies them when the listener has a
// ProxyTo.
type httpEndpoint struct {
	host     *host
	listener Listener
	ln       net.Listener
	srv      *http.Server
}

func openHTTP(h *host, l Listener) (*httpEndpoint, error) {
	ln, err := net.Listen("tcp", l.bindAddress())
	if err != nil {
		return nil, err
	}
	return newHTTPEndpoint(h, l, ln), nil
}

// newHTTPEndpoint serves HTTP on ln, which a TCP listener may also feed with the
// connections it found to speak HTTP.
func newHTTPEndpoint(h *host, l Listener, ln net.Listener) *httpEndpoint {
	e := &httpEndpoint{host: h, listener: l, ln: ln}
	var handler http.Handler = http.HandlerFunc(e.answerHTTP)
	if l.ProxyTo != "" {
		handler = e.proxy()
	}
	e.srv = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		// Keep net/http's complaints about broken clients (which probes
		// produce on purpose) out of the agent's log.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	return e
}

func (e *httpEndpoint) close() { e.srv.Close() }

func (e *httpEndpoint) serve(s *server) error {
	e.srv.BaseContext = func(net.Listener) context.Context { return s.ctx }
	err := e.srv.Serve(e.ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("host %s: %s: %w", e.host.name, e.listener, err)
}

func (e *httpEndpoint) exchange(r *http.Request) exchange {
	x := exchange{protocol: HTTP, remote: r.RemoteAddr}
	if local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
		x.local = local.String()
	}
	return x
}

// answerHTTP answers with the Answer as JSON; see the package documentation.
func (e *httpEndpoint) answerHTTP(w http.ResponseWriter, r *http.Request) {
	x := e.exchange(r)
	status, err := e.status(r.URL.Path)
	var req Request
	if err == nil {
		req, err = readHTTPRequest(w, r)
	}
	var ans Answer
	if err != nil {
		status = http.StatusBadRequest
		ans = e.host.reject(x, err)
	} else {
		ans = e.host.answer(r.Context(), x, req)
	}
	ans.ForwardedFor = strings.Join(r.Header.Values("X-Forwarded-For"), ", ")
	ans.HTTPHost = r.Host
	ans.Status = status
	writeHTTPAnswer(w, e.host.name, ans)
}

// status is the status to answer for path: NNN for /status/NNN, else the
// listener's.
func (e *httpEndpoint) status(path string) (int, error) {
	digits, ok := strings.CutPrefix(path, "/status/")
	if !ok {
		if e.listener.Status != 0 {
			return e.listener.Status, nil
		}
		return http.StatusOK, nil
	}
	code, err := strconv.Atoi(strings.TrimSuffix(digits, "/"))
	if err != nil || code < 200 || code > 599 {
		return 0, fmt.Errorf("bad request: path %s: want /status/NNN with NNN in 200..599", path)
	}
	return code, nil
}

// readHTTPRequest reads the Request in the body, if there is one.
func readHTTPRequest(w http.ResponseWriter, r *http.Request) (Request, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxRequestBytes))
	if err != nil {
		return Request{}, fmt.Errorf("bad request: body: %w", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return Request{V: Version}, nil
	}
	return decodeRequest(body)
}

func writeHTTPAnswer(w http.ResponseWriter, hostName string, ans Answer) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set(HostHeader, hostName)
	w.WriteHeader(ans.Status)
	// Bodiless statuses (204, 304) refuse the write; the header said enough.
	w.Write(append(encodeAnswer(ans), '\n'))
}

// proxy forwards every request to the listener's upstream from the host's
// namespace, as an ingress controller would: the Host header is kept and the
// client's address is appended to X-Forwarded-For.
func (e *httpEndpoint) proxy() http.Handler {
	upstream := &url.URL{Scheme: "http", Host: e.listener.ProxyTo}
	dialer := &NetNSDialer{NetNS: e.host.dialer.NetNS, Dialer: net.Dialer{Timeout: DefaultHopTimeout}}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(upstream)
			pr.Out.Host = pr.In.Host
			pr.SetXForwarded()
		},
		Transport: &http.Transport{
			DialContext: dialer.DialContext,
			// A new upstream connection per request keeps each request's
			// conntrack entry (and the source port the backend sees) its own.
			DisableKeepAlives:     true,
			ResponseHeaderTimeout: 10 * time.Second,
		},
		ErrorLog: log.New(io.Discard, "", 0),
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			// The upstream is the proxy's next hop: its failure is reported
			// the way a relay reports a failed hop.
			upstreamErr := callError(HTTP, e.listener.ProxyTo, "proxy", err)
			ans := e.host.reject(e.exchange(r), fmt.Errorf("proxy: %w", upstreamErr))
			ans.Hops = []Answer{{V: Version, Protocol: HTTP, Target: e.listener.ProxyTo,
				Outcome: upstreamErr.Outcome, Error: upstreamErr.Error()}}
			ans.ForwardedFor = strings.Join(r.Header.Values("X-Forwarded-For"), ", ")
			ans.HTTPHost = r.Host
			ans.Status = http.StatusBadGateway
			writeHTTPAnswer(w, e.host.name, ans)
		},
	}
}
