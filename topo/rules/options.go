package rules

import "strings"

// op is an iptables command, named by its short option letter.
type op byte

const (
	opAppend  op = 'A'
	opCheck   op = 'C'
	opDelete  op = 'D'
	opInsert  op = 'I'
	opReplace op = 'R'
	opList    op = 'L'
	opListRaw op = 'S'
	opFlush   op = 'F'
	opZero    op = 'Z'
	opNew     op = 'N'
	opDelChn  op = 'X'
	opPolicy  op = 'P'
	opRename  op = 'E'
	opHelp    op = 'h'
	opVersion op = 'V'
	// opDeclare is a restore-form chain line, ":NAME POLICY [packets:bytes]".
	opDeclare op = ':'
)

func (o op) String() string { return "-" + string(o) }

// commandSpellings maps every spelling iptables accepts for a command to the command.
var commandSpellings = map[string]op{
	"-A": opAppend, "--append": opAppend,
	"-C": opCheck, "--check": opCheck,
	"-D": opDelete, "--delete": opDelete,
	"-I": opInsert, "--insert": opInsert,
	"-R": opReplace, "--replace": opReplace,
	"-L": opList, "--list": opList,
	"-S": opListRaw, "--list-rules": opListRaw,
	"-F": opFlush, "--flush": opFlush,
	"-Z": opZero, "--zero": opZero,
	"-N": opNew, "--new-chain": opNew, "--new": opNew,
	"-X": opDelChn, "--delete-chain": opDelChn,
	"-P": opPolicy, "--policy": opPolicy,
	"-E": opRename, "--rename-chain": opRename,
	"-h": opHelp, "--help": opHelp,
	"-V": opVersion, "--version": opVersion,
}

// global options that are not commands and not part of a rule.
const (
	globalTable = iota
	globalWait
	globalIgnored
	globalListing
	globalIPv6
	globalModprobe
)

var globalSpellings = map[string]int{
	"-t": globalTable, "--table": globalTable,
	"-w": globalWait, "--wait": globalWait, "-W": globalWait, "--wait-interval": globalWait,
	"-v": globalIgnored, "--verbose": globalIgnored, "-4": globalIgnored, "--ipv4": globalIgnored,
	"-n": globalListing, "--numeric": globalListing, "-x": globalListing, "--exact": globalListing,
	"--line-numbers": globalListing, "-6": globalIPv6, "--ipv6": globalIPv6, "--modprobe": globalModprobe,
}

// ruleValueCounts holds the rule options labctl knows, with how many values each takes.
// The list covers the base rule and the common extensions: it keeps a value that looks
// like an option (--comment -A) inside the rule, and finds a value left out at the end
// of a line. An option not listed may or may not take a value; it is not checked.
var ruleValueCounts = map[string]int{
	"-p": 1, "--protocol": 1, "-s": 1, "--source": 1, "--src": 1, "-d": 1, "--destination": 1,
	"--dst": 1, "-i": 1, "--in-interface": 1, "-o": 1, "--out-interface": 1,
	"-j": 1, "--jump": 1, "-g": 1, "--goto": 1, "-m": 1, "--match": 1, "-c": 2, "--set-counters": 2,
	// matches
	"--dport": 1, "--sport": 1, "--destination-port": 1, "--source-port": 1,
	"--dports": 1, "--sports": 1, "--ports": 1, "--destination-ports": 1, "--source-ports": 1,
	"--tcp-flags": 2, "--tcp-option": 1, "--icmp-type": 1, "--comment": 1,
	"--state": 1, "--ctstate": 1, "--ctstatus": 1, "--ctproto": 1, "--ctdir": 1,
	"--ctorigsrc": 1, "--ctorigdst": 1, "--ctreplsrc": 1, "--ctrepldst": 1,
	"--ctorigsrcport": 1, "--ctorigdstport": 1, "--ctreplsrcport": 1, "--ctrepldstport": 1,
	"--mark": 1, "--uid-owner": 1, "--gid-owner": 1, "--limit": 1, "--limit-burst": 1,
	"--src-range": 1, "--dst-range": 1, "--src-type": 1, "--dst-type": 1,
	"--mac-source": 1, "--physdev-in": 1, "--physdev-out": 1, "--pkt-type": 1,
	"--match-set": 2, "--string": 1, "--hex-string": 1, "--algo": 1, "--from": 1, "--to": 1,
	"--name": 1, "--seconds": 1, "--hitcount": 1, "--length": 1, "--ttl-eq": 1, "--ttl-gt": 1,
	"--ttl-lt": 1, "--dscp": 1, "--dscp-class": 1, "--tos": 1, "--connlimit-above": 1,
	"--connlimit-upto": 1, "--connlimit-mask": 1, "--mode": 1, "--probability": 1,
	"--every": 1, "--packet": 1, "--hashlimit-upto": 1, "--hashlimit-above": 1,
	"--hashlimit-burst": 1, "--hashlimit-mode": 1, "--hashlimit-name": 1,
	"--hashlimit-htable-expire": 1, "--mss": 1,
	// targets
	"--to-destination": 1, "--to-source": 1, "--to-ports": 1, "--reject-with": 1,
	"--log-prefix": 1, "--log-level": 1, "--nflog-group": 1, "--nflog-prefix": 1,
	"--nflog-range": 1, "--nflog-size": 1, "--nflog-threshold": 1,
	"--set-mark": 1, "--set-xmark": 1, "--and-mark": 1, "--or-mark": 1, "--xor-mark": 1,
	"--nfmask": 1, "--ctmask": 1, "--set-mss": 1, "--ttl-set": 1, "--ttl-dec": 1,
	"--ttl-inc": 1, "--set-tos": 1, "--set-dscp": 1, "--set-dscp-class": 1, "--set-class": 1,
	"--queue-num": 1, "--queue-balance": 1, "--on-port": 1, "--on-ip": 1, "--tproxy-mark": 1,
	"--add-set": 2, "--del-set": 2, "--gateway": 1, "--zone": 1, "--helper": 1,
	"--timeout": 1, "--label": 1, "--type": 1, "--strip-options": 1,
	// flags, listed so that a plain word after them is reported as stray
	"-f": 0, "--fragment": 0, "--syn": 0, "--random": 0, "--random-fully": 0, "--persistent": 0,
	"--set": 0, "--rcheck": 0, "--update": 0, "--remove": 0, "--rsource": 0, "--rdest": 0,
	"--clamp-mss-to-pmtu": 0, "--notrack": 0, "--checksum-fill": 0, "--save-mark": 0,
	"--restore-mark": 0, "--log-uid": 0, "--log-tcp-sequence": 0, "--log-tcp-options": 0,
	"--log-ip-options": 0, "--physdev-is-in": 0, "--physdev-is-out": 0,
	"--physdev-is-bridged": 0, "--ecn-tcp-remove": 0, "--socket-exists": 0,
}

// freeText options take any text as value, even text that starts with a dash.
var freeText = map[string]bool{"--comment": true, "--log-prefix": true, "--nflog-prefix": true, "--string": true}

// valueCount says how many of the following words an option of a rule takes.
func valueCount(opt string) int {
	if !strings.HasPrefix(opt, "-") || strings.Contains(opt, "=") {
		return 0
	}
	return ruleValueCounts[opt]
}

// longOption splits "--table=nat" into "--table" and "nat".
func longOption(word string) (name, value string, ok bool) {
	if !strings.HasPrefix(word, "--") {
		return word, "", false
	}
	name, value, ok = strings.Cut(word, "=")
	return name, value, ok
}
