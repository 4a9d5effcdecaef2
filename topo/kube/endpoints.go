package kube

import (
	"strconv"
	"strings"
)

// ComputeEndpointSlices does the job of the EndpointSlice controller: for every service
// with a selector it publishes the selected Pods as endpoints, and it returns those
// slices followed by the manual ones (for services without a selector, whose endpoints
// are written by hand; like kube-proxy, the result serves every slice of a service).
//
// As in the controller:
//   - a Pod is selected when it is in the service's namespace, has every label of the
//     selector (an empty, non-nil selector selects every Pod) and has an IP;
//   - a numeric targetPort is used as is; a named one is looked up among the Pod's
//     container ports with the service port's protocol, and a Pod without it is left
//     out of that port only — Pods are grouped into slices by their resolved ports;
//   - conditions: serving = Pod ready, terminating = Pod terminating, ready = serving
//     and not terminating, or always true with publishNotReadyAddresses.
//
// Slices are not split at 100 endpoints: kube-proxy merges them anyway.
func ComputeEndpointSlices(services []Service, pods []Pod, manual []EndpointSlice) []EndpointSlice {
	var out []EndpointSlice
	for i := range services {
		svc := &services[i]
		if svc.Selector == nil {
			continue
		}
		out = append(out, serviceEndpointSlices(svc, pods)...)
	}
	return append(out, manual...)
}

// serviceEndpointSlices returns one slice per distinct set of resolved ports.
func serviceEndpointSlices(svc *Service, pods []Pod) []EndpointSlice {
	var slices []EndpointSlice
	byPorts := map[string]int{} // port-set key -> index in slices
	for i := range pods {
		pod := &pods[i]
		if pod.Namespace != svc.Namespace || pod.IP == "" || !selects(svc.Selector, pod.Labels) {
			continue
		}
		ports := endpointPorts(svc, pod)
		key := portsKey(ports)
		idx, ok := byPorts[key]
		if !ok {
			idx = len(slices)
			byPorts[key] = idx
			slices = append(slices, EndpointSlice{Namespace: svc.Namespace, ServiceName: svc.Name, Ports: ports})
		}
		serving := pod.Ready
		terminating := pod.Terminating
		// A terminating Pod is never ready, unless the service publishes not-ready
		// addresses, so that clients drain away from it.
		ready := svc.PublishNotReadyAddresses || (serving && !terminating)
		slices[idx].Endpoints = append(slices[idx].Endpoints, Endpoint{
			Addresses: []string{pod.IP},
			NodeName:  pod.NodeName,
			Conditions: EndpointConditions{
				Ready:       new(ready),
				Serving:     new(serving),
				Terminating: new(terminating),
			},
		})
	}
	return slices
}

func selects(selector, labels map[string]string) bool {
	for k, v := range selector {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// endpointPorts resolves the service's target ports on one Pod (podutil.FindPort).
func endpointPorts(svc *Service, pod *Pod) []EndpointPort {
	var ports []EndpointPort
	for _, sp := range svc.Ports {
		proto := protocolOrTCP(sp.Protocol)
		number, ok := resolveTargetPort(sp, proto, pod)
		if !ok {
			continue
		}
		ports = append(ports, EndpointPort{Name: sp.Name, Protocol: proto, Port: number})
	}
	return ports
}

func resolveTargetPort(sp ServicePort, proto Protocol, pod *Pod) (int32, bool) {
	switch {
	case sp.TargetPort.Name != "":
		for _, cp := range pod.Ports {
			if cp.Name == sp.TargetPort.Name && protocolOrTCP(cp.Protocol) == proto {
				return cp.Port, true
			}
		}
		return 0, false
	case sp.TargetPort.Number != 0:
		return sp.TargetPort.Number, true
	default:
		return sp.Port, true
	}
}

func portsKey(ports []EndpointPort) string {
	var b strings.Builder
	for _, p := range ports {
		b.WriteString(p.Name)
		b.WriteByte('/')
		b.WriteString(string(p.Protocol))
		b.WriteByte('/')
		b.WriteString(strconv.Itoa(int(p.Port)))
		b.WriteByte(',')
	}
	return b.String()
}
