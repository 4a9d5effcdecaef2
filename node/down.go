package node

import (
	"errors"
	"fmt"
	"os"
	"slices"

	"github.com/labctl/labctl/topo/plan"
)

// DownResult says what down removed.
type DownResult struct {
	Namespaces int
	Processes  int
	// Existed is false when there was nothing left to remove.
	Existed bool
}

// Down removes a lab instance: its processes, then its namespaces (the kernel removes
// every interface, bridge, route and rule inside them), then its record. It succeeds on
// a lab that is half built, already gone, or whose up was killed at any point: what the
// record lists and whatever carries the instance's name prefix is removed.
func Down(instance string) (*DownResult, error) {
	unlock, err := lock(instance)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return down(instance)
}

func down(instance string) (*DownResult, error) {
	res := &DownResult{}
	st, err := ReadState(instance)
	switch {
	case errors.Is(err, os.ErrNotExist):
		st = &State{}
	case err != nil:
		// A damaged record must not keep a lab alive: sweep by name prefix instead.
		st = &State{}
		res.Existed = true
	default:
		res.Existed = true
	}
	res.Processes = stopProcesses(instance, st.Processes)
	names, err := listNetns(plan.InstancePrefix(instance))
	if err != nil {
		return res, err
	}
	for _, n := range st.Namespaces {
		if !slices.Contains(names, n) && netnsExists(n) {
			names = append(names, n)
		}
	}
	var errs []error
	for _, n := range names {
		if err := deleteNetns(n); err != nil {
			errs = append(errs, err)
			continue
		}
		res.Namespaces++
	}
	if len(names) > 0 || res.Processes > 0 {
		res.Existed = true
	}
	if err := errors.Join(errs...); err != nil {
		return res, fmt.Errorf("lab %s: %w", instance, err)
	}
	if err := os.RemoveAll(instanceDir(instance)); err != nil {
		return res, fmt.Errorf("lab %s: remove state: %w", instance, err)
	}
	return res, nil
}
