package topo

import (
	"crypto/sha256"
	"fmt"
	"net"

	"github.com/labctl/labctl/topo/plan"
)

// autoStaticNeighbors is the number of hosts (namespaces other than networks' switches)
// above which options.staticNeighbors: auto turns static neighbours on.
//
// The kernel's IPv4 neighbour table is shared by every namespace of the machine: from
// gc_thresh2 (512) on it evicts entries idle for 5 s, at gc_thresh3 (1,024) it refuses
// new ones. Probes that reach every host of a generated cluster leave 2.5 to 3.2
// dynamic entries per host (docs/performance.md): about 550 at 200 hosts, past
// gc_thresh2; at 400 hosts probes fail. Above 200 hosts one lab nears the limit and
// two reach it. Below, labs keep real ARP, which is what a workshop's tcpdump should
// show, and static entries would not make them faster.
const autoStaticNeighbors = 200

// AutoBool is true, false or auto. It is text so that true and false can be written
// unquoted, as YAML booleans, beside auto.
type AutoBool string

func (AutoBool) jsonSchema() map[string]any {
	return map[string]any{"oneOf": []any{
		map[string]any{"type": "boolean"},
		map[string]any{"type": "string", "enum": []string{"auto", "true", "false"}},
	}}
}

// staticNeighbors decides whether the plan gets static neighbours and, if so, gives
// every veth end and every addressed bridge its MAC. The entries themselves are
// derived from the plan's segments when needed (plan.Plan.Neighbors).
func (b *builder) staticNeighbors() {
	opt := b.lab.Options.StaticNeighbors
	hosts := 0
	for _, n := range b.p.Namespaces {
		if n.Kind != plan.KindNetwork {
			hosts++
		}
	}
	var why string
	switch opt {
	case "", "auto":
		if hosts <= autoStaticNeighbors {
			return
		}
		why = fmt.Sprintf("options.staticNeighbors auto: %d hosts, more than %d", hosts, autoStaticNeighbors)
	case "true":
		why = "options.staticNeighbors: true"
	case "false":
		return
	default:
		b.r.add(b.lab.Options.At("staticNeighbors"), "write true, false or auto", "options.staticNeighbors: %q is not true, false or auto", string(opt))
		return
	}
	macs := b.segmentMACs()
	key := func(ns, dev string) [2]string { return [2]string{ns, dev} }
	for i := range b.p.Veths {
		v := &b.p.Veths[i]
		v.A.MAC, v.B.MAC = macs[key(v.A.Namespace, v.A.Name)], macs[key(v.B.Namespace, v.B.Name)]
	}
	for _, n := range b.p.Namespaces {
		for i := range n.Bridges {
			n.Bridges[i].MAC = macs[key(n.Name, n.Bridges[i].Name)]
		}
	}
	b.p.StaticNeighbors = &plan.StaticNeighbors{Why: why}
}

// segmentMACs derives the MAC of every interface on a segment: both ends of a link; a
// bridged member's own end, its port on the bridge, and the bridge when it has an
// address. The ports count too: a frame for a port's MAC would stop at the bridge
// (its own FDB entry), so no member may share one with a port.
func (b *builder) segmentMACs() map[[2]string]string {
	macs := map[[2]string]string{}
	for _, s := range b.segments {
		used := map[string]bool{}
		give := func(ns, dev string) { macs[[2]string{ns, dev}] = deriveMAC(ns+"/"+dev, used) }
		if s.kind != "link" && s.bridgeAddr.IsValid() {
			give(s.holder.name, s.bridge)
		}
		for _, m := range s.members {
			give(m.host.name, m.name)
			if s.kind != "link" {
				give(s.holder.name, m.peerName)
			}
		}
	}
	return macs
}

// deriveMAC turns an interface's identity (host name / interface name: neither the
// lab's name nor its order, so a MAC stays the same when the lab grows or is renamed,
// and is the same on every machine a lab is spread over) into a locally administered
// unicast MAC not in used, which it then records. A collision (46 bits of SHA-256:
// about 3 in 10^8 for a bridge of a thousand members, 2,001 MACs) re-derives with a
// salt.
func deriveMAC(identity string, used map[string]bool) string {
	for salt := ""; ; salt += "+" {
		sum := sha256.Sum256([]byte(identity + salt))
		// Bit 0 of the first octet clear: unicast; bit 1 set: locally administered.
		sum[0] = sum[0]&^0x01 | 0x02
		mac := net.HardwareAddr(sum[:6]).String()
		if !used[mac] {
			used[mac] = true
			return mac
		}
	}
}
