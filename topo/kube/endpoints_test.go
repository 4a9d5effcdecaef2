package kube

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func conditions(ready, serving, terminating bool) EndpointConditions {
	return EndpointConditions{Ready: new(ready), Serving: new(serving), Terminating: new(terminating)}
}

func TestComputeEndpointSlices(t *testing.T) {
	web := Service{Namespace: "shop", Name: "web", ClusterIP: "10.96.0.10", Selector: map[string]string{"app": "web"},
		Ports: []ServicePort{
			{Name: "http", Port: 80, TargetPort: TargetPortName("http")},
			{Name: "metrics", Port: 9090, TargetPort: TargetPortNumber(9100)},
			{Name: "admin", Port: 8081}, // targetPort defaults to the port
		}}
	httpPort := ContainerPort{Name: "http", Port: 8080}
	pods := []Pod{
		{Namespace: "shop", Name: "web-0", Labels: map[string]string{"app": "web", "v": "1"}, IP: "10.244.1.2", NodeName: "node-1", Ready: true, Ports: []ContainerPort{httpPort}},
		// Not ready: published as not ready (and not serving).
		{Namespace: "shop", Name: "web-1", Labels: map[string]string{"app": "web"}, IP: "10.244.2.2", NodeName: "node-2", Ports: []ContainerPort{httpPort}},
		// Terminating while ready: serving, terminating, not ready.
		{Namespace: "shop", Name: "web-2", Labels: map[string]string{"app": "web"}, IP: "10.244.2.3", NodeName: "node-2", Ready: true, Terminating: true, Ports: []ContainerPort{httpPort}},
		// Names its port differently: left out of "http" only, so it gets its own slice.
		{Namespace: "shop", Name: "web-3", Labels: map[string]string{"app": "web"}, IP: "10.244.1.4", NodeName: "node-1", Ready: true, Ports: []ContainerPort{{Name: "web", Port: 8080}}},
		// Same named port but UDP: does not match the TCP service port.
		{Namespace: "shop", Name: "web-4", Labels: map[string]string{"app": "web"}, IP: "10.244.1.5", NodeName: "node-1", Ready: true, Ports: []ContainerPort{{Name: "http", Port: 8080, Protocol: ProtocolUDP}}},
		{Namespace: "other", Name: "web-x", Labels: map[string]string{"app": "web"}, IP: "10.244.1.9", Ready: true},
		{Namespace: "shop", Name: "db-0", Labels: map[string]string{"app": "db"}, IP: "10.244.1.10", Ready: true},
		{Namespace: "shop", Name: "pending", Labels: map[string]string{"app": "web"}, Ready: true},
	}
	manual := EndpointSlice{Namespace: "shop", ServiceName: "external-db", Ports: []EndpointPort{{Name: "pg", Protocol: ProtocolTCP, Port: 5432}},
		Endpoints: []Endpoint{{Addresses: []string{"192.168.50.30"}}}}
	externalDB := Service{Namespace: "shop", Name: "external-db", ClusterIP: "10.96.0.30", Ports: []ServicePort{{Name: "pg", Port: 5432}}}

	got := ComputeEndpointSlices([]Service{web, externalDB}, pods, []EndpointSlice{manual})

	allPorts := []EndpointPort{{Name: "http", Protocol: ProtocolTCP, Port: 8080}, {Name: "metrics", Protocol: ProtocolTCP, Port: 9100}, {Name: "admin", Protocol: ProtocolTCP, Port: 8081}}
	noHTTP := []EndpointPort{{Name: "metrics", Protocol: ProtocolTCP, Port: 9100}, {Name: "admin", Protocol: ProtocolTCP, Port: 8081}}
	want := []EndpointSlice{
		{Namespace: "shop", ServiceName: "web", Ports: allPorts, Endpoints: []Endpoint{
			{Addresses: []string{"10.244.1.2"}, NodeName: "node-1", Conditions: conditions(true, true, false)},
			{Addresses: []string{"10.244.2.2"}, NodeName: "node-2", Conditions: conditions(false, false, false)},
			{Addresses: []string{"10.244.2.3"}, NodeName: "node-2", Conditions: conditions(false, true, true)},
		}},
		{Namespace: "shop", ServiceName: "web", Ports: noHTTP, Endpoints: []Endpoint{
			{Addresses: []string{"10.244.1.4"}, NodeName: "node-1", Conditions: conditions(true, true, false)},
			{Addresses: []string{"10.244.1.5"}, NodeName: "node-1", Conditions: conditions(true, true, false)},
		}},
		manual,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("slices (-want +got):\n%s", diff)
	}

	// What kube-proxy makes of them: "http" goes to the one ready Pod that has the port.
	rs := generate(t, []Service{web, externalDB}, got, realNodeConfig("node-1"))
	jumps := rulesMatching(t, rs, "nat", ClusterChainName("shop/web:http", "tcp"), " -> ")
	if len(jumps) != 1 || !strings.Contains(jumps[0], "10.244.1.2:8080") {
		t.Errorf("http endpoints = %q, want only 10.244.1.2:8080", jumps)
	}
	jumps = rulesMatching(t, rs, "nat", ClusterChainName("shop/web:admin", "tcp"), " -> ")
	if len(jumps) != 3 {
		t.Errorf("admin endpoints = %q, want the 3 ready Pods", jumps)
	}
	if got := rulesMatching(t, rs, "nat", ClusterChainName("shop/external-db:pg", "tcp"), "192.168.50.30:5432"); len(got) != 1 {
		t.Errorf("explicit endpoint not used: %q", got)
	}
}

func TestComputeEndpointSlicesPublishNotReady(t *testing.T) {
	svc := Service{Namespace: "db", Name: "pg", ClusterIP: "None", Selector: map[string]string{"app": "pg"},
		PublishNotReadyAddresses: true, Ports: []ServicePort{{Port: 5432}}}
	pods := []Pod{{Namespace: "db", Name: "pg-0", Labels: map[string]string{"app": "pg"}, IP: "10.244.1.7", NodeName: "node-1"}}
	got := ComputeEndpointSlices([]Service{svc}, pods, nil)
	want := []EndpointSlice{{Namespace: "db", ServiceName: "pg", Ports: []EndpointPort{{Protocol: ProtocolTCP, Port: 5432}},
		Endpoints: []Endpoint{{Addresses: []string{"10.244.1.7"}, NodeName: "node-1", Conditions: conditions(true, false, false)}}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("publishNotReadyAddresses (-want +got):\n%s", diff)
	}
}

func TestComputeEndpointSlicesNoEndpoints(t *testing.T) {
	svc := webService()
	got := ComputeEndpointSlices([]Service{svc}, []Pod{{Namespace: "default", Name: "other", Labels: map[string]string{"app": "db"}, IP: "10.244.1.2"}}, nil)
	if len(got) != 0 {
		t.Errorf("slices for a service selecting nothing: %+v", got)
	}
	rs := generate(t, []Service{svc}, got, realNodeConfig("node-1"))
	if got := rulesMatching(t, rs, "filter", chainServices, "has no endpoints", "-j REJECT"); len(got) != 1 {
		t.Errorf("service without endpoints is not rejected: %q", got)
	}
}
