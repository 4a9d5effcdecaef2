package agent

import (
	"context"
	"encoding/json"
)

// exchange describes one request as the listener saw it.
type exchange struct {
	protocol Protocol
	local    string // the listener socket's local ip:port for this request
	remote   string // the client's ip:port
}

// answer is h's Answer to req, with the relay's result when req asks for one.
func (h *host) answer(ctx context.Context, x exchange, req Request) Answer {
	ans := h.baseAnswer(x)
	ans.ID = req.ID
	if len(req.Relay) > 0 {
		ans.Hops = []Answer{h.relay(ctx, req)}
	}
	return ans
}

// reject is h's Answer to a request it could not parse or accept: it still says
// who answered and the addresses seen, which is often what the sender wanted.
func (h *host) reject(x exchange, err error) Answer {
	ans := h.baseAnswer(x)
	ans.Error = err.Error()
	return ans
}

func (h *host) baseAnswer(x exchange) Answer {
	return Answer{V: Version, Host: h.name, Protocol: x.protocol, Local: x.local, Remote: x.remote}
}

// relay calls the first hop of req.Relay from h's namespace with the rest of the
// relay, and returns what came back or why nothing did. It waits at most the
// Budget of the hops left, which is shorter than what whoever asked h waits, so a
// failure further down is reported rather than timed out.
func (h *host) relay(ctx context.Context, req Request) Answer {
	next := req.Relay[0]
	forward := Request{V: Version, ID: req.ID, Relay: req.Relay[1:]}
	ctx, cancel := context.WithTimeout(ctx, Budget(req.Relay...))
	defer cancel()
	ans, _, err := Ask(ctx, h.dialer, next, forward)
	if err != nil {
		return Answer{
			V:        Version,
			ID:       req.ID,
			Protocol: next.Protocol,
			Target:   next.Target,
			Outcome:  Classify(err),
			Error:    err.Error(),
		}
	}
	return ans
}

// encodeAnswer renders ans for the wire. An Answer holds only strings, numbers
// and nested Answers, so encoding cannot fail.
func encodeAnswer(ans Answer) []byte {
	data, err := json.Marshal(ans)
	if err != nil {
		panic("agent: encode answer: " + err.Error())
	}
	return data
}
