package node

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"github.com/vishvananda/netlink"

	"github.com/labctl/labctl/node/nodetest"
	"github.com/labctl/labctl/topo/plan"
	"github.com/labctl/labctl/verify/agent"
)

// These tests build clusters for real and send traffic through kube-proxy's and
// flannel's rules, with the probe agent running inside this test process.

// clusterLab is a running lab with its agent.
type clusterLab struct {
	t *testing.T
	p *plan.Plan
}

func upCluster(t *testing.T, src string) *clusterLab {
	t.Helper()
	p := compileLab(t, src)
	upForTest(t, p)
	assertVethsUp(t, p)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- agent.Serve(ctx, agent.ConfigFor(p, NetnsDir), func() { close(ready) }) }()
	// Registered after upForTest's cleanup, so it runs first: the agent's sockets
	// must be closed before the namespaces go.
	t.Cleanup(func() { cancel(); <-done })
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("agent: %v", err)
	}
	return &clusterLab{t: t, p: p}
}

// assertVethsUp checks that Up returned with every veth operationally up (see
// waitLinksUp): a Pod whose veth is not yet active loses its first ARP request, and
// a probe sent right after up would wait a second for the retry.
func assertVethsUp(t *testing.T, p *plan.Plan) {
	t.Helper()
	for _, n := range p.Namespaces {
		h := handleIn(t, n.NetNS)
		links, err := h.LinkList()
		if err != nil {
			t.Fatalf("%s: %v", n.Name, err)
		}
		for _, link := range links {
			if link.Type() == "veth" && link.Attrs().OperState != netlink.OperUp {
				t.Errorf("%s: veth %s is %s when up has returned, want up", n.Name, link.Attrs().Name, link.Attrs().OperState)
			}
		}
	}
}

// ask sends one TCP request from a host to target and returns the answer.
func (l *clusterLab) ask(from, target string) (agent.Answer, error) {
	l.t.Helper()
	netns, err := ns.GetNS(NetnsPath(l.p.Namespace(from).NetNS))
	if err != nil {
		l.t.Fatal(err)
	}
	defer netns.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	ans, _, err := agent.Ask(ctx, &agent.NetNSDialer{NetNS: netns}, agent.Hop{Target: target, Protocol: agent.TCP, TimeoutMS: 700}, agent.Request{})
	return ans, err
}

// mustAsk asks and fails the test unless the answer comes from one of the hosts.
func (l *clusterLab) mustAsk(from, target string, answeredBy ...string) agent.Answer {
	l.t.Helper()
	ans, err := l.ask(from, target)
	if err != nil {
		l.t.Fatalf("%s -> %s: %v", from, target, err)
	}
	if !contains(answeredBy, ans.Host) {
		l.t.Fatalf("%s -> %s: answered by %s, want one of %v", from, target, ans.Host, answeredBy)
	}
	return ans
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func remoteIP(t *testing.T, a agent.Answer) string {
	t.Helper()
	ap, err := netip.ParseAddrPort(a.Remote)
	if err != nil {
		t.Fatalf("answer remote %q: %v", a.Remote, err)
	}
	return ap.Addr().String()
}

const twoNodes = `apiVersion: labctl.dev/v1
kind: Lab
name: NAME
networks:
  - {name: nodes, cidr: 192.168.50.0/24}
  - {name: internet, cidr: 203.0.113.0/24}
hosts:
  - name: client
    interfaces: [{network: internet, address: 203.0.113.10}]
    routes: [{to: 198.51.100.0/24, via: lb}, {to: 192.168.50.0/24, via: lb}]
  - name: internet-host
    interfaces: [{network: internet, address: 203.0.113.100}]
    routes: [{to: 192.168.50.0/24, via: lb}]
    servers: [80]
cluster:
  cni: {backend: BACKEND, masquerade: flannel}
  loadBalancer: {network: internet, address: 203.0.113.1}
  nodes:
    - {name: node-1, address: 192.168.50.11}
    - {name: node-2, address: 192.168.50.12}
  pods:
    - {name: client-0, node: node-1, ports: [8080]}
    - {name: web-0, node: node-2, labels: {app: web}, ports: [8080]}
  services:
    - {name: web, clusterIP: 10.96.0.10, selector: {app: web}, ports: [{port: 80, targetPort: "8080"}]}
    - {name: web-lb, type: LoadBalancer, loadBalancerIP: 198.51.100.80, externalTrafficPolicy: POLICY,
       selector: {app: web}, ports: [{port: 80, targetPort: "8080", nodePort: 30080}]}
`

func twoNodeLab(backend, policy string) string {
	return strings.NewReplacer("BACKEND", backend, "POLICY", policy).Replace(twoNodes)
}

func TestClusterServiceOnOtherNode(t *testing.T) {
	nodetest.RequireRoot(t)
	for _, backend := range []string{"host-gw", "vxlan"} {
		t.Run(backend, func(t *testing.T) {
			l := upCluster(t, twoNodeLab(backend, "Cluster"))
			ans := l.mustAsk("client-0", "10.96.0.10:80", "web-0")
			if got := remoteIP(t, ans); got != "10.244.1.2" {
				t.Errorf("web-0 saw %s, want client-0's Pod IP 10.244.1.2 (flannel keeps Pod IPs inside the cluster)", got)
			}
		})
	}
}

func TestClusterLoadBalancerPolicies(t *testing.T) {
	nodetest.RequireRoot(t)
	t.Run("Cluster", func(t *testing.T) {
		l := upCluster(t, twoNodeLab("host-gw", "Cluster"))
		seen := map[string]bool{}
		for range 20 {
			seen[remoteIP(t, l.mustAsk("client", "198.51.100.80:80", "web-0"))] = true
		}
		if seen["203.0.113.10"] {
			t.Errorf("with externalTrafficPolicy Cluster the Pod saw the client's address: %v", seen)
		}
		// node-1 forwards to node-2 and masquerades to its own address; node-2
		// masquerades to its bridge address, the way out to a local Pod.
		for ip := range seen {
			if ip != "192.168.50.11" && ip != "10.244.2.1" {
				t.Errorf("Pod saw %s, want node-1's IP or node-2's cni0 address", ip)
			}
		}
	})
	t.Run("Local", func(t *testing.T) {
		l := upCluster(t, twoNodeLab("host-gw", "Local"))
		for range 20 {
			// The load balancer only targets node-2, which has the endpoint: every
			// connection succeeds and keeps the client's address.
			if got := remoteIP(t, l.mustAsk("client", "198.51.100.80:80", "web-0")); got != "203.0.113.10" {
				t.Fatalf("with externalTrafficPolicy Local the Pod saw %s, want the client 203.0.113.10", got)
			}
		}
		// Straight to node-1's NodePort, which has no local endpoint: dropped.
		if _, err := l.ask("client", "192.168.50.11:30080"); agent.Classify(err) != agent.Timeout {
			t.Errorf("NodePort of a node without local endpoint: got %v, want a timeout (DROP)", err)
		}
	})
}

func TestClusterPodEgressIsMasqueradedToNodeIP(t *testing.T) {
	nodetest.RequireRoot(t)
	l := upCluster(t, twoNodeLab("host-gw", "Cluster"))
	ans := l.mustAsk("client-0", "203.0.113.100:80", "internet-host")
	if got := remoteIP(t, ans); got != "192.168.50.11" {
		t.Errorf("the internet host saw %s, want node-1's IP 192.168.50.11", got)
	}
}

const hairpinLab = `apiVersion: labctl.dev/v1
kind: Lab
name: NAME
cluster:
  nodes:
    - {name: node-1 EXTRA}
  pods:
    - {name: web-0, node: node-1, labels: {app: web}, ports: [8080]}
  services:
    - {name: web, clusterIP: 10.96.0.10, selector: {app: web}, ports: [{port: 80, targetPort: "8080"}]}
`

func TestClusterHairpin(t *testing.T) {
	nodetest.RequireRoot(t)
	cases := []struct {
		name, node string
		works      bool
	}{
		{"hairpin mode and KUBE-MARK-MASQ", "", true},
		{"without bridge hairpin mode", ", hairpinMode: false", false},
		{"without KUBE-MARK-MASQ", `, iptables: "iptables -t nat -F KUBE-MARK-MASQ"`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := upCluster(t, strings.Replace(hairpinLab, " EXTRA", c.node, 1))
			ans, err := l.ask("web-0", "10.96.0.10:80")
			if !c.works {
				if err == nil {
					t.Fatalf("web-0 reached itself through its Service (answer %+v); the reply should be lost", ans)
				}
				return
			}
			if err != nil || ans.Host != "web-0" {
				t.Fatalf("web-0 -> its Service: %+v, %v", ans, err)
			}
			if got := remoteIP(t, ans); got != "10.244.1.1" {
				t.Errorf("web-0 saw %s, want node-1's cni0 address 10.244.1.1 (masqueraded hairpin)", got)
			}
		})
	}
}

const seed003Lab = `apiVersion: labctl.dev/v1
kind: Lab
name: NAME
cluster:
  clusterCIDR: 172.7.0.0/16
  cni: {bridge: docker0, masquerade: MODE}
  nodes:
    - {name: hdss7-21, podCIDR: 172.7.21.0/24}
    - {name: hdss7-22, podCIDR: 172.7.22.0/24}
  pods:
    - {name: pod-a, node: hdss7-21, address: 172.7.21.2}
    - {name: pod-b, node: hdss7-22, ports: [80]}
`

func TestClusterCrossNodeMasquerade(t *testing.T) {
	nodetest.RequireRoot(t)
	cases := []struct{ name, masquerade, want string }{
		{"flannel", "flannel", "172.7.21.2"},
		{"docker-default", "docker-default", "192.168.50.1"}, // hdss7-21's node IP: the Pod IP is hidden
		{"docker-optimized", "docker-optimized", "172.7.21.2"},
		{"none", "none", "172.7.21.2"},
		// 172.7.0.0/16 is not RFC 1918, so ip-masq-agent's default masquerades it on
		// both nodes: hdss7-21 hides pod-a behind its node IP, and hdss7-22, where the
		// packet is routed into docker0, hides that behind its bridge address.
		{"ip-masq-agent", "ip-masq-agent", "172.7.22.1"},
		{"ip-masq-agent with the cluster CIDR", "ip-masq-agent, nonMasqueradeCIDRs: [172.7.0.0/16]", "172.7.21.2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := upCluster(t, strings.Replace(seed003Lab, "MODE", c.masquerade, 1))
			ans := l.mustAsk("pod-a", "172.7.22.2:80", "pod-b")
			if got := remoteIP(t, ans); got != c.want {
				t.Errorf("pod-b saw %s, want %s", got, c.want)
			}
		})
	}
}
