package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/labctl/labctl/topo/gen"
)

func newGenCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "gen",
		Short: "Write generated lab files (large clusters for benchmarks and load tests)",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newGenClusterCmd())
	return cmd
}

func newGenClusterCmd() *cobra.Command {
	o := gen.ClusterOptions{}
	var out string
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Write a Kubernetes cluster lab of any size",
		Long: `Write a lab with a cluster of --nodes nodes, --pods Pods spread over them and
--services Services: 55% ClusterIP, 25% NodePort, 20% LoadBalancer (NodePort without
--lb), some with externalTrafficPolicy or internalTrafficPolicy Local, some multi-port,
UDP (DNS-like) or with ClientIP session affinity; an external client; with --lb a cloud
load balancer in front. --probes adds probes whose outcome is certain (Pod to ClusterIP,
client to NodePort and VIP). The same flags always write the same file.

Clusters of many Services load thousands of rules per node; the written lab uses the
legacy backend unless --iptables nft: at 50 nodes, 1,000 Pods and 200 Services it
builds in about 4 s instead of 6 (docs/performance.md).`,
		Example: "  labctl gen cluster --nodes 50 --pods 1000 --services 200 --lb --probes 500 -o big.yaml\n" +
			"  labctl gen cluster --nodes 3 --pods 12 --services 4 | labctl plan /dev/stdin",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.Check(); err != nil {
				return usageError{err}
			}
			data, err := gen.Cluster(o)
			if err != nil {
				return usageError{err}
			}
			if out == "" || out == "-" {
				_, err = cmd.OutOrStdout().Write(data)
				return err
			}
			if err := os.WriteFile(out, data, 0o644); err != nil {
				return fmt.Errorf("write %s: %w", out, err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Name, "name", "gen", "lab name (namespaces are lc.NAME.HOST)")
	f.IntVar(&o.Nodes, "nodes", 3, "number of nodes")
	f.IntVar(&o.Pods, "pods", 10, "number of Pods")
	f.IntVar(&o.Services, "services", 4, "number of Services")
	f.BoolVar(&o.LB, "lb", false, "add a cloud load balancer (LoadBalancer Services get VIPs)")
	f.StringVar(&o.Backend, "backend", "host-gw", "flannel backend: host-gw or vxlan")
	f.StringVar(&o.IPTables, "iptables", "legacy", "options.iptables of the lab: legacy loads a big cluster's rules several times faster than nft (docs/performance.md)")
	f.Uint64Var(&o.Seed, "seed", 0, "seed of the Pod placement and the probes' senders")
	f.IntVar(&o.Probes, "probes", 0, "number of probes to write")
	f.StringVarP(&out, "output", "o", "", "file to write (default: standard output)")
	return cmd
}
