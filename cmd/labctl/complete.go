package main

import (
	"os"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/labctl/labctl/node"
	"github.com/labctl/labctl/topo"
)

// completeLabArg completes a FILE|LABNAME argument. Without a running lab to offer,
// the shell completes files itself, filtered to lab files; with one, the lab names
// come with the lab files and folders that match, as one list (a shell either
// completes files or takes labctl's list, never both).
func completeLabArg(toComplete string) ([]string, cobra.ShellCompDirective) {
	running := completeLabs(toComplete)
	if len(running) == 0 || strings.ContainsRune(toComplete, '/') {
		return []string{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt
	}
	directive := cobra.ShellCompDirectiveNoFileComp
	entries, _ := os.ReadDir(".")
	for _, e := range entries {
		name := e.Name()
		switch {
		case !strings.HasPrefix(name, toComplete) || strings.HasPrefix(name, "."):
		case e.IsDir():
			running = append(running, name+"/")
			directive |= cobra.ShellCompDirectiveNoSpace // let the user go on into it
		case strings.HasSuffix(name, ".yaml") || strings.HasSuffix(name, ".yml"):
			running = append(running, name)
		}
	}
	return running, directive
}

// completeHosts completes a host of the lab named by arg: from its state record when
// it runs, else from its lab file, so exec can be typed before the lab is up. Networks
// count as hosts, as exec enters them too (tcpdump on a network's bridge).
func completeHosts(arg, toComplete string) []string {
	var hosts []string
	if inst, err := instanceOf(arg); err == nil {
		if st, err := node.ReadState(inst); err == nil {
			for _, h := range st.Hosts {
				hosts = append(hosts, h.Name)
			}
		}
	}
	if hosts == nil && isLabFile(arg) {
		if p, err := topo.CompileFile(arg, topo.CompileOptions{}); err == nil {
			for _, n := range p.Namespaces {
				hosts = append(hosts, n.Name)
			}
		}
	}
	return slices.DeleteFunc(hosts, func(h string) bool { return !strings.HasPrefix(h, toComplete) })
}

// fixedValues completes a flag whose values are a fixed list.
func fixedValues(values ...string) cobra.CompletionFunc {
	return cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp)
}
