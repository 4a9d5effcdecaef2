package verify

import (
	"strings"

	"github.com/labctl/labctl/topo/plan"
)

// DefaultMaxTraces is how many failed probes one run traces.
//
// A trace sends the probe once more and dumps conntrack in every host of the lab, and
// each dump walks the machine-wide conntrack hash (262,144 buckets here) whatever the
// namespace: when hundreds of probes fail, tracing them all took minutes, 46 % of the
// CPU in ctnetlink_dump_table. The first few traces say where things break; the rest
// are one labctl trace away.
const DefaultMaxTraces = 5

// traceCommand is the labctl trace command that sends probe p of the lab once and
// shows where it went.
func traceCommand(lab string, p plan.Probe) string {
	to := p.To.Written
	if to == "" {
		to = p.To.AddrPort()
	}
	args := []string{"labctl", "trace", lab, p.From, to}
	if p.Protocol != "" {
		args = append(args, "--proto", p.Protocol)
	}
	for i, a := range args {
		args[i] = shellQuote(a)
	}
	return strings.Join(args, " ")
}

// shellQuote quotes a word for a POSIX shell when it needs it ([fd00::1]:80 would
// otherwise be a glob), so the command can be pasted as it is.
func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n'\"\\$`!*?[]{}()<>|&;#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
