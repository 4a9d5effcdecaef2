package iptables

import (
	"fmt"
	"os/exec"

	goiptables "github.com/coreos/go-iptables/iptables"
)

// Single-rule reads go through go-iptables: "iptables -C" decides whether a rule exists
// the way iptables itself parses and compares it, whatever spelling the payload used.
// Loading stays with iptables-restore (one atomic payload per namespace) and reading a
// namespace's counters with one iptables-save: each go-iptables call is an exec.
// With the legacy backend these calls take the machine-wide xtables lock (go-iptables
// passes --wait and no XTABLES_LOCKFILE); they are meant for checks, not bulk work.

// handle returns go-iptables driving this backend's iptables command. It must be
// called inside the namespace, like the commands it runs.
func (r Runner) handle() (*goiptables.IPTables, error) {
	name := "iptables-" + r.backend()
	path, err := exec.LookPath(name)
	if err != nil {
		return nil, fmt.Errorf("%s not found: install the iptables package (apt-get install iptables), or run make deps", name)
	}
	ipt, err := goiptables.New(goiptables.Path(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return ipt, nil
}

// Exists reports whether the namespace at netnsPath holds the rule in table/chain.
func (r Runner) Exists(netnsPath, table, chain string, rulespec ...string) (bool, error) {
	var ok bool
	err := r.inNetns(netnsPath, func() error {
		ipt, err := r.handle()
		if err != nil {
			return err
		}
		ok, err = ipt.Exists(table, chain, rulespec...)
		return err
	})
	return ok, err
}

// List returns a chain as iptables -S prints it, in the kernel's order: the -P or -N
// line, then one -A line per rule.
func (r Runner) List(netnsPath, table, chain string) ([]string, error) {
	var out []string
	err := r.inNetns(netnsPath, func() error {
		ipt, err := r.handle()
		if err != nil {
			return err
		}
		out, err = ipt.List(table, chain)
		return err
	})
	return out, err
}

// Packets returns the packet counter of each rule of a chain, in order. Every rule of
// the chain must have a target: go-iptables reads iptables -L columns, and a rule
// without one shifts them.
func (r Runner) Packets(netnsPath, table, chain string) ([]uint64, error) {
	var out []uint64
	err := r.inNetns(netnsPath, func() error {
		ipt, err := r.handle()
		if err != nil {
			return err
		}
		stats, err := ipt.StructuredStats(table, chain)
		if err != nil {
			return err
		}
		for _, s := range stats {
			out = append(out, s.Packets)
		}
		return nil
	})
	return out, err
}
