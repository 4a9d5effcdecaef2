package kube

import (
	"errors"
	"fmt"
	"slices"
)

// validate reports what the API server would have refused in a Service and what the
// generator needs: known enum values, ports in range, port names unique and present
// when there are several (two unnamed ports would get the same chain names).
func (svc *Service) validate() error {
	var errs []error
	oneOf := func(field string, value string, allowed ...string) {
		if value != "" && !slices.Contains(allowed, value) {
			errs = append(errs, fmt.Errorf("%s %q is not one of %q", field, value, allowed))
		}
	}
	oneOf("type", string(svc.Type), string(ServiceTypeClusterIP), string(ServiceTypeNodePort),
		string(ServiceTypeLoadBalancer), string(ServiceTypeExternalName))
	oneOf("externalTrafficPolicy", string(svc.ExternalTrafficPolicy), string(TrafficPolicyCluster), string(TrafficPolicyLocal))
	oneOf("internalTrafficPolicy", string(svc.InternalTrafficPolicy), string(TrafficPolicyCluster), string(TrafficPolicyLocal))
	oneOf("sessionAffinity", string(svc.SessionAffinity), string(SessionAffinityNone), string(SessionAffinityClientIP))
	for _, ing := range svc.LoadBalancerIngress {
		oneOf("load balancer ingress ipMode", string(ing.IPMode), string(LoadBalancerIPModeVIP), string(LoadBalancerIPModeProxy))
	}
	if svc.SessionAffinityTimeoutSeconds < 0 || svc.SessionAffinityTimeoutSeconds > 86400 {
		errs = append(errs, fmt.Errorf("session affinity timeout %d is outside 0..86400", svc.SessionAffinityTimeoutSeconds))
	}
	seen := map[string]bool{}
	for _, p := range svc.Ports {
		proto := protocolOrTCP(p.Protocol)
		oneOf(fmt.Sprintf("port %q: protocol", p.Name), string(proto), string(ProtocolTCP), string(ProtocolUDP), string(ProtocolSCTP))
		if p.Port <= 0 || p.Port > 65535 {
			errs = append(errs, fmt.Errorf("port %q: port %d is outside 1..65535", p.Name, p.Port))
		}
		if p.NodePort < 0 || p.NodePort > 65535 {
			errs = append(errs, fmt.Errorf("port %q: nodePort %d is outside 0..65535", p.Name, p.NodePort))
		}
		if p.Name == "" && len(svc.Ports) > 1 {
			errs = append(errs, errors.New("ports need names when there are several"))
		} else if seen[p.Name] {
			errs = append(errs, fmt.Errorf("port name %q is used twice", p.Name))
		}
		seen[p.Name] = true
	}
	return errors.Join(errs...)
}
