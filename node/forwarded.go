package node

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Forwarded returns how many IP datagrams a lab namespace has forwarded so far (Ip:
// ForwDatagrams of its IP MIB). A plain router keeps no conntrack entry and counts no
// rule; this counter still shows that traffic went through it.
func Forwarded(netnsName string) (uint64, error) {
	var data []byte
	// /proc/thread-self/net is the namespace of the calling thread, which InNetns has
	// moved (/proc/self/net would be the main thread's).
	err := InNetns(netnsName, func() error {
		var rerr error
		data, rerr = os.ReadFile("/proc/thread-self/net/snmp")
		return rerr
	})
	if err != nil {
		return 0, fmt.Errorf("read the IP counters of namespace %s: %w (is the lab up?)", netnsName, err)
	}
	n, err := forwDatagrams(data)
	if err != nil {
		return 0, fmt.Errorf("namespace %s: %w", netnsName, err)
	}
	return n, nil
}

// forwDatagrams finds ForwDatagrams in /proc/net/snmp: a header line of names after
// "Ip:", then a line of values in the same order.
func forwDatagrams(snmp []byte) (uint64, error) {
	sc := bufio.NewScanner(bytes.NewReader(snmp))
	var names []string
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || fields[0] != "Ip:" {
			continue
		}
		if names == nil {
			names = fields
			continue
		}
		for i, name := range names {
			if name == "ForwDatagrams" && i < len(fields) {
				return strconv.ParseUint(fields[i], 10, 64)
			}
		}
		break
	}
	return 0, fmt.Errorf("no Ip: ForwDatagrams in /proc/net/snmp")
}
