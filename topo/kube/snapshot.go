package kube

import (
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// largeClusterEndpointsThreshold is kube-proxy's: above this many endpoints it drops the
// comments of KUBE-SEP rules and endpoint jumps to keep the ruleset small.
const largeClusterEndpointsThreshold = 1000

// Snapshot is the cluster-wide input of kube-proxy (Services and EndpointSlices),
// digested once: everything that does not depend on the node — chain names, comments,
// sorted endpoints — is computed here, so generating the rules of one more node costs
// only the per-node decisions. A Snapshot is read-only and safe for concurrent use.
type Snapshot struct {
	ports []*servicePort
	// largeCluster is kube-proxy's large-cluster mode, which depends only on the
	// total number of endpoints.
	largeCluster  bool
	probabilities []string
}

// servicePort is kube-proxy's view of one port of one service (its servicePortInfo),
// with every string the rules need prepared.
type servicePort struct {
	service  string // "namespace/name"
	name     string // ServicePortName
	protocol string // lower case, as in "-p tcp"

	// Addresses and ports, as kube-proxy prints them.
	clusterIP           string
	port                string
	nodePort            string // "" without a NodePort
	nodePortNumber      int32
	healthCheckNodePort string // "" unless LoadBalancer with eTP=Local
	externalIPs         []string
	lbVIPs              []string // ingress IPs kube-proxy captures (VIP mode)
	lbIngressIPs        []string // all ingress IPs, owned by the cloud load balancer
	sourceRanges        []netip.Prefix

	loadBalancer  bool // type LoadBalancer
	affinity      bool // sessionAffinity ClientIP
	stickySeconds string

	internalLocal bool
	externalLocal bool
	// externallyAccessible is per port: a NodePort, external IPs or LB VIPs.
	externallyAccessible bool
	usesClusterEndpoints bool
	usesLocalEps         bool

	svcChain, svlChain, extChain, fwChain string
	comments                              serviceComments

	// endpoints are sorted by their "ip:port" string, as kube-proxy sorts them.
	endpoints []*endpoint
	// clusterEndpoints are the usable endpoints for Cluster policy: the ready ones,
	// or if there are none the serving and terminating ones. Node-independent.
	clusterEndpoints []*endpoint
	// anyUsable: some endpoint is ready, or serving and terminating.
	anyUsable bool
}

type serviceComments struct {
	clusterIP, externalIP, loadBalancerIP           string
	noEndpoints, noLocalEndpoints, healthCheck      string
	firewallDrop, firewallOther                     string
	externalMasquerade, podTraffic, localMasquerade string
	localRoute                                      string
}

type endpoint struct {
	ip          string
	hostPort    string // "ip:port"
	nodeName    string
	chain       string // KUBE-SEP-…
	jumpComment string // "ns/name:port -> ip:port"

	ready, serving, terminating bool
}

func (e *endpoint) servingTerminating() bool { return e.serving && e.terminating }

// NewSnapshot digests services and their EndpointSlices. Headless and ExternalName
// services, IPv6 addresses and endpoint ports that match no service port are ignored,
// as the IPv4 kube-proxy ignores them; malformed values are reported, all at once.
func NewSnapshot(services []Service, endpointSlices []EndpointSlice) (*Snapshot, error) {
	s := &Snapshot{}
	var errs []error
	seen := map[string]bool{}
	slicesByService := map[string][]*EndpointSlice{}
	for i := range endpointSlices {
		key := endpointSlices[i].Namespace + "/" + endpointSlices[i].ServiceName
		slicesByService[key] = append(slicesByService[key], &endpointSlices[i])
	}
	ordered := slices.Clone(services)
	slices.SortStableFunc(ordered, func(a, b Service) int {
		return cmp.Or(cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
	})
	maxEndpoints, total := 1, 0
	for i := range ordered {
		svc := &ordered[i]
		key := svc.Namespace + "/" + svc.Name
		if seen[key] {
			errs = append(errs, fmt.Errorf("service %s: defined twice", key))
			continue
		}
		seen[key] = true
		ports, err := newServicePorts(svc, slicesByService[key])
		if err != nil {
			errs = append(errs, fmt.Errorf("service %s: %w", key, err))
			continue
		}
		for _, sp := range ports {
			total += len(sp.endpoints)
			maxEndpoints = max(maxEndpoints, len(sp.endpoints))
		}
		s.ports = append(s.ports, ports...)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	s.largeCluster = total > largeClusterEndpointsThreshold
	s.probabilities = probabilities(maxEndpoints)
	return s, nil
}

// newServicePorts returns kube-proxy's service ports of svc, none for a headless or
// IPv6-only service.
func newServicePorts(svc *Service, endpointSlices []*EndpointSlice) ([]*servicePort, error) {
	if err := svc.validate(); err != nil {
		return nil, err
	}
	if svc.ClusterIP == "" || svc.ClusterIP == "None" || svc.Type == ServiceTypeExternalName {
		return nil, nil
	}
	clusterIP, err := parseIPSloppy(svc.ClusterIP)
	if err != nil {
		return nil, fmt.Errorf("clusterIP: %w", err)
	}
	if !clusterIP.Is4() {
		return nil, nil
	}
	externalIPs, err := ipv4Strings(svc.ExternalIPs)
	if err != nil {
		return nil, fmt.Errorf("externalIPs: %w", err)
	}
	var vips, ingress []string
	for _, ing := range svc.LoadBalancerIngress {
		ip, err := parseIPSloppy(ing.IP)
		if err != nil {
			return nil, fmt.Errorf("load balancer ingress: %w", err)
		}
		if !ip.Is4() {
			continue
		}
		ingress = append(ingress, ip.String())
		if ing.IPMode == "" || ing.IPMode == LoadBalancerIPModeVIP {
			vips = append(vips, ip.String())
		}
	}
	var ranges []netip.Prefix
	for _, r := range svc.LoadBalancerSourceRanges {
		// The API lets whitespace padding through; kube-proxy trims it.
		p, err := parseCIDRSloppy(strings.TrimSpace(r))
		if err != nil {
			return nil, fmt.Errorf("loadBalancerSourceRanges: %w", err)
		}
		if p.Addr().Is4() {
			ranges = append(ranges, p)
		}
	}

	svcType := cmp.Or(svc.Type, ServiceTypeClusterIP)
	// The service-level notions of the Kubernetes API helpers: the type decides
	// whether the service is externally accessible, hence whether eTP applies.
	typeExternal := svcType == ServiceTypeLoadBalancer || svcType == ServiceTypeNodePort ||
		(svcType == ServiceTypeClusterIP && len(svc.ExternalIPs) > 0)
	externalLocal := typeExternal && svc.ExternalTrafficPolicy == TrafficPolicyLocal
	internalLocal := svc.InternalTrafficPolicy == TrafficPolicyLocal
	affinity := svc.SessionAffinity == SessionAffinityClientIP
	sticky := svc.SessionAffinityTimeoutSeconds
	if sticky == 0 {
		sticky = DefaultStickyTimeoutSeconds
	}
	healthCheck := ""
	if svcType == ServiceTypeLoadBalancer && externalLocal && svc.HealthCheckNodePort != 0 {
		healthCheck = strconv.Itoa(int(svc.HealthCheckNodePort))
	}

	var out []*servicePort
	for _, p := range svc.Ports {
		proto := protocolOrTCP(p.Protocol)
		name := ServicePortName(svc.Namespace, svc.Name, p.Name)
		sp := &servicePort{
			service:             svc.Namespace + "/" + svc.Name,
			name:                name,
			protocol:            lowerProtocol(proto),
			clusterIP:           clusterIP.String(),
			port:                strconv.Itoa(int(p.Port)),
			nodePortNumber:      p.NodePort,
			healthCheckNodePort: healthCheck,
			externalIPs:         externalIPs,
			lbVIPs:              vips,
			lbIngressIPs:        ingress,
			sourceRanges:        ranges,
			loadBalancer:        svcType == ServiceTypeLoadBalancer,
			affinity:            affinity,
			stickySeconds:       strconv.Itoa(int(sticky)),
			internalLocal:       internalLocal,
			externalLocal:       externalLocal,
			svcChain:            ClusterChainName(name, proto),
			svlChain:            LocalChainName(name, proto),
			extChain:            ExternalChainName(name, proto),
			fwChain:             FirewallChainName(name, proto),
		}
		if p.NodePort != 0 {
			sp.nodePort = strconv.Itoa(int(p.NodePort))
		}
		sp.externallyAccessible = p.NodePort != 0 || len(vips) > 0 || len(externalIPs) > 0
		// Cluster endpoints are needed for Cluster internal policy, and for any
		// external access (even eTP=Local short-circuits local traffic to them).
		sp.usesClusterEndpoints = !internalLocal || sp.externallyAccessible
		sp.usesLocalEps = internalLocal || (externalLocal && sp.externallyAccessible)
		sp.comments = newServiceComments(name, sp.fwChain)
		sp.endpoints, err = matchEndpoints(name, proto, p.Name, endpointSlices)
		if err != nil {
			return nil, fmt.Errorf("port %q: %w", p.Name, err)
		}
		sp.categorizeClusterEndpoints()
		out = append(out, sp)
	}
	return out, nil
}

func newServiceComments(name, fwChain string) serviceComments {
	return serviceComments{
		clusterIP:          name + " cluster IP",
		externalIP:         name + " external IP",
		loadBalancerIP:     name + " loadbalancer IP",
		noEndpoints:        name + " has no endpoints",
		noLocalEndpoints:   name + " has no local endpoints",
		healthCheck:        name + " health check node port",
		firewallDrop:       name + " traffic not accepted by " + fwChain,
		firewallOther:      "other traffic to " + name + " will be dropped by KUBE-PROXY-FIREWALL",
		externalMasquerade: "masquerade traffic for " + name + " external destinations",
		podTraffic:         "pod traffic for " + name + " external destinations",
		localMasquerade:    "masquerade LOCAL traffic for " + name + " external destinations",
		localRoute:         "route LOCAL traffic for " + name + " external destinations",
	}
}

// matchEndpoints collects the endpoints of one service port from the service's slices:
// slice ports match by name and protocol, as in kube-proxy's EndpointSliceCache.
// Duplicates (the same ip:port in two slices) count once; the result is sorted by
// "ip:port" string, so 10.0.0.10:80 sorts before 10.0.0.2:80 as in kube-proxy.
func matchEndpoints(spName string, proto Protocol, portName string, endpointSlices []*EndpointSlice) ([]*endpoint, error) {
	var out []*endpoint
	seen := map[string]bool{}
	for _, sl := range endpointSlices {
		for _, port := range sl.Ports {
			if port.Name != portName || protocolOrTCP(port.Protocol) != proto || port.Port == 0 {
				continue
			}
			for _, e := range sl.Endpoints {
				if len(e.Addresses) == 0 {
					continue
				}
				ip, err := parseIPSloppy(e.Addresses[0])
				if err != nil {
					return nil, fmt.Errorf("endpoint: %w", err)
				}
				if !ip.Is4() {
					continue
				}
				hostPort := endpointString(ip.String(), port.Port)
				if seen[hostPort] {
					continue
				}
				seen[hostPort] = true
				out = append(out, &endpoint{
					ip:          ip.String(),
					hostPort:    hostPort,
					nodeName:    e.NodeName,
					ready:       e.Conditions.IsReady(),
					serving:     e.Conditions.IsServing(),
					terminating: e.Conditions.IsTerminating(),
					chain:       EndpointChainName(spName, proto, hostPort),
					jumpComment: spName + " -> " + hostPort,
				})
			}
		}
	}
	slices.SortFunc(out, func(a, b *endpoint) int { return strings.Compare(a.hostPort, b.hostPort) })
	return out, nil
}
