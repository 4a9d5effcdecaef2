package rules

import "testing"

// TestProblemsValues checks the problems Parse reports about option values: ports and
// IPv4 addresses iptables would refuse, found without the kernel.
func TestProblemsValues(t *testing.T) {
	const addrHint = "write four numbers from 0 to 255 separated by dots, e.g. 203.0.113.4"
	runProblemCases(t, []problemCase{
		{
			name: "port above 65535",
			text: "iptables -t nat -A PREROUTING -p tcp --dport 70000 -j DNAT --to-destination 10.0.0.2:8080",
			want: []Problem{{Line: 1, Col: 46, Msg: "--dport 70000: port 70000 is out of range", Hint: portHint}},
		},
		{
			name: "port 0",
			text: "iptables -A INPUT -p tcp --dport 0 -j ACCEPT",
			want: []Problem{{Line: 1, Col: 34, Msg: "--dport 0: port 0 is out of range", Hint: portHint}},
		},
		{
			name: "range that ends before it starts",
			text: "iptables -A INPUT -p udp --sport 2000:1000 -j ACCEPT",
			want: []Problem{{Line: 1, Col: 34, Msg: "--sport 2000:1000: the range ends before it starts", Hint: "write the lower port first: 1000:2000"}},
		},
		{
			name: "match range written with a dash",
			text: "iptables -A INPUT -p tcp --dport 1000-2000 -j ACCEPT",
			want: []Problem{{Line: 1, Col: 34, Msg: `--dport 1000-2000: ports are not separated by "-"`, Hint: "write a port range of --dport as FIRST:LAST, e.g. 1000:2000"}},
		},
		{
			name: "multiport list with a port out of range",
			text: "iptables -A INPUT -p tcp -m multiport --dports 80,443,65536 -j ACCEPT",
			want: []Problem{{Line: 1, Col: 48, Msg: "--dports 80,443,65536: port 65536 is out of range", Hint: portHint}},
		},
		{
			name: "address with a number above 255",
			text: "iptables -A INPUT -d 300.2.3.4 -j ACCEPT",
			want: []Problem{{Line: 1, Col: 22, Msg: "-d 300.2.3.4: 300.2.3.4 is not an IPv4 address", Hint: addrHint + ", optionally with /LENGTH"}},
		},
		{
			name: "address with five numbers",
			text: "iptables -A INPUT ! -s 10.0.0.0.1 -j DROP",
			want: []Problem{{Line: 1, Col: 24, Msg: "-s 10.0.0.0.1: 10.0.0.0.1 is not an IPv4 address", Hint: addrHint + ", optionally with /LENGTH"}},
		},
		{
			name: "prefix length above 32",
			text: "iptables -A INPUT -s 10.0.0.0/33 -j ACCEPT",
			want: []Problem{{Line: 1, Col: 22, Msg: `-s 10.0.0.0/33: prefix length "33" is out of range`, Hint: "an IPv4 prefix length goes from 0 to 32, e.g. /24"}},
		},
		{
			name: "IPv6 address",
			text: "iptables -A INPUT -s 2001:db8::1 -j ACCEPT",
			want: []Problem{{Line: 1, Col: 22, Msg: "-s 2001:db8::1: an IPv6 address; " + ipv4Only, Hint: "write an IPv4 address"}},
		},
		{
			name: "DNAT to a malformed address",
			text: "iptables -t nat -A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.300:8080",
			want: []Problem{{Line: 1, Col: 63, Msg: `--to-destination 10.0.0.300:8080: "10.0.0.300" is not an IPv4 address`,
				Hint: addrHint + ", or a range FIRST-LAST, then :PORT to change the port"}},
		},
		{
			name: "DNAT to a port out of range",
			text: "iptables -t nat -A PREROUTING -p tcp -j DNAT --to-destination 10.0.0.2:99999",
			want: []Problem{{Line: 1, Col: 63, Msg: "--to-destination 10.0.0.2:99999: port 99999 is out of range", Hint: portHint}},
		},
		{
			name: "SNAT to a reversed address range",
			text: "iptables -t nat -A POSTROUTING -j SNAT --to-source 10.0.0.9-10.0.0.1",
			want: []Problem{{Line: 1, Col: 52, Msg: "--to-source 10.0.0.9-10.0.0.1: the address range ends before it starts", Hint: "write the lower address first: 10.0.0.1-10.0.0.9"}},
		},
		{
			name: "REDIRECT port range written with a colon",
			text: "iptables -t nat -A PREROUTING -p tcp -j REDIRECT --to-ports 8080:8090",
			want: []Problem{{Line: 1, Col: 61, Msg: `--to-ports 8080:8090: ports are not separated by ":"`, Hint: "write a port range of --to-ports as FIRST-LAST, e.g. 8080-8090"}},
		},
		{
			name: "values iptables takes",
			text: "iptables -A INPUT -p tcp --dport 0:1023 -j ACCEPT\n" +
				"iptables -A INPUT -p tcp --sport 1024: -j ACCEPT\n" +
				"iptables -A INPUT -p tcp --dport http -s gateway.example -j ACCEPT\n" +
				"iptables -A INPUT -p tcp -m multiport --dports 80,443,8000:8080 -j ACCEPT\n" +
				"iptables -A INPUT -s 10.0.0.0/255.255.255.0 -d 10.1 -j ACCEPT\n" +
				"iptables -t nat -A PREROUTING -p tcp --dport 80 -j DNAT --to-destination :8080\n" +
				"iptables -t nat -A PREROUTING -p tcp --dport 81 -j DNAT --to-destination 10.0.0.2-10.0.0.4:8080-8081\n" +
				"iptables -t nat -A POSTROUTING -p tcp -j MASQUERADE --to-ports 1024-65535",
		},
	})
}
