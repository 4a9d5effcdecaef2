package node

import "testing"

func TestForwDatagrams(t *testing.T) {
	snmp := "Ip: Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams InUnknownProtos\n" +
		"Ip: 1 64 120 0 0 17 0\n" +
		"Icmp: InMsgs InErrors\nIcmp: 3 0\n"
	if n, err := forwDatagrams([]byte(snmp)); err != nil || n != 17 {
		t.Errorf("forwDatagrams = %d, %v; want 17", n, err)
	}
	if _, err := forwDatagrams([]byte("Icmp: InMsgs\nIcmp: 3\n")); err == nil {
		t.Error("forwDatagrams of a file without Ip: lines did not fail")
	}
}
