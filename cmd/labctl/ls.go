package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/labctl/labctl/node"
	"github.com/labctl/labctl/topo/plan"
)

func newLsCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "ls [FILE|LABNAME]",
		Short: "List running labs, their hosts and age; with a lab, its hosts and addresses",
		Long: `Without an argument, list the labs on this machine: status, age, host names and
source file; leftovers of a killed up are listed too. With a lab, print its hosts
and their addresses, as up does.`,
		Example:           "  labctl ls\n  labctl ls basic\n  labctl ls -o json",
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeRunning,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "table" && output != "json" {
				return usageError{fmt.Errorf("--output %q: use table or json", output)}
			}
			if len(args) == 1 {
				return lsLab(cmd.OutOrStdout(), args[0], output)
			}
			running, err := node.List()
			if err != nil {
				return err
			}
			if output == "json" {
				return writeJSON(cmd.OutOrStdout(), lsEntries(running))
			}
			return lsTable(cmd.OutOrStdout(), running, time.Now())
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}

// lsEntry is one lab in ls -o json.
type lsEntry struct {
	Instance   string      `json:"instance"`
	Namespaces int         `json:"namespaces"`
	State      *node.State `json:"state,omitempty"`
}

func lsEntries(running []node.Running) []lsEntry {
	list := make([]lsEntry, 0, len(running))
	for _, r := range running {
		list = append(list, lsEntry{r.Instance, r.Namespaces, r.State})
	}
	return list
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// hostsWidth keeps the HOSTS column of ls short enough for a terminal line.
const hostsWidth = 40

func lsTable(w io.Writer, running []node.Running, now time.Time) error {
	if len(running) == 0 {
		fmt.Fprintln(w, "no labs are running")
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "LAB\tSTATUS\tAGE\tHOSTS\tSOURCE")
	for _, r := range running {
		if r.State == nil {
			fmt.Fprintf(tw, "%s\t%s\t-\t-\t-\n", r.Instance, leftover(r))
			continue
		}
		age := now.Sub(r.State.Created).Round(time.Second)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Instance, r.State.Status, age, hostList(hostNames(r.State), hostsWidth), r.State.Source)
	}
	return tw.Flush()
}

func leftover(r node.Running) string {
	return fmt.Sprintf("leftover (%d namespaces; run labctl down %s)", r.Namespaces, r.Instance)
}

// hostNames are the lab's hosts, without the namespaces that hold its networks.
func hostNames(st *node.State) []string {
	var names []string
	for _, h := range st.Hosts {
		if h.Kind != plan.KindNetwork {
			names = append(names, h.Name)
		}
	}
	return names
}

// hostList joins names up to about width characters, then says how many more there
// are: "client, router, +2 more". It always shows at least one name.
func hostList(names []string, width int) string {
	if len(names) == 0 {
		return "-"
	}
	const sep = ", "
	var b strings.Builder
	for i, n := range names {
		more := ""
		if rest := len(names) - i - 1; rest > 0 {
			more = fmt.Sprintf("%s+%d more", sep, rest)
		}
		if i > 0 && b.Len()+len(sep)+len(n)+len(more) > width {
			fmt.Fprintf(&b, "%s+%d more", sep, len(names)-i)
			break
		}
		if i > 0 {
			b.WriteString(sep)
		}
		b.WriteString(n)
	}
	return b.String()
}

// lsLab prints one lab: a line about it, then its hosts and addresses as up does.
func lsLab(w io.Writer, arg, output string) error {
	inst, err := instanceOf(arg)
	if err != nil {
		return err
	}
	running, err := node.List()
	if err != nil {
		return err
	}
	for _, r := range running {
		if r.Instance != inst {
			continue
		}
		if output == "json" {
			return writeJSON(w, lsEntry{r.Instance, r.Namespaces, r.State})
		}
		if r.State == nil {
			fmt.Fprintf(w, "lab %s: %s\n", r.Instance, leftover(r))
			return nil
		}
		fmt.Fprintf(w, "lab %s is %s (age %s, from %s)\n", inst, r.State.Status, time.Since(r.State.Created).Round(time.Second), cmp.Or(r.State.Source, "-"))
		printHosts(w, r.State)
		return nil
	}
	return fmt.Errorf("lab %s is not running (labctl ls lists the running labs)", inst)
}
