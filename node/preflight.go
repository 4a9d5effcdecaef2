package node

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/labctl/labctl/node/iptables"
	"github.com/labctl/labctl/topo/plan"
	"github.com/labctl/labctl/topo/rules"
)

// MissingError says that something labctl needs is missing on this machine, and how to
// get it. Commands exit with status 2 on it.
type MissingError struct {
	What string
	How  string
}

func (e MissingError) Error() string { return fmt.Sprintf("%s is missing: %s", e.What, e.How) }

// Preflight checks, before anything is created, that this machine can build the plan:
// root, network namespaces, iptables tools for the backend, br_netfilter when asked.
func Preflight(p *plan.Plan) error {
	if err := RequireRoot(); err != nil {
		return err
	}
	if _, err := os.Stat("/proc/self/ns/net"); err != nil {
		return MissingError{What: "network namespace support", How: "use a Linux kernel built with CONFIG_NET_NS (every distribution kernel is)"}
	}
	needsRules, needsBridgeNF := false, false
	for _, n := range p.Namespaces {
		if n.Rules != nil && !n.Rules.Empty() {
			needsRules = true
		}
		for _, s := range n.Sysctls {
			if strings.HasPrefix(s.Key, "net.bridge.") && s.Value != "0" {
				needsBridgeNF = true
			}
		}
	}
	if needsRules {
		r := iptables.Runner{Backend: p.Backend}
		if _, err := r.Tool("restore"); err != nil {
			return MissingError{What: "iptables-" + p.Backend + "-restore", How: "install the iptables package (apt-get install iptables), or run make deps"}
		}
	}
	if err := checkUnderlay(p); err != nil {
		return err
	}
	if needsBridgeNF {
		if _, err := os.Stat("/proc/sys/net/bridge/bridge-nf-call-iptables"); err != nil {
			return MissingError{What: "the br_netfilter kernel module (Kubernetes nodes need bridged traffic to go through iptables)", How: "load it with modprobe br_netfilter (in a container, on the host: modules belong to the host's kernel)"}
		}
	}
	return nil
}

// RequireRoot checks the privilege every command that builds, enters or removes a
// lab needs: root, with the capabilities a container drops unless it is privileged.
// Without it the kernel's own "operation not permitted" would name a symptom, not
// the cause.
func RequireRoot() error {
	if os.Geteuid() != 0 {
		return MissingError{What: "root privilege", How: "labctl creates network namespaces; run it as root (sudo labctl ...), or in a privileged container"}
	}
	if !hasCapabilities(capNetAdmin, capSysAdmin) {
		return MissingError{What: "the privilege to manage network namespaces (CAP_SYS_ADMIN and CAP_NET_ADMIN)", How: "labctl runs as root but without these capabilities, as in a container started without --privileged; start the container with --privileged (docker run --privileged, or \"privileged\": true in devcontainer.json)"}
	}
	return nil
}

// Capability numbers, from linux/capability.h.
const (
	capNetAdmin = 12
	capSysAdmin = 21
)

// hasCapabilities reports whether the process has every given capability in its
// effective set (CapEff in /proc/self/status). If the set cannot be read, it assumes
// so and lets the kernel have the last word.
func hasCapabilities(caps ...uint) bool {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return true
	}
	return statusHasCapabilities(string(data), caps...)
}

func statusHasCapabilities(status string, caps ...uint) bool {
	for _, line := range strings.Split(status, "\n") {
		hex, ok := strings.CutPrefix(line, "CapEff:")
		if !ok {
			continue
		}
		eff, err := strconv.ParseUint(strings.TrimSpace(hex), 16, 64)
		if err != nil {
			return true
		}
		for _, c := range caps {
			if eff&(1<<c) == 0 {
				return false
			}
		}
		return true
	}
	return true
}

// explainRestore names the lab file line of the rule iptables refused.
func explainRestore(source string, err error, payload []byte, origins []rules.Origin) error {
	var re *iptables.RestoreError
	if !errors.As(err, &re) || re.Line < 1 || re.Line > len(origins) {
		return err
	}
	line := strings.Split(string(payload), "\n")[re.Line-1]
	o := origins[re.Line-1]
	where := o.String()
	if o.Line > 0 && o.By == "" {
		where = fmt.Sprintf("%s:%d", source, o.Line)
	}
	return fmt.Errorf("iptables refused %q (written at %s): %s", line, where, re.Output)
}
