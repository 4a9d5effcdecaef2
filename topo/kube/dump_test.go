package kube

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/labctl/labctl/topo/rules"
)

// This file holds the test side of the oracle comparison: kube-proxy's unit tests
// compare the restore payload of one sync after sorting it with sortIPTablesRules. The
// helpers below cut the same payload out of a ruleset and sort it the same way.

// restorePayload renders what kube-proxy writes with iptables-restore --noflush: the
// filter and nat tables without the built-in chains (kube-proxy edits those with
// "iptables -I", outside the payload) and without the canary chains (created by
// iptables -N at start-up).
func restorePayload(rs *rules.Ruleset) string {
	var b strings.Builder
	for _, name := range []string{"filter", "nat"} {
		t := rs.Lookup(name)
		if t == nil {
			continue
		}
		b.WriteString("*" + name + "\n")
		var chains []*rules.Chain
		for _, c := range t.Chains {
			if !c.Builtin() && c.Name != chainCanary {
				chains = append(chains, c)
			}
		}
		for _, c := range chains {
			b.WriteString(":" + c.Name + " - [0:0]\n")
		}
		for _, c := range chains {
			for _, r := range c.Rules {
				b.WriteString("-A " + c.Name + " " + r.Spec() + "\n")
			}
		}
		b.WriteString("COMMIT\n")
	}
	return b.String()
}

// dump is a parsed restore payload.
type dump struct{ tables []*dumpTable }

type dumpTable struct {
	name    string
	chains  []*dumpChain
	deleted []string // "-X" lines
}

type dumpChain struct {
	name  string
	rules []string // whole "-A" lines
}

func (t *dumpTable) chain(name string) *dumpChain {
	for _, c := range t.chains {
		if c.name == name {
			return c
		}
	}
	return nil
}

func (d *dump) table(name string) *dumpTable {
	for _, t := range d.tables {
		if t.name == name {
			return t
		}
	}
	return nil
}

func parseDump(t *testing.T, text string) *dump {
	t.Helper()
	d := &dump{}
	var cur *dumpTable
	for i, line := range strings.Split(strings.TrimSpace(text), "\n") {
		switch {
		case strings.HasPrefix(line, "*"):
			cur = &dumpTable{name: line[1:]}
			d.tables = append(d.tables, cur)
		case strings.HasPrefix(line, ":"):
			cur.chains = append(cur.chains, &dumpChain{name: strings.Fields(line[1:])[0]})
		case strings.HasPrefix(line, "-A "):
			name := strings.Fields(line)[1]
			c := cur.chain(name)
			if c == nil {
				t.Fatalf("line %d: rule for undeclared chain %s: %s", i+1, name, line)
			}
			c.rules = append(c.rules, line)
		case strings.HasPrefix(line, "-X "):
			cur.deleted = append(cur.deleted, strings.TrimPrefix(line, "-X "))
		case line == "COMMIT":
		default:
			t.Fatalf("line %d: unexpected %q", i+1, line)
		}
	}
	return d
}

// sortDump sorts like kube-proxy's sortIPTablesRules: tables by name; KUBE-NODEPORTS,
// then KUBE-SERVICES, then the other KUBE-* chains, then the rest, alphabetically;
// KUBE-NODEPORTS and KUBE-SERVICES rules stable-sorted by the service named in their
// comment, the "must be the last rule" jump kept last.
func sortDump(d *dump) {
	slices.SortFunc(d.tables, func(a, b *dumpTable) int { return strings.Compare(a.name, b.name) })
	rank := func(name string) int {
		switch {
		case name == chainNodePorts:
			return 0
		case name == chainServices:
			return 1
		case strings.HasPrefix(name, "KUBE-"):
			return 2
		}
		return 3
	}
	for _, t := range d.tables {
		slices.SortStableFunc(t.chains, func(a, b *dumpChain) int {
			if ra, rb := rank(a.name), rank(b.name); ra != rb {
				return ra - rb
			}
			return strings.Compare(a.name, b.name)
		})
		for _, c := range t.chains {
			if c.name != chainNodePorts && c.name != chainServices {
				continue
			}
			slices.SortStableFunc(c.rules, func(a, b string) int {
				la, lb := strings.Contains(a, "must be the last rule"), strings.Contains(b, "must be the last rule")
				if la != lb {
					if la {
						return 1
					}
					return -1
				}
				return strings.Compare(commentService(a), commentService(b))
			})
		}
	}
}

// commentService is the service a rule's comment names: the comment up to the first
// blank or colon.
func commentService(rule string) string {
	_, rest, ok := strings.Cut(rule, "--comment ")
	if !ok {
		return ""
	}
	rest = strings.TrimPrefix(rest, `"`)
	if i := strings.IndexAny(rest, ` :"`); i >= 0 {
		rest = rest[:i]
	}
	return rest
}

func (d *dump) String() string {
	var b strings.Builder
	for _, t := range d.tables {
		b.WriteString("*" + t.name + "\n")
		for _, c := range t.chains {
			b.WriteString(":" + c.name + " - [0:0]\n")
		}
		for _, c := range t.chains {
			for _, r := range c.rules {
				b.WriteString(r + "\n")
			}
		}
		for _, x := range t.deleted {
			b.WriteString("-X " + x + "\n")
		}
		b.WriteString("COMMIT\n")
	}
	return b.String()
}

// oracleBlocks reads the expected dumps of testdata/oracle/<file>, keyed by the text
// after "BEGIN EXPECTED ".
func oracleBlocks(t *testing.T, file string) map[string]string {
	t.Helper()
	data, err := os.ReadFile("testdata/oracle/" + file)
	if err != nil {
		t.Fatal(err)
	}
	blocks := map[string]string{}
	rest := string(data)
	for {
		_, after, ok := strings.Cut(rest, "-----BEGIN EXPECTED ")
		if !ok {
			return blocks
		}
		name, body, _ := strings.Cut(after, "-----\n")
		body, rest, ok = strings.Cut(body, "-----END EXPECTED")
		if !ok {
			t.Fatalf("%s: block %q has no end marker", file, name)
		}
		blocks[name] = body
	}
}
