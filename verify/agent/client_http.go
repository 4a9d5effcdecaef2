package agent

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
)

// exchangeHTTP sends req as the body of a POST over conn, already connected to
// the hop, and reads the answer. Speaking HTTP over the caller's own connection
// (rather than through an http.Transport, which dials from goroutines of its own)
// keeps the socket in the namespace the caller's Dialer put it in.
func exchangeHTTP(conn net.Conn, to Hop, req Request) (Answer, error) {
	body, _ := json.Marshal(req)
	path := to.Path
	if path == "" {
		path = "/"
	}
	httpReq, err := http.NewRequest(http.MethodPost, "http://"+to.Target+path, bytes.NewReader(body))
	if err != nil {
		return Answer{}, callError(HTTP, to.Target, "send", fmt.Errorf("path %q: %w", to.Path, err))
	}
	if to.Host != "" {
		httpReq.Host = to.Host
	}
	httpReq.Header.Set("Content-Type", "application/json")
	httpReq.Close = true
	if err := httpReq.Write(conn); err != nil {
		return Answer{}, callError(HTTP, to.Target, "send", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), httpReq)
	if err != nil {
		return Answer{}, callError(HTTP, to.Target, "receive", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswerBytes+1))
	if err != nil {
		return Answer{}, callError(HTTP, to.Target, "receive", err)
	}
	if len(data) > MaxAnswerBytes {
		return Answer{}, callError(HTTP, to.Target, "decode", fmt.Errorf("answer longer than %d bytes", MaxAnswerBytes))
	}
	if len(bytes.TrimSpace(data)) == 0 {
		// A bodiless status (204, 304): the header names who answered.
		return Answer{V: Version, ID: req.ID, Host: resp.Header.Get(HostHeader), Protocol: HTTP, Status: resp.StatusCode, Body: data}, nil
	}
	var ans Answer
	if err := json.Unmarshal(data, &ans); err != nil {
		return Answer{}, callError(HTTP, to.Target, "decode",
			fmt.Errorf("HTTP %d with a body that is not a labctl answer (is something else listening?): %q", resp.StatusCode, clip(data)))
	}
	// The status the client got is the one that counts, even if a proxy on the
	// way changed it.
	ans.Status = resp.StatusCode
	ans.Body = data
	return ans, nil
}
