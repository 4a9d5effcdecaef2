package kube

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// kube-proxy parses addresses with netutils.ParseIPSloppy, which accepts IPv4 octets with
// leading zeros ("172.30.0.041" is 172.30.0.41) because older API servers let them in.
// The helpers below do the same and report the family, since the IPv4 proxier silently
// ignores IPv6 values.

// parseIPSloppy parses an IPv4 address, tolerating leading zeros, or an IPv6 address.
func parseIPSloppy(s string) (netip.Addr, error) {
	if strings.Contains(s, ":") {
		return netip.ParseAddr(s)
	}
	parts := strings.Split(s, ".")
	if len(parts) != 4 {
		return netip.Addr{}, fmt.Errorf("%q is not an IP address", s)
	}
	var b [4]byte
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 8)
		if err != nil || p == "" || len(p) > 3 {
			return netip.Addr{}, fmt.Errorf("%q is not an IP address", s)
		}
		b[i] = byte(n)
	}
	return netip.AddrFrom4(b), nil
}

// parseCIDRSloppy parses a CIDR like net.ParseCIDR, tolerating leading zeros, and
// returns the network (host bits cleared), as kube-proxy prints it.
func parseCIDRSloppy(s string) (netip.Prefix, error) {
	addr, bits, ok := strings.Cut(s, "/")
	if !ok {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR", s)
	}
	ip, err := parseIPSloppy(addr)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR", s)
	}
	n, err := strconv.Atoi(bits)
	if err != nil || n < 0 || n > ip.BitLen() {
		return netip.Prefix{}, fmt.Errorf("%q is not a CIDR", s)
	}
	return netip.PrefixFrom(ip, n).Masked(), nil
}

// ipv4Strings parses a list of addresses and returns the canonical IPv4 ones.
func ipv4Strings(values []string) ([]string, error) {
	var out []string
	for _, v := range values {
		ip, err := parseIPSloppy(v)
		if err != nil {
			return nil, err
		}
		if ip.Is4() {
			out = append(out, ip.String())
		}
	}
	return out, nil
}
