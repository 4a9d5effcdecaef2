package kube

import (
	"slices"
	"strings"
)

// This file is kube-proxy's CategorizeEndpoints, split into the node-independent part
// (done once per snapshot) and the per-node part. Topology hints are not modelled: labs
// have no zones, so every ready endpoint is available to every node.

// categorizeClusterEndpoints computes the endpoints Cluster traffic policy uses: the
// ready ones, or, if no endpoint anywhere is ready, the serving and terminating ones
// (so that a rolling update does not black-hole the service).
func (sp *servicePort) categorizeClusterEndpoints() {
	for _, ep := range sp.endpoints {
		if ep.ready || ep.servingTerminating() {
			sp.anyUsable = true
		}
	}
	if !sp.usesClusterEndpoints {
		return
	}
	for _, ep := range sp.endpoints {
		if ep.ready {
			sp.clusterEndpoints = append(sp.clusterEndpoints, ep)
		}
	}
	if len(sp.clusterEndpoints) == 0 {
		for _, ep := range sp.endpoints {
			if ep.servingTerminating() {
				sp.clusterEndpoints = append(sp.clusterEndpoints, ep)
			}
		}
	}
}

// nodeEndpoints is the outcome of categorizing a service port's endpoints on one node.
type nodeEndpoints struct {
	cluster []*endpoint // endpoints for Cluster policy (nil if the port never uses it)
	local   []*endpoint // this node's endpoints for Local policy (nil if never used)
	// reachable is every endpoint this node may DNAT to: it gets a KUBE-SEP chain.
	reachable []*endpoint
	// hasAny: the service has usable endpoints somewhere in the cluster.
	hasAny bool
}

// categorize returns the endpoints of sp as seen from the node nodeName.
func (sp *servicePort) categorize(nodeName string) nodeEndpoints {
	var r nodeEndpoints
	if len(sp.endpoints) == 0 {
		return r
	}
	r.cluster = sp.clusterEndpoints
	r.hasAny = len(r.cluster) > 0
	if !sp.usesLocalEps {
		r.reachable = r.cluster
		return r
	}
	r.hasAny = r.hasAny || sp.anyUsable

	// Local policy prefers this node's ready endpoints and falls back to its serving
	// and terminating ones.
	servingTerminatingOnly := false
	for _, ep := range sp.endpoints {
		if ep.nodeName == nodeName && ep.ready {
			r.local = append(r.local, ep)
		}
	}
	if len(r.local) == 0 {
		for _, ep := range sp.endpoints {
			if ep.nodeName == nodeName && ep.servingTerminating() {
				r.local = append(r.local, ep)
				servingTerminatingOnly = true
			}
		}
	}

	switch {
	case !sp.usesClusterEndpoints:
		r.reachable = r.local
	case !servingTerminatingOnly:
		// Local endpoints are then ready ones, all of which are Cluster endpoints.
		r.reachable = r.cluster
	default:
		// Terminating local endpoints are not among the Cluster endpoints: merge. (kube-
		// proxy merges through a map, in random order; sorting keeps the output stable.)
		r.reachable = slices.Clone(r.cluster)
		for _, ep := range r.local {
			if !slices.Contains(r.reachable, ep) {
				r.reachable = append(r.reachable, ep)
			}
		}
		slices.SortFunc(r.reachable, func(a, b *endpoint) int { return strings.Compare(a.hostPort, b.hostPort) })
	}
	return r
}
