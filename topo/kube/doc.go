// Package kube generates the iptables rules of the Kubernetes layer of a lab, exactly as
// the real components would leave them on a node:
//
//   - kube-proxy in iptables mode ([Snapshot.KubeProxyRules]): one full sync per node, the
//     KUBE-* chains, their jumps from the built-in chains, chain names hashed the way
//     kube-proxy hashes them;
//   - the pod masquerade of flannel, Docker's bridge driver or ip-masq-agent
//     ([AddMasqueradeRules]);
//   - a cloud load balancer that owns the LoadBalancer VIPs, forwards them to
//     nodeIP:nodePort and enforces loadBalancerSourceRanges ([Snapshot.LoadBalancerRules]);
//   - the EndpointSlice controller, which turns Pods and Services into the endpoints
//     kube-proxy consumes ([ComputeEndpointSlices]).
//
// The inputs mirror the Kubernetes API (Service, EndpointSlice, Pod) closely enough that
// the rules can be compared with kube-proxy's own unit-test expectations. Everything
// node-independent (hashes, comments, sorted endpoints) is computed once by [NewSnapshot];
// per-node generation only decides what is local to the node.
//
// The package is pure: it never runs iptables and makes no system calls.
package kube
