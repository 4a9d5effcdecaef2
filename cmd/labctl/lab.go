package main

import (
	"os"
	"strings"

	"github.com/labctl/labctl/node"
	"github.com/labctl/labctl/topo"
	"github.com/labctl/labctl/topo/plan"
)

// compileFile reads a lab file and compiles it; problems come back as topo.Problems.
func compileFile(path string, opts topo.CompileOptions) (*plan.Plan, error) {
	return topo.CompileFile(path, opts)
}

// isLabFile tells a lab file argument from a lab name.
func isLabFile(arg string) bool {
	if strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml") || strings.Contains(arg, "/") {
		return true
	}
	st, err := os.Stat(arg)
	return err == nil && !st.IsDir()
}

// instanceOf resolves a FILE|LABNAME argument to a lab instance name.
// A lab file spread over machines names the one share of it running here.
func instanceOf(arg string) (string, error) { return instanceOfShare(arg, "") }

// labArgs completes lab files and running lab names.
func completeLabs(toComplete string) []string {
	var out []string
	if running, err := node.List(); err == nil {
		for _, r := range running {
			if strings.HasPrefix(r.Instance, toComplete) {
				out = append(out, r.Instance)
			}
		}
	}
	return out
}
