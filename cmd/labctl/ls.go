package main

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/labctl/labctl/node"
)

func newLsCmd() *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List running labs, their hosts and age",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			running, err := node.List()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			switch output {
			case "json":
				type entry struct {
					Instance   string      `json:"instance"`
					Namespaces int         `json:"namespaces"`
					State      *node.State `json:"state,omitempty"`
				}
				list := make([]entry, 0, len(running))
				for _, r := range running {
					list = append(list, entry{r.Instance, r.Namespaces, r.State})
				}
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(list)
			case "table":
			default:
				return usageError{fmt.Errorf("--output %q: use table or json", output)}
			}
			if len(running) == 0 {
				fmt.Fprintln(out, "no labs are running")
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "LAB\tSTATUS\tAGE\tHOSTS\tSOURCE")
			for _, r := range running {
				if r.State == nil {
					fmt.Fprintf(tw, "%s\tleftover (%d namespaces; run labctl down %s)\t-\t-\t-\n", r.Instance, r.Namespaces, r.Instance)
					continue
				}
				hosts := 0
				for _, h := range r.State.Hosts {
					if h.Kind != "network" {
						hosts++
					}
				}
				age := time.Since(r.State.Created).Round(time.Second)
				fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", r.Instance, r.State.Status, age, hosts, r.State.Source)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "table or json")
	return cmd
}
