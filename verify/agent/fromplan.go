package agent

import (
	"path/filepath"

	"github.com/labctl/labctl/topo/plan"
)

// ConfigFor returns the agent configuration of a plan: every namespace that declares
// servers, with its listeners. netnsDir is where the plan's namespaces are mounted.
func ConfigFor(p *plan.Plan, netnsDir string) Config {
	var cfg Config
	for _, n := range p.Namespaces {
		if len(n.Servers) == 0 {
			continue
		}
		h := Host{Name: n.Name, NetNS: filepath.Join(netnsDir, n.NetNS)}
		for _, s := range n.Servers {
			h.Listeners = append(h.Listeners, Listener{Port: s.Port, Protocol: Protocol(s.Protocol), ProxyTo: s.ProxyTo})
		}
		cfg.Hosts = append(cfg.Hosts, h)
	}
	return cfg
}
