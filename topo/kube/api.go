package kube

// The types below mirror the parts of core/v1 Service, discovery/v1 EndpointSlice and
// core/v1 Pod that kube-proxy and the EndpointSlice controller read. Field names follow
// the Kubernetes API; empty values take the API defaults noted on each field.

// ServiceType is spec.type.
type ServiceType string

// Service types. ExternalName services are DNS aliases: kube-proxy ignores them.
const (
	ServiceTypeClusterIP    ServiceType = "ClusterIP"
	ServiceTypeNodePort     ServiceType = "NodePort"
	ServiceTypeLoadBalancer ServiceType = "LoadBalancer"
	ServiceTypeExternalName ServiceType = "ExternalName"
)

// Protocol is the L4 protocol of a service or container port.
type Protocol string

// Protocols kube-proxy supports.
const (
	ProtocolTCP  Protocol = "TCP"
	ProtocolUDP  Protocol = "UDP"
	ProtocolSCTP Protocol = "SCTP"
)

// TrafficPolicy is spec.externalTrafficPolicy or spec.internalTrafficPolicy.
type TrafficPolicy string

// Traffic policies.
const (
	TrafficPolicyCluster TrafficPolicy = "Cluster"
	TrafficPolicyLocal   TrafficPolicy = "Local"
)

// SessionAffinity is spec.sessionAffinity.
type SessionAffinity string

// Session affinity modes.
const (
	SessionAffinityNone     SessionAffinity = "None"
	SessionAffinityClientIP SessionAffinity = "ClientIP"
)

// DefaultStickyTimeoutSeconds is the API default of
// spec.sessionAffinityConfig.clientIP.timeoutSeconds.
const DefaultStickyTimeoutSeconds = 10800

// Service is a core/v1 Service.
type Service struct {
	Namespace string
	Name      string
	// Type defaults to ClusterIP.
	Type ServiceType
	// ClusterIP "" or "None" (headless) makes kube-proxy ignore the service.
	ClusterIP string
	Ports     []ServicePort
	// Selector chooses the Pods behind the service. A nil selector means the endpoints
	// are managed by hand: pass them as EndpointSlices.
	Selector map[string]string
	// PublishNotReadyAddresses marks every selected Pod ready.
	PublishNotReadyAddresses bool
	ExternalIPs              []string
	LoadBalancerSourceRanges []string
	// ExternalTrafficPolicy and InternalTrafficPolicy default to Cluster.
	ExternalTrafficPolicy TrafficPolicy
	InternalTrafficPolicy TrafficPolicy
	// SessionAffinity defaults to None; SessionAffinityTimeoutSeconds (0: 10800) is
	// spec.sessionAffinityConfig.clientIP.timeoutSeconds.
	SessionAffinity               SessionAffinity
	SessionAffinityTimeoutSeconds int32
	// HealthCheckNodePort is used only by LoadBalancer services with
	// externalTrafficPolicy Local, as in Kubernetes.
	HealthCheckNodePort int32
	// LoadBalancerIngress is status.loadBalancer.ingress.
	LoadBalancerIngress []LoadBalancerIngress
}

// ServicePort is one entry of spec.ports.
type ServicePort struct {
	// Name may be empty only for a service with a single port.
	Name string
	// Protocol defaults to TCP.
	Protocol Protocol
	Port     int32
	// TargetPort defaults to Port.
	TargetPort TargetPort
	// NodePort is 0 when none is allocated.
	NodePort int32
}

// TargetPort is the intstr targetPort of a service port: a port number, or the name of a
// container port. The zero value means "same as the service port", the API default.
type TargetPort struct {
	Number int32
	Name   string
}

// TargetPortNumber returns a numeric target port.
func TargetPortNumber(n int32) TargetPort { return TargetPort{Number: n} }

// TargetPortName returns a target port that names a container port.
func TargetPortName(name string) TargetPort { return TargetPort{Name: name} }

// LoadBalancerIPMode is status.loadBalancer.ingress[].ipMode.
type LoadBalancerIPMode string

// Load balancer IP modes. With Proxy, kube-proxy does not capture the VIP on the nodes.
const (
	LoadBalancerIPModeVIP   LoadBalancerIPMode = "VIP"
	LoadBalancerIPModeProxy LoadBalancerIPMode = "Proxy"
)

// LoadBalancerIngress is one entry of status.loadBalancer.ingress.
type LoadBalancerIngress struct {
	IP string
	// IPMode defaults to VIP.
	IPMode LoadBalancerIPMode
}

// EndpointSlice is a discovery/v1 EndpointSlice, reduced to what kube-proxy reads.
type EndpointSlice struct {
	Namespace string
	// ServiceName is the kubernetes.io/service-name label.
	ServiceName string
	Ports       []EndpointPort
	Endpoints   []Endpoint
}

// EndpointPort is one entry of an EndpointSlice's ports. It matches the service port
// with the same name and protocol.
type EndpointPort struct {
	Name string
	// Protocol defaults to TCP.
	Protocol Protocol
	// Port is the port on the endpoints; 0 means unset and the port is ignored.
	Port int32
}

// Endpoint is one entry of an EndpointSlice's endpoints.
type Endpoint struct {
	// Addresses holds the endpoint's IPs; like kube-proxy, only the first is used.
	Addresses []string
	// NodeName is the node hosting the endpoint; endpoints are local to the node of
	// that name.
	NodeName   string
	Conditions EndpointConditions
}

// EndpointConditions are the endpoint conditions. As in the API, a nil Ready or Serving
// means true and a nil Terminating means false.
type EndpointConditions struct {
	Ready       *bool
	Serving     *bool
	Terminating *bool
}

// IsReady reports the Ready condition, true when unset.
func (c EndpointConditions) IsReady() bool { return c.Ready == nil || *c.Ready }

// IsServing reports the Serving condition, true when unset.
func (c EndpointConditions) IsServing() bool { return c.Serving == nil || *c.Serving }

// IsTerminating reports the Terminating condition, false when unset.
func (c EndpointConditions) IsTerminating() bool { return c.Terminating != nil && *c.Terminating }

// Pod is what the EndpointSlice controller reads from a core/v1 Pod.
type Pod struct {
	Namespace string
	Name      string
	Labels    map[string]string
	// IP is status.podIP; a Pod without an IP is never an endpoint.
	IP       string
	NodeName string
	// Ready is the Pod's Ready condition.
	Ready bool
	// Terminating means the Pod has a deletion timestamp.
	Terminating bool
	Ports       []ContainerPort
}

// ContainerPort is a port declared by one of the Pod's containers.
type ContainerPort struct {
	Name string
	Port int32
	// Protocol defaults to TCP.
	Protocol Protocol
}

func protocolOrTCP(p Protocol) Protocol {
	if p == "" {
		return ProtocolTCP
	}
	return p
}
