// Command labctl builds multi-host Kubernetes network labs from YAML in network
// namespaces, with real kernel NAT, and proves what happens with probes.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/labctl/labctl/node"
	"github.com/labctl/labctl/topo"
)

// Exit statuses: the contract scripts and CI rely on.
const (
	exitOK       = 0
	exitFailed   = 1 // a probe failed, or building or removing a lab failed
	exitBadUsage = 2 // bad lab file, bad usage, or something missing on this machine
)

// usageError marks errors of the command line itself (exit 2).
type usageError struct{ error }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := newRootCmd()
	err := cmd.ExecuteContext(ctx)
	os.Exit(exitStatus(err))
}

func exitStatus(err error) int {
	if err == nil {
		return exitOK
	}
	var problems topo.Problems
	var missing node.MissingError
	var usage usageError
	var failed checkFailed
	switch {
	case errors.As(err, &failed):
		return exitFailed
	case errors.As(err, &problems):
		fmt.Fprintln(os.Stderr, problems.Error())
		return exitBadUsage
	case errors.As(err, &missing):
		fmt.Fprintln(os.Stderr, "labctl: "+missing.Error())
		return exitBadUsage
	case errors.As(err, &usage), isCobraUsage(err):
		fmt.Fprintln(os.Stderr, "labctl: "+err.Error()+"\nRun 'labctl --help' for usage.")
		return exitBadUsage
	}
	fmt.Fprintln(os.Stderr, "labctl: "+err.Error())
	return exitFailed
}

// isCobraUsage recognises the argument errors cobra returns as plain errors.
func isCobraUsage(err error) bool {
	msg := err.Error()
	for _, prefix := range []string{"unknown command", "accepts ", "requires at least", "requires at most", "required flag", "unknown flag", "unknown shorthand flag", "invalid argument", "flag needs an argument"} {
		if strings.HasPrefix(msg, prefix) {
			return true
		}
	}
	return false
}

// checkFailed is returned when a check (probe) failed; the report already said why.
type checkFailed struct{ failed int }

func (c checkFailed) Error() string { return fmt.Sprintf("%d checks failed", c.failed) }
