package rules

import (
	"fmt"
	"testing"
)

func show(text string, base *Ruleset) {
	rs, probs := Parse(text, nil, base)
	out, _ := rs.Render()
	fmt.Print(string(out))
	for _, p := range probs {
		fmt.Println("  ", p)
	}
	fmt.Println("=====")
}

func TestScratch(t *testing.T) {
	show(`# restore
*nat
:PREROUTING ACCEPT [0:0]
:KUBE-SVC - [0:0]
:FORWARD ACCEPT [0:0]
-A PREROUTING -j KUBE-SVC
-A KUBE-SVC -p tcp -d 10.96.0.1 --dport 443 -m comment --comment "default/kubernetes:https" -j DNAT --to-destination 192.168.1.2:6443
-A KUBE-SVC -j MASQUERADE
-A POSTROUTING -j KUBE-SVC # trailing
-A NOPE -j ACCEPT
-t nat -A INPUT
COMMIT
*filter
-A INPUT -m comment --comment 'x y' -j ACCEPT
-A INPUT -m comment --comment "x y -j ACCEPT
:LOOP1 - [0:0]
:LOOP2 - [0:0]
-A LOOP1 -j LOOP2
-A LOOP2 -j LOOP1
-A FORWARD -j LOOP1
iptables -A INPUT -j DROP
-P LOOP1 DROP
:INPUT REJECT
*bogus
-A X
COMMIT
COMMIT
`, nil)
	show(`iptables -N DNAT
iptables -N ABCDEFGHIJKLMNOPQRSTUVWXYZ123
iptables -N "A B"
iptables -A INPUT -s
iptables -A INPUT -s -j ACCEPT
iptables -A INPUT ACCEPT
iptables -A INPUT -p tcp -j ACCEPT -j DROP
iptables -A INPUT --dports 80,443 -p tcp -j ACCEPT
iptables -A INPUT -p tcp --dports 80,443 -j ACCEPT
iptables -A INPUT --to-destination 1.1.1.1 -j ACCEPT
iptables -t nat -A OUTPUT -j DNAT
iptables -I INPUT 5 -j ACCEPT
iptables -R INPUT 9 -j ACCEPT
iptables -D INPUT 7
iptables -A INPUT -A OUTPUT
iptables -L -n
iptables -F; iptables -X && iptables -Z
iptables -P INPUT accept
iptables -P FOO ACCEPT
iptables -N FOO; iptables -P FOO DROP
iptables -N FOO
iptables -A INPUT -j QUEUE
iptables -A INPUT -j HL
iptables -A FOO -j TPROXY --on-port 1
iptables -t mangle -A INPUT -p tcp -j TPROXY --on-port 1
iptables -t raw -A PREROUTING -j REJECT
iptables -t nat -A PREROUTING -j DROP
iptables -A FOO -j INPUT
nft add rule ip filter input drop
iptables -A INPUT -j ACCEPT | tee x
iptables -I INPUT 0
iptables -t
iptables --table=nat --append=POSTROUTING -o eth0 -j MASQUERADE
iptables -E FOO BAR
iptables -A INPUT -j FOO
iptables -X BAR
iptables -A INPUT -p tcp --dport 22 -j ACCEPT
iptables -D INPUT -j ACCEPT -p tcp --dport 22
iptables -D INPUT --dport 22 -p tcp -j ACCEPT
iptables -D INPUT -p TCP --destination-port 22 -j ACCEPT
iptables -A INPUT -s 10.0.0.1 -j ACCEPT
iptables -D INPUT -s 10.0.0.1/32 -j ACCEPT
`, nil)
}
