package kube

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Chain-name prefixes of kube-proxy's per-service chains. SVC, SVL, EXT and FW of one
// service port share one hash; SEP chains hash the endpoint too.
const (
	clusterChainPrefix  = "KUBE-SVC-"
	localChainPrefix    = "KUBE-SVL-"
	externalChainPrefix = "KUBE-EXT-"
	firewallChainPrefix = "KUBE-FW-"
	endpointChainPrefix = "KUBE-SEP-"
)

// ServicePortName renders a service port the way kube-proxy names it in chain hashes and
// comments: "namespace/name:port", or "namespace/name" when the port is unnamed.
func ServicePortName(namespace, name, port string) string {
	if port == "" {
		return namespace + "/" + name
	}
	return namespace + "/" + name + ":" + port
}

// ClusterChainName is the KUBE-SVC chain of a service port (Cluster traffic policy).
func ClusterChainName(servicePortName string, protocol Protocol) string {
	return clusterChainPrefix + portProtoHash(servicePortName, protocol)
}

// LocalChainName is the KUBE-SVL chain of a service port (Local traffic policy).
func LocalChainName(servicePortName string, protocol Protocol) string {
	return localChainPrefix + portProtoHash(servicePortName, protocol)
}

// ExternalChainName is the KUBE-EXT chain of a service port (NodePort, external IPs,
// load balancer IPs).
func ExternalChainName(servicePortName string, protocol Protocol) string {
	return externalChainPrefix + portProtoHash(servicePortName, protocol)
}

// FirewallChainName is the KUBE-FW chain of a service port (loadBalancerSourceRanges).
func FirewallChainName(servicePortName string, protocol Protocol) string {
	return firewallChainPrefix + portProtoHash(servicePortName, protocol)
}

// EndpointChainName is the KUBE-SEP chain of one endpoint ("10.0.0.1:80") of a service port.
func EndpointChainName(servicePortName string, protocol Protocol, endpoint string) string {
	return endpointChainPrefix + hash16(servicePortName+lowerProtocol(protocol)+endpoint)
}

// portProtoHash is kube-proxy's 16-character chain suffix: iptables limits chain names to
// 28 characters, so the service port name and protocol are hashed (SHA-256, base32).
func portProtoHash(servicePortName string, protocol Protocol) string {
	return hash16(servicePortName + lowerProtocol(protocol))
}

func hash16(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base32.StdEncoding.EncodeToString(sum[:])[:16]
}

// kube-proxy hashes and matches the protocol in lower case ("-p tcp").
func lowerProtocol(p Protocol) string { return strings.ToLower(string(protocolOrTCP(p))) }

// Probability is the statistic-match probability kube-proxy gives the rule that picks one
// of n remaining endpoints: 1/n with ten decimals, as "%0.10f" prints it.
func Probability(n int) string { return fmt.Sprintf("%0.10f", 1.0/float64(n)) }

// probabilities precomputes Probability(1..max); index n holds Probability(n).
func probabilities(max int) []string {
	p := make([]string, max+1)
	for n := 1; n <= max; n++ {
		p[n] = Probability(n)
	}
	return p
}

// endpointString is how kube-proxy prints an endpoint: net.JoinHostPort.
func endpointString(ip string, port int32) string {
	return net.JoinHostPort(ip, strconv.Itoa(int(port)))
}
