package rules

import (
	"fmt"
	"strconv"
	"strings"
)

// checkValue reports option values iptables would refuse, so the author learns it
// with the lab file's position instead of from iptables-restore: ports outside
// 1..65535, ranges that end before they start, and IPv4 addresses that are not
// addresses (300.2.3.4). Service names (--dport http) and host names are left to
// iptables, which resolves them.
func checkValue(opt, value string, at pos, ps *problems) {
	switch opt {
	case "--dport", "--sport", "--destination-port", "--source-port":
		checkPorts(opt, value, value, ":", at, ps)
	case "--dports", "--sports", "--ports", "--destination-ports", "--source-ports":
		for _, v := range strings.Split(value, ",") {
			checkPorts(opt, value, v, ":", at, ps)
		}
	case "--to-ports":
		checkPorts(opt, value, value, "-", at, ps)
	case "-s", "--source", "--src", "-d", "--destination", "--dst":
		for _, v := range strings.Split(value, ",") {
			checkHostSpec(opt, v, at, ps)
		}
	case "--to-destination", "--to-source":
		checkNATSpec(opt, value, at, ps)
	}
}

const portHint = "a port is a number from 1 to 65535"

// checkPorts checks a port or a range FIRST<sep>LAST, part of the option's whole
// value. Match ranges (sep ':') may leave out an end (:1023, 1024:) and start at 0,
// as iptables allows.
func checkPorts(opt, whole, value, sep string, at pos, ps *problems) {
	other := map[string]string{":": "-", "-": ":"}[sep]
	if first, last, ok := strings.Cut(value, other); ok && isDigits(first) && isDigits(last) {
		ps.add(at, fmt.Sprintf("write a port range of %s as FIRST%sLAST, e.g. %s%s%s", opt, sep, first, sep, last), "%s %s: ports are not separated by %q", opt, whole, other)
		return
	}
	first, last, isRange := strings.Cut(value, sep)
	if sep == "-" {
		// --to-ports 1000-2000/500 shifts the range (iptables 1.8.6 and later).
		last, _, _ = strings.Cut(last, "/")
	}
	lo, loOK := port(opt, whole, first, isRange && sep == ":", at, ps)
	if !isRange || !loOK {
		return
	}
	if hi, hiOK := port(opt, whole, last, sep == ":", at, ps); hiOK && first != "" && last != "" && lo > hi {
		ps.add(at, fmt.Sprintf("write the lower port first: %s%s%s", last, sep, first), "%s %s: the range ends before it starts", opt, whole)
	}
}

// port checks one end of a port value; ok is false if it is not a number or was
// reported. An empty end is fine in a match range, and 0 starts one.
func port(opt, value, s string, inMatchRange bool, at pos, ps *problems) (n int, ok bool) {
	if s == "" && inMatchRange {
		return 0, true
	}
	if !isDigits(s) {
		if s == "" {
			ps.add(at, portHint, "%s %s: a port is missing", opt, value)
		}
		return 0, false // a service name: iptables looks it up
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > 65535 || n == 0 && !inMatchRange {
		ps.add(at, portHint, "%s %s: port %s is out of range", opt, value, s)
		return 0, false
	}
	return n, true
}

const addressHint = "write four numbers from 0 to 255 separated by dots, e.g. 203.0.113.4"

// checkHostSpec checks an address of -s and -d: ADDRESS[/LENGTH or /MASK]. Only
// what looks like an IPv4 address is checked; anything else may be a host name.
func checkHostSpec(opt, value string, at pos, ps *problems) {
	if strings.Count(value, ":") > 1 {
		ps.add(at, "write an IPv4 address", "%s %s: an IPv6 address; %s", opt, value, ipv4Only)
		return
	}
	if strings.Trim(value, "0123456789./") != "" {
		return
	}
	addr, mask, hasMask := strings.Cut(value, "/")
	if !ipv4(addr, true) {
		ps.add(at, addressHint+", optionally with /LENGTH", "%s %s: %s is not an IPv4 address", opt, value, addr)
		return
	}
	if !hasMask {
		return
	}
	if strings.Contains(mask, ".") {
		if !ipv4(mask, false) {
			ps.add(at, "write the mask as /LENGTH (0 to 32), e.g. /24, or as four numbers like 255.255.255.0", "%s %s: %s is not a netmask", opt, value, mask)
		}
		return
	}
	if n, err := strconv.Atoi(mask); err != nil || n > 32 {
		ps.add(at, "an IPv4 prefix length goes from 0 to 32, e.g. /24", "%s %s: prefix length %q is out of range", opt, value, mask)
	}
}

// checkNATSpec checks a --to-destination or --to-source value:
// [ADDRESS[-ADDRESS]][:PORT[-PORT]]. iptables takes no host names here.
func checkNATSpec(opt, value string, at pos, ps *problems) {
	addrs, ports, hasPorts := strings.Cut(value, ":")
	if strings.HasPrefix(value, "[") || hasPorts && strings.Contains(ports, ":") && !strings.Contains(addrs, ".") {
		ps.add(at, "write an IPv4 address, e.g. 10.0.0.2:8080", "%s %s: an IPv6 address; %s", opt, value, ipv4Only)
		return
	}
	if addrs != "" {
		first, last, isRange := strings.Cut(addrs, "-")
		bad, isBad := "", false
		switch {
		case !ipv4(first, true):
			bad, isBad = first, true
		case isRange && !ipv4(last, true):
			bad, isBad = last, true
		}
		if isBad {
			ps.add(at, addressHint+", or a range FIRST-LAST, then :PORT to change the port", "%s %s: %q is not an IPv4 address", opt, value, bad)
			return
		}
		if isRange && ipv4Value(first) > ipv4Value(last) {
			ps.add(at, fmt.Sprintf("write the lower address first: %s-%s", last, first), "%s %s: the address range ends before it starts", opt, value)
		}
	}
	if hasPorts {
		checkPorts(opt, value, ports, "-", at, ps)
	}
}

// ipv4 reports whether s is an IPv4 address as iptables reads one: four decimal
// numbers from 0 to 255, or fewer with short set (10.1 is 10.1.0.0).
func ipv4(s string, short bool) bool {
	parts := strings.Split(s, ".")
	if len(parts) > 4 || len(parts) < 4 && !short {
		return false
	}
	for _, p := range parts {
		n, err := strconv.Atoi(p)
		if !isDigits(p) || err != nil || n > 255 {
			return false
		}
	}
	return true
}

// ipv4Value is the number of an address ipv4 accepted, for comparing range ends.
func ipv4Value(s string) uint32 {
	var v uint32
	parts := strings.Split(s, ".")
	for i := range 4 {
		v <<= 8
		if i < len(parts) {
			n, _ := strconv.Atoi(parts[i])
			v |= uint32(n)
		}
	}
	return v
}
