package topo

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"

	"github.com/labctl/labctl/topo/plan"
	"github.com/labctl/labctl/topo/rules"
)

// finishNamespace fills what is configured inside a namespace once every segment has
// its addresses: loopback addresses, routes, sysctls, rules, commands and servers.
func (b *builder) finishNamespace(h *hostState) {
	ns := h.ns
	if h.kind == plan.KindNetwork {
		// A segment is a switch: bridged frames must not go through this namespace's
		// (empty) iptables and conntrack.
		ns.Sysctls = []plan.Sysctl{{Key: "net.bridge.bridge-nf-call-iptables", Value: "0"}}
		return
	}
	spec := h.spec
	sysctls := map[string]string{}
	if len(ns.Bridges) > 0 {
		// As on a Kubernetes node (br_netfilter): bridged Pod traffic goes through
		// iptables, so Service DNAT is undone on replies between Pods of one bridge.
		sysctls["net.bridge.bridge-nf-call-iptables"] = "1"
	}
	if spec.Forwarding {
		sysctls["net.ipv4.ip_forward"] = "1"
		if b.lab.Options.IPv6 {
			sysctls["net.ipv6.conf.all.forwarding"] = "1"
		}
	}
	b.userSysctls(h, sysctls)
	for _, k := range sortedKeys(sysctls) {
		ns.Sysctls = append(ns.Sysctls, plan.Sysctl{Key: k, Value: sysctls[k]})
	}
	for i, s := range spec.Loopback {
		if p, ok := b.hostPrefix(s); ok {
			ns.Loopback = append(ns.Loopback, p)
		} else {
			b.r.add(spec.At("loopback"), "write an IP (a /32) or IP/length", "host %s: loopback[%d]: %q is not an address", h.name, i, s)
		}
	}
	for i := range spec.Routes {
		if r, ok := b.route(h, &spec.Routes[i]); ok {
			ns.Routes = append(ns.Routes, r)
		}
	}
	b.hostRules(h)
	for _, c := range spec.Commands {
		if strings.TrimSpace(c.Run) == "" {
			b.r.add(c.Pos(), "write the shell command to run", "host %s: empty command", h.name)
			continue
		}
		ns.Commands = append(ns.Commands, plan.Command{Run: c.Run, Background: c.Background, Line: c.Pos().Line})
	}
	b.servers(h)
}

var sysctlKey = regexp.MustCompile(`^net\.[a-z0-9_.\-]+$`)

func (b *builder) userSysctls(h *hostState, into map[string]string) {
	for _, k := range sortedKeys(h.spec.Sysctls) {
		v := h.spec.Sysctls[k]
		key := strings.ReplaceAll(k, "/", ".")
		switch {
		case !strings.HasPrefix(key, "net."):
			b.r.add(h.spec.At("sysctls"), "only net.* sysctls belong to a network namespace; labctl never changes machine-wide settings", "host %s: sysctl %s is not a network namespace setting", h.name, k)
		case !sysctlKey.MatchString(key):
			b.r.add(h.spec.At("sysctls"), "write it as in sysctl -a, e.g. net.ipv4.conf.all.rp_filter", "host %s: sysctl name %q is not valid", h.name, k)
		case strings.TrimSpace(v) == "":
			b.r.add(h.spec.At("sysctls"), "give it a value", "host %s: sysctl %s has no value", h.name, k)
		default:
			into[key] = strings.TrimSpace(v)
		}
	}
}

// hostPrefix parses an address that may omit its length (a single host address).
func (b *builder) hostPrefix(s string) (netip.Prefix, bool) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p, true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}

func (b *builder) hostRules(h *hostState) {
	text := h.spec.IPTables
	if strings.TrimSpace(text) == "" {
		h.ns.Rules = h.base
		return
	}
	at := h.spec.At("iptables")
	locate := func(textLine int) (int, int) { return at.Line + textLine, at.Col }
	rs, problems := rules.Parse(text, locate, h.base)
	for _, p := range problems {
		b.r.problems = append(b.r.problems, Problem{File: b.r.file, Pos: Pos{p.Line, p.Col}, Msg: fmt.Sprintf("host %s: iptables: %s", h.name, p.Msg), Hint: p.Hint})
	}
	h.ns.Rules = rs
}

func (b *builder) servers(h *hostState) {
	seen := map[string]bool{}
	for _, s := range h.spec.Servers {
		proto := cmpOr(s.Protocol, "tcp")
		switch {
		case s.Port < 1 || s.Port > 65535:
			b.r.add(s.Pos(), "use a port between 1 and 65535", "host %s: server port %d is out of range", h.name, s.Port)
			continue
		case !slices.Contains([]string{"tcp", "udp", "http"}, proto):
			b.r.add(s.At("protocol"), "use tcp, udp or http", "host %s: server protocol %q is not supported", h.name, s.Protocol)
			continue
		case s.ProxyTo != "" && proto != "http":
			b.r.add(s.At("proxyTo"), "set protocol: http", "host %s: proxyTo needs an http server", h.name)
			continue
		}
		if s.ProxyTo != "" {
			if _, err := netip.ParseAddrPort(s.ProxyTo); err != nil {
				b.r.add(s.At("proxyTo"), "write ip:port, e.g. 10.96.0.10:80", "host %s: proxyTo %q is not ip:port", h.name, s.ProxyTo)
				continue
			}
		}
		// http listens on TCP, so it shares TCP's port space.
		space := proto
		if proto == "http" {
			space = "tcp"
		}
		key := fmt.Sprintf("%d/%s", s.Port, space)
		if seen[key] {
			b.r.add(s.Pos(), "each port serves one protocol", "host %s: port %s is declared twice", h.name, key)
			continue
		}
		seen[key] = true
		h.ns.Servers = append(h.ns.Servers, plan.Server{Port: s.Port, Protocol: proto, ProxyTo: s.ProxyTo})
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
