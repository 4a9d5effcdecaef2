package main

import (
	"fmt"
	"os"
	"regexp"
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
func instanceOf(arg string) (string, error) {
	if err := checkLabArg(arg); err != nil {
		return "", err
	}
	return instanceOfShare(arg, "")
}

// labNameArg is a lab name (topo's format: lowercase letters, digits and '-', at most
// maxLabName characters), or lab@machine for a machine's share of a lab.
var labNameArg = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?(@[a-z0-9]([a-z0-9-]*[a-z0-9])?)?$`)

const maxLabName = 24

// checkLabArg refuses a LABNAME that no lab can have, such as .. or a/b: it becomes
// a path under /run/labctl and a namespace name prefix.
func checkLabArg(arg string) error {
	if isLabFile(arg) {
		return nil
	}
	lab, _, _ := strings.Cut(arg, "@")
	if !labNameArg.MatchString(arg) || len(lab) > maxLabName {
		return usageError{fmt.Errorf("%q is not a lab file or a lab name: a lab name has at most %d lowercase letters, digits and '-' (lab@machine for a machine's share), a lab file ends in .yaml", arg, maxLabName)}
	}
	return nil
}

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
