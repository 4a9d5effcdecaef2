package node

import (
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/labctl/labctl/node/iptables"
	"github.com/labctl/labctl/node/nodetest"
	"github.com/labctl/labctl/topo/plan"
	"github.com/labctl/labctl/verify/agent"
)

// rules returns what reads the kernel's rules of the lab's hosts (go-iptables, with
// the lab's iptables backend) and each host's namespace path.
func (l *clusterLab) rules() (iptables.Runner, func(host string) string) {
	return iptables.Runner{Backend: l.p.Backend}, func(host string) string { return NetnsPath(l.p.Namespace(host).NetNS) }
}

// packets sums the packet counters of a chain of a host.
func (l *clusterLab) packets(host, table, chain string) uint64 {
	l.t.Helper()
	r, path := l.rules()
	counts, err := r.Packets(path(host), table, chain)
	if err != nil {
		l.t.Fatalf("%s: counters of %s/%s: %v", host, table, chain, err)
	}
	var sum uint64
	for _, c := range counts {
		sum += c
	}
	return sum
}

// addressIn returns the address a host has inside prefix.
func addressIn(t *testing.T, p *plan.Plan, host string, prefix netip.Prefix) netip.Addr {
	t.Helper()
	for _, v := range p.Veths {
		for _, e := range []plan.End{v.A, v.B} {
			for _, a := range e.Addresses {
				if e.Namespace == host && prefix.Contains(a.Addr()) {
					return a.Addr()
				}
			}
		}
	}
	t.Fatalf("%s has no address in %s", host, prefix)
	return netip.Addr{}
}

// withLB changes the load balancer line of twoNodes.
func withLB(lab, lb string) string {
	return strings.Replace(lab, "  loadBalancer: {network: internet, address: 203.0.113.1}", "  loadBalancer: "+lb, 1)
}

// The kubelet's KUBE-FIREWALL jumps sit below kube-proxy's in the kernel too, as on a
// real node (the plan's order is what iptables-restore loads).
func TestClusterKubeletFirewallJumpsLastInKernel(t *testing.T) {
	nodetest.RequireRoot(t)
	l := upCluster(t, strings.Replace(hairpinLab, " EXTRA", "", 1))
	r, path := l.rules()
	for _, chain := range []string{"INPUT", "OUTPUT"} {
		got, err := r.List(path("node-1"), "filter", chain)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) < 3 || got[len(got)-1] != "-A "+chain+" -j KUBE-FIREWALL" {
			t.Errorf("node-1 filter %s in the kernel:\n%s\nwant kube-proxy's jumps first and -j KUBE-FIREWALL last", chain, strings.Join(got, "\n"))
		}
	}
}

// A cloud load balancer drops clients outside loadBalancerSourceRanges itself, before
// forwarding: the client inside the range is answered, the one outside times out, and
// the drop is counted on the load balancer, whatever its mode.
func TestClusterLoadBalancerSourceRanges(t *testing.T) {
	nodetest.RequireRoot(t)
	for _, mode := range []string{"dnat", "proxy"} {
		t.Run(mode, func(t *testing.T) {
			lab := withLB(twoNodeLab("host-gw", "Cluster"), "{network: internet, address: 203.0.113.1, mode: "+mode+"}")
			lab = strings.Replace(lab, "selector: {app: web}, ports: [{port: 80, targetPort: \"8080\", nodePort: 30080}]}",
				"loadBalancerSourceRanges: [203.0.113.0/28], selector: {app: web}, ports: [{port: 80, targetPort: \"8080\", nodePort: 30080}]}", 1)
			lab = strings.Replace(lab, "  - name: internet-host\n",
				"  - name: stranger\n    interfaces: [{network: internet, address: 203.0.113.200}]\n    routes: [{to: 198.51.100.0/24, via: lb}]\n  - name: internet-host\n", 1)
			l := upCluster(t, lab)
			r, path := l.rules()
			vip := []string{"-m", "tcp", "-p", "tcp", "-d", "198.51.100.80", "--dport", "80", "-j", "DROP"}
			rule := append([]string{"-m", "comment", "--comment", "default/web-lb traffic not accepted by " + lbFirewallChain(t, l)}, vip...)
			if ok, err := r.Exists(path("lb"), "filter", "LB-FIREWALL", rule...); err != nil || !ok {
				t.Fatalf("lb has no source-range DROP for the VIP (found %v, %v)", ok, err)
			}
			l.mustAsk("client", "198.51.100.80:80", "web-0")
			if _, err := l.ask("stranger", "198.51.100.80:80"); agent.Classify(err) != agent.Timeout {
				t.Errorf("client outside loadBalancerSourceRanges: got %v, want a timeout (dropped silently, as clouds do)", err)
			}
			if n := l.packets("lb", "filter", "LB-FIREWALL"); n == 0 {
				t.Error("the load balancer's LB-FIREWALL dropped nothing: the stranger was stopped elsewhere")
			}
			// Still allowed after the drop: the range is per source, not a switch.
			l.mustAsk("client", "198.51.100.80:80", "web-0")
		})
	}
}

// lbFirewallChain finds the LB-FW chain of the lab's load balancer from the plan.
func lbFirewallChain(t *testing.T, l *clusterLab) string {
	t.Helper()
	for _, c := range l.p.Namespace("lb").Rules.Lookup("nat").Chains {
		if strings.HasPrefix(c.Name, "LB-FW-") {
			return c.Name
		}
	}
	t.Fatal("the plan has no LB-FW chain on lb")
	return ""
}

// A proxying load balancer SNATs to its own address: with externalTrafficPolicy Local
// the node keeps that source, so the Pod sees the load balancer, and only the node with
// the endpoint gets connections (counted in each node's KUBE-NODEPORTS).
func TestClusterLoadBalancerProxyMode(t *testing.T) {
	nodetest.RequireRoot(t)
	l := upCluster(t, withLB(twoNodeLab("host-gw", "Local"), "{network: internet, address: 203.0.113.1, mode: proxy}"))
	lbAddr := addressIn(t, l.p, "lb", netip.MustParsePrefix("192.168.50.0/24")).String()
	const tries = 20
	for range tries {
		if got := remoteIP(t, l.mustAsk("client", "198.51.100.80:80", "web-0")); got != lbAddr {
			t.Fatalf("web-0 saw %s, want the load balancer's own address %s (proxy mode)", got, lbAddr)
		}
	}
	if n := l.packets("node-1", "nat", "KUBE-NODEPORTS"); n != 0 {
		t.Errorf("node-1, which has no endpoint, got %d NodePort connections; the load balancer must skip it", n)
	}
	if n := l.packets("node-2", "nat", "KUBE-NODEPORTS"); n != tries {
		t.Errorf("node-2 got %d NodePort connections, want all %d", n, tries)
	}
}

// With masquerade none nothing rewrites a Pod's source on its way out: the internet
// host sees the Pod IP (a UDP datagram shows it), and a TCP connection cannot
// complete, since nothing routes Pod IPs back. That is why Pod egress is masqueraded.
func TestClusterPodEgressWithoutMasquerade(t *testing.T) {
	nodetest.RequireRoot(t)
	l := upCluster(t, strings.Replace(twoNodeLab("host-gw", "Cluster"), "masquerade: flannel", "masquerade: none", 1))
	var conn net.PacketConn
	err := InNetns(l.p.Namespace("internet-host").NetNS, func() (err error) {
		conn, err = net.ListenPacket("udp4", "203.0.113.100:9999")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	var out net.Conn
	err = InNetns(l.p.Namespace("client-0").NetNS, func() (err error) {
		out, err = net.Dial("udp4", "203.0.113.100:9999")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	if _, err := out.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 16)
	_, from, err := conn.ReadFrom(buf)
	if err != nil {
		t.Fatalf("the internet host received nothing from client-0: %v", err)
	}
	if got := from.(*net.UDPAddr).IP.String(); got != "10.244.1.2" {
		t.Errorf("the internet host saw %s, want client-0's Pod IP 10.244.1.2 (no masquerade)", got)
	}
	if _, err := l.ask("client-0", "203.0.113.100:80"); agent.Classify(err) != agent.Timeout {
		t.Errorf("TCP to the internet without masquerade: got %v, want a timeout (no route back to Pod IPs)", err)
	}
}

// kube-proxy's InterfaceNamePrefix detector with the veth prefix matches nothing on a
// bridge CNI: Pod packets enter the node by the bridge, so every one is marked and
// masqueraded, and the Pod behind a ClusterIP sees the node instead of the client Pod.
// BridgeInterface is the detector for bridges.
func TestClusterDetectLocalOnBridge(t *testing.T) {
	nodetest.RequireRoot(t)
	cases := []struct{ kubeProxy, want string }{
		{"{detectLocal: InterfaceNamePrefix, interfacePrefix: veth}", "192.168.50.11"},
		{"{detectLocal: BridgeInterface}", "10.244.1.2"},
	}
	for _, c := range cases {
		t.Run(strings.Fields(c.kubeProxy)[1], func(t *testing.T) {
			lab := strings.Replace(twoNodeLab("host-gw", "Cluster"), "  loadBalancer:", "  kubeProxy: "+c.kubeProxy+"\n  loadBalancer:", 1)
			l := upCluster(t, lab)
			if got := remoteIP(t, l.mustAsk("client-0", "10.96.0.10:80", "web-0")); got != c.want {
				t.Errorf("web-0 saw %s, want %s", got, c.want)
			}
		})
	}
}
