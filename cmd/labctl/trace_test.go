package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/labctl/labctl/node"
	"github.com/labctl/labctl/node/nodetest"
	"github.com/labctl/labctl/topo/plan"
	"github.com/labctl/labctl/verify"
)

// TestTraceOfTheLoadBalancerLab traces client -> LB VIP in labs/lb-nodeport.yaml
// (under a name of its own): the load balancer's DNAT to a node's NodePort, that
// node's kube-proxy chains down to the DNAT to web-0, its MASQUERADE, and web-0
// answering. The load balancer picks node-1 or node-2 at random; either way the text
// and the JSON must say the same.
func TestTraceOfTheLoadBalancerLab(t *testing.T) {
	nodetest.RequireRoot(t)
	src, err := os.ReadFile("../../labs/lb-nodeport.yaml")
	if err != nil {
		t.Fatal(err)
	}
	lab := uniqueLabName()
	file := writeLab(t, regexp.MustCompile(`(?m)^name: .*$`).ReplaceAllString(string(src), "name: "+lab))
	t.Cleanup(func() { node.Down(lab) })
	if r := runLabctl(t, "", "up", "-q", file); r.code != 0 {
		t.Fatalf("up: exit %d\n%s", r.code, r.stderr)
	}
	args := []string{"trace", lab, "client", "loadbalancer/web-cluster:80"}
	r := runLabctl(t, "", args...)
	if r.code != 0 {
		t.Fatalf("trace: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^client 203\.0\.113\.10:\d+ -> 198\.51\.100\.10:80 tcp: answered$`),
		regexp.MustCompile(`(?m)^  lb +.*> DNAT  DNAT 198\.51\.100\.10:80 -> 192\.168\.50\.1[12]:30080$`),
		regexp.MustCompile(`(?m)^  node-[12] +PREROUTING > KUBE-SERVICES > KUBE-NODEPORTS > KUBE-EXT-\w+ > (KUBE-MARK-MASQ > )?KUBE-SVC-\w+ > KUBE-SEP-\w+ > DNAT  DNAT 192\.168\.50\.1[12]:30080 -> 10\.244\.1\.2:8080$`),
		regexp.MustCompile(`(?m)^  node-[12] +POSTROUTING > KUBE-POSTROUTING > MASQUERADE  SNAT src 203\.0\.113\.10:\d+ -> (10\.244\.1\.1|192\.168\.50\.12):\d+$`),
		regexp.MustCompile(`(?m)^  web-0 +answered; saw source (10\.244\.1\.1|192\.168\.50\.12):\d+$`),
	} {
		if !want.MatchString(r.stdout) {
			t.Errorf("trace text does not match %s:\n%s", want, r.stdout)
		}
	}

	r = runLabctl(t, "", append(args, "-o", "json")...)
	var tr verify.Trace
	if err := json.Unmarshal([]byte(r.stdout), &tr); r.code != 0 || err != nil {
		t.Fatalf("trace -o json: exit %d, %v\n%s\n%s", r.code, err, r.stdout, r.stderr)
	}
	if tr.Outcome != "answered" || tr.AnsweredBy != "web-0" || tr.Target != "198.51.100.10:80" || len(tr.Hops) < 2 {
		t.Fatalf("trace JSON: %+v", tr)
	}
	lb, nodeHop := tr.Hops[0], tr.Hops[1]
	nodeIP := map[string]string{"node-1": "192.168.50.11", "node-2": "192.168.50.12"}[nodeHop.Host]
	masq := map[string]string{"node-1": "10.244.1.1", "node-2": "192.168.50.12"}[nodeHop.Host]
	if lb.Host != "lb" || lb.DNAT != "198.51.100.10:80 -> "+nodeIP+":30080" {
		t.Errorf("first hop: want lb DNATing to %s's NodePort, got %+v", nodeHop.Host, lb)
	}
	if nodeHop.DNAT != nodeIP+":30080 -> 10.244.1.2:8080" || !strings.HasPrefix(nodeHop.SNAT, tr.Client.String()+" -> "+masq+":") {
		t.Errorf("second hop: want %s DNATing to web-0 and masquerading to %s, got %+v", nodeHop.Host, masq, nodeHop)
	}
	var chains []string
	for _, rule := range nodeHop.Rules {
		if rule.Table == "nat" {
			chains = append(chains, rule.Chain+" "+rule.Target)
		}
	}
	for _, prefix := range []string{"KUBE-NODEPORTS KUBE-EXT-", "KUBE-EXT-", "KUBE-SVC-", "KUBE-SEP-", "KUBE-POSTROUTING MASQUERADE"} {
		if !slices.ContainsFunc(chains, func(c string) bool { return strings.HasPrefix(c, prefix) }) {
			t.Errorf("%s's nat rules lack %q: %q", nodeHop.Host, prefix, chains)
		}
	}
	if !strings.HasPrefix(tr.SourceSeen, masq+":") {
		t.Errorf("web-0 saw %s, want %s's masquerade address %s", tr.SourceSeen, nodeHop.Host, masq)
	}

	// A lab whose sending host's namespace is gone: the trace cannot run (exit 1),
	// which is not bad input (exit 2).
	ns := plan.InstancePrefix(lab) + "client"
	if out, err := exec.Command("ip", "netns", "delete", ns).CombinedOutput(); err != nil {
		t.Fatalf("ip netns delete %s: %v %s", ns, err, out)
	}
	if r := runLabctl(t, "", args...); r.code != 1 || !strings.Contains(r.stderr, "client") {
		t.Errorf("trace from a host whose namespace is gone: exit %d, want 1\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if r := runLabctl(t, "", "trace", lab, "nobody", "web-0:8080"); r.code != 2 || !strings.Contains(r.stderr, `no host "nobody"`) {
		t.Errorf("trace from an unknown host: exit %d, want 2\n%s", r.code, r.stderr)
	}
}

// TestTraceRejectsBadFlags: bad values are usage errors (exit 2), before anything
// is read or sent, root or not.
func TestTraceRejectsBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--port", "0"}, "--port 0: use a port from 1 to 65535"},
		{[]string{"--port", "65536"}, "--port 65536: use a port from 1 to 65535"},
		{[]string{"--port", "-1"}, "--port -1: use a port from 1 to 65535"},
		{[]string{"--proto", "sctp"}, `--proto "sctp": use tcp, udp, http or icmp`},
		{[]string{"-o", "yaml"}, `--output "yaml": use text or json`},
	} {
		r := runLabctl(t, "", append([]string{"trace", "somelab", "client", "server:80"}, c.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, c.want) {
			t.Errorf("trace %s: exit %d, want 2 saying %q\n%s", strings.Join(c.args, " "), r.code, c.want, r.stderr)
		}
	}
}
