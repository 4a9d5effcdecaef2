package topo

import (
	"crypto/sha256"
	"encoding/base32"
	"fmt"
	"regexp"
	"strings"
)

// Limits on names. Lab and host names end up in namespace names (lc.<lab>.<host>) and,
// where they fit, in interface names, which the kernel limits to 15 bytes.
const (
	maxLabName  = 24
	maxHostName = 40
	maxIfName   = 15
)

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

// checkName validates a lab, host or network name and returns a problem text or "".
func checkName(name string, max int) (msg, hint string) {
	switch {
	case name == "":
		return "name is empty", ""
	case len(name) > max:
		return fmt.Sprintf("name %q is longer than %d characters", name, max), "shorten it; interface names derived from it stay readable up to 15 characters"
	case !dnsLabel.MatchString(name):
		return fmt.Sprintf("name %q is not valid", name), "use lowercase letters, digits and '-', starting and ending with a letter or digit (like a Kubernetes name)"
	}
	return "", ""
}

// checkIfName validates an interface or bridge name the lab author wrote.
func checkIfName(name string) (msg, hint string) {
	switch {
	case len(name) > maxIfName:
		return fmt.Sprintf("interface name %q is longer than 15 bytes (the kernel's IFNAMSIZ limit)", name), "shorten it, or omit it and labctl derives one"
	case name == "lo", name == ".", name == "..":
		return fmt.Sprintf("interface name %q is reserved", name), "pick another name"
	case strings.ContainsAny(name, "/: \t\n") || name == "":
		return fmt.Sprintf("interface name %q is not valid", name), "use letters, digits, '-', '_' and '.' only"
	}
	return "", ""
}

// ifnames hands out interface names that are unique inside one namespace.
type ifnames map[string]bool

func (n ifnames) take(name string) bool {
	if n[name] {
		return false
	}
	n[name] = true
	return true
}

// derive picks the first readable candidate that fits IFNAMSIZ and is still free,
// else a stable hash of identity, so any host name yields a valid, unique name.
func (n ifnames) derive(identity string, candidates ...string) string {
	for _, c := range candidates {
		if msg, _ := checkIfName(c); msg == "" && n.take(c) {
			return c
		}
	}
	for salt := ""; ; salt += "+" {
		if name := hashedIfName(identity + salt); n.take(name) {
			return name
		}
	}
}

var lowerBase32 = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// hashedIfName is "v" + 12 base32 characters of SHA-256(identity): 60 bits, so a
// collision among the few hundred ports of one bridge is out of reach.
func hashedIfName(identity string) string {
	sum := sha256.Sum256([]byte(identity))
	return "v" + lowerBase32.EncodeToString(sum[:])[:12]
}
