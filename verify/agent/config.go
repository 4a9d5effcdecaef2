package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
)

// Config is what `labctl up` writes for the agent: every host that serves, and
// what it serves.
type Config struct {
	Hosts []Host `json:"hosts"`
}

// Host is one lab host served by the agent.
type Host struct {
	// Name is the lab host name; every Answer from this host carries it.
	Name string `json:"host"`
	// NetNS is the path of the host's network namespace, e.g.
	// /run/netns/lc.lab.web-0. Empty means the agent's own namespace.
	NetNS     string     `json:"netns,omitempty"`
	Listeners []Listener `json:"listeners"`
}

// Listener is one listening socket of a host.
type Listener struct {
	Port     int      `json:"port"`
	Protocol Protocol `json:"protocol"`
	// Address is the IP to bind; empty binds all addresses of the host (for
	// UDP: all IPv4 addresses).
	Address string `json:"address,omitempty"`
	// ProxyTo ("ip:port", HTTP only) makes the listener an L7 proxy to that
	// upstream that appends the client to X-Forwarded-For, like an ingress
	// controller.
	ProxyTo string `json:"proxyTo,omitempty"`
	// Status (HTTP only) is the status code answered when the path does not
	// ask for one; zero means 200.
	Status int `json:"status,omitempty"`
}

func (l Listener) String() string {
	if l.Address != "" {
		return fmt.Sprintf("%s %s", l.Protocol, net.JoinHostPort(l.Address, strconv.Itoa(l.Port)))
	}
	return fmt.Sprintf("%s port %d", l.Protocol, l.Port)
}

// LoadConfig reads and checks a config file.
func LoadConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("agent config: %w", err)
	}
	var cfg Config
	decoder := json.NewDecoder(bytes.NewReader(data))
	decoder.DisallowUnknownFields()
	if err := decoder.Decode(&cfg); err != nil {
		return Config{}, fmt.Errorf("agent config %s: %w (the file is written by `labctl up`; rerun it)", path, err)
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, fmt.Errorf("agent config %s: %w", path, err)
	}
	return cfg, nil
}

// Validate reports every problem of the config at once.
func (c Config) Validate() error {
	var problems []error
	seen := map[string]bool{}
	for i, h := range c.Hosts {
		if h.Name == "" {
			problems = append(problems, fmt.Errorf("host #%d: host name is empty", i+1))
		} else if seen[h.Name] {
			problems = append(problems, fmt.Errorf("host %s: listed twice; list each host once with all its listeners", h.Name))
		}
		seen[h.Name] = true
		for _, l := range h.Listeners {
			if err := l.validate(); err != nil {
				problems = append(problems, fmt.Errorf("host %s: %s port %d: %w", h.Name, l.Protocol, l.Port, err))
			}
		}
	}
	return errors.Join(problems...)
}

func (l Listener) validate() error {
	if l.Port < 1 || l.Port > 65535 {
		return errors.New("port must be 1..65535")
	}
	if !l.Protocol.valid() {
		return fmt.Errorf("protocol %q: must be tcp, udp or http", l.Protocol)
	}
	if l.Address != "" {
		if _, err := netip.ParseAddr(l.Address); err != nil {
			return fmt.Errorf("address %q: not an IP address", l.Address)
		}
	}
	if l.ProxyTo != "" {
		if l.Protocol != HTTP {
			return errors.New("proxyTo is only for http listeners")
		}
		if _, err := netip.ParseAddrPort(l.ProxyTo); err != nil {
			return fmt.Errorf("proxyTo %q: want ip:port", l.ProxyTo)
		}
	}
	if l.Status != 0 {
		if l.Protocol != HTTP {
			return errors.New("status is only for http listeners")
		}
		if l.Status < 200 || l.Status > 599 {
			return fmt.Errorf("status %d: must be 200..599", l.Status)
		}
	}
	return nil
}
