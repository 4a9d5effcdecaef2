package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/labctl/labctl/node"
	"github.com/labctl/labctl/topo"
	"github.com/labctl/labctl/topo/plan"
	"github.com/labctl/labctl/verify"
)

// machineFlags select one machine's share of a lab spread over machines
// (docs/multi-machine.md).
type machineFlags struct {
	machine  string
	underlay string
}

func (f *machineFlags) add(cmd *cobra.Command, underlay bool) {
	cmd.Flags().StringVar(&f.machine, "machine", "", "lab spread over machines: this machine's name; its share runs as instance LAB@MACHINE")
	if underlay {
		cmd.Flags().StringVar(&f.underlay, "underlay-netns", "", "named network namespace (in /run/netns) holding this machine's underlay, for simulating machines on one host; labctl never creates or deletes it (default: the namespace labctl runs in)")
	}
}

func (f *machineFlags) options(backend string) topo.CompileOptions {
	return topo.CompileOptions{Backend: backend, Machine: f.machine, UnderlayNetNS: f.underlay}
}

// check refuses --underlay-netns without --machine and names labctl's own namespaces.
func (f *machineFlags) check() error {
	if f.underlay != "" && f.machine == "" {
		return usageError{fmt.Errorf("--underlay-netns %s: only a machine's share of a lab spread over machines has an underlay: add --machine NAME", f.underlay)}
	}
	if strings.HasPrefix(f.underlay, plan.NetNSPrefix) || strings.ContainsAny(f.underlay, "/") {
		return usageError{fmt.Errorf("--underlay-netns %s: name a namespace of /run/netns that is not a lab's (lab namespaces start with %s)", f.underlay, plan.NetNSPrefix)}
	}
	return nil
}

// instanceOfShare resolves a FILE|LABNAME argument with --machine: LAB@MACHINE. A lab
// file spread over machines given without --machine resolves to the one share of it
// running here, if there is exactly one.
func instanceOfShare(arg, machine string) (string, error) {
	if !isLabFile(arg) {
		if machine == "" {
			return arg, nil
		}
		if strings.Contains(arg, "@") {
			return "", usageError{fmt.Errorf("%s already names a machine's share: drop --machine", arg)}
		}
		return plan.InstanceName(arg, machine), nil
	}
	lab, err := topo.Load(arg)
	if err != nil {
		return "", err
	}
	if lab.Name == "" {
		return "", usageError{fmt.Errorf("%s has no lab name", arg)}
	}
	if len(lab.Machines) == 0 {
		if machine != "" {
			return "", usageError{fmt.Errorf("--machine %s: %s declares no machines", machine, arg)}
		}
		return lab.Name, nil
	}
	if machine != "" {
		return plan.InstanceName(lab.Name, machine), nil
	}
	running, err := node.List()
	if err != nil {
		return "", err
	}
	var shares []string
	for _, r := range running {
		if strings.HasPrefix(r.Instance, lab.Name+"@") {
			shares = append(shares, r.Instance)
		}
	}
	if len(shares) == 1 {
		return shares[0], nil
	}
	names := make([]string, len(lab.Machines))
	for i, m := range lab.Machines {
		names[i] = m.Name
	}
	return "", usageError{fmt.Errorf("lab %s is spread over machines (%s) and %d of its shares run here: say which with --machine NAME, or name it as %s@NAME", lab.Name, strings.Join(names, ", "), len(shares), lab.Name)}
}

// shareState is the state record of the running share of a lab file (the lab itself
// when it is not spread over machines).
func shareState(path, machine string) (*node.State, error) {
	inst, err := instanceOfShare(path, machine)
	if err != nil {
		return nil, err
	}
	return node.ReadState(inst)
}

// uncheckedError makes verify exit 1 when checks could not be made on this machine,
// unless --accept-unchecked says that is expected: a check not made never passes
// silently.
func uncheckedError(cmd *cobra.Command, f *reportFlags, reps []*verify.Report) error {
	n := 0
	for _, r := range reps {
		n += r.Unchecked
	}
	if n == 0 || f.acceptUnchecked {
		return nil
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "labctl: %d probes passed every check made here but need another machine's conntrack or rule counters (UNCHECKED): move those expectations to probes that start on that machine, or accept this with --accept-unchecked\n", n)
	return checkFailed{n}
}
