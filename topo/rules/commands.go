package rules

import (
	"path"
	"strconv"
	"strings"
)

// command is one iptables command of either form, ready to apply to a ruleset.
type command struct {
	op    op
	table string
	chain string
	// num is the rule number of -I, -R and -D; zero when not given.
	num int
	// value is the policy of -P and of a chain line, or the new name of -E.
	value string
	args  []string
	argAt []pos
	// at is where the command starts: its rules get this position as origin.
	at                                     pos
	opAt, tableAt, chainAt, numAt, valueAt pos
	// packets and bytes are the counters of an iptables-save -c rule line.
	packets, bytes uint64
}

const ipv4Only = "labctl v1 loads IPv4 iptables rules only"

// parseCommandForm reads text made of iptables command lines and passes each command on.
func parseCommandForm(text string, ps *problems, apply func(command)) {
	for _, sc := range splitShell(text, ps) {
		if sc.broken {
			// Shell syntax was reported; a wrong program is worth saying too.
			if len(sc.words) > 0 {
				programArgs(sc.words, ps)
			}
			continue
		}
		words, ok := programArgs(sc.words, ps)
		if !ok {
			continue
		}
		if c, ok := parseCommand(words, sc.words[0].at, "filter", false, ps); ok {
			apply(c)
		}
	}
}

// programArgs drops the program name ("iptables", "sudo iptables") from a command and
// reports programs labctl does not load. A command may also start with its first option.
func programArgs(words []token, ps *problems) ([]token, bool) {
	if words[0].text == "sudo" {
		words = words[1:]
		if len(words) == 0 {
			return nil, false
		}
	}
	first := words[0]
	if strings.HasPrefix(first.text, "-") {
		return words, true
	}
	prog := path.Base(first.text)
	switch {
	case prog == "iptables" || prog == "iptables-nft" || prog == "iptables-legacy":
		return words[1:], true
	case strings.HasPrefix(prog, "ip6tables"):
		ps.add(first.at, "remove the line, or write the IPv4 rule with iptables", "%s writes IPv6 rules; %s", prog, ipv4Only)
	case prog == "nft":
		ps.add(first.at, "write the rule as an iptables command (iptables-nft stores it in nftables for you)", "nft is not supported; %s", ipv4Only)
	case strings.HasPrefix(prog, "ebtables") || strings.HasPrefix(prog, "arptables"):
		ps.add(first.at, "remove the line", "%s filters bridge or ARP frames; %s", prog, ipv4Only)
	case strings.HasPrefix(prog, "iptables") && (strings.HasSuffix(prog, "-restore") || strings.HasSuffix(prog, "-save")):
		ps.add(first.at, "paste the restore text itself, starting with a *nat or *filter line, without the command", "%s is not run here", prog)
	case strings.HasPrefix(prog, "*") || strings.HasPrefix(prog, ":") || prog == "COMMIT":
		ps.add(first.at, "restore form must start with its *table line (e.g. *nat) before anything else; do not mix it with iptables commands",
			"%q belongs to restore form, but this text is read as iptables commands", first.text)
	default:
		ps.add(first.at, "start each line with iptables, or write the rules in restore form (starting with *nat or *filter)",
			"unknown command %q", first.text)
	}
	return nil, false
}

// parseCommand reads the options of one command: the words after the program name in
// command form, or a whole rule line in restore form (where *table gives the table).
// Options may come in any order, as iptables takes them; whatever is not a command or
// a global option belongs to the rule, kept word for word.
func parseCommand(words []token, at pos, table string, restore bool, ps *problems) (command, bool) {
	c := command{table: table, at: at, tableAt: at}
	ok, haveOp, haveTable := true, false, false
	for i := 0; i < len(words); i++ {
		w := words[i]
		name, inline, hasInline := longOption(w.text)
		if o, isCmd := commandSpellings[name]; isCmd {
			if haveOp {
				ps.add(w.at, "write one iptables command per line", "two commands in one line: %s and %s", c.op, o)
				return c, false
			}
			haveOp, c.op, c.opAt = true, o, w.at
			var good bool
			i, good = c.readOperands(words, i, inline, hasInline, ps)
			ok = ok && good
			continue
		}
		if g, isGlobal := globalSpellings[name]; isGlobal {
			var good bool
			i, good = c.readGlobal(g, words, i, inline, hasInline, restore, haveTable, ps)
			haveTable = haveTable || g == globalTable
			ok = ok && good
			continue
		}
		c.args, c.argAt = append(c.args, w.text), append(c.argAt, w.at)
		for n := valueCount(w.text); n > 0 && i+1 < len(words); n-- {
			i++
			c.args, c.argAt = append(c.args, words[i].text), append(c.argAt, words[i].at)
		}
	}
	if !haveOp {
		if !ok {
			return c, false
		}
		ps.add(at, "add -A CHAIN to append the rule to a chain (or use -I, -D, -N, -X, -F, -P)", "no command: iptables needs to be told what to do")
		return c, false
	}
	return c, ok && c.checkShape(ps)
}

// readOperands reads what follows a command option: the chain, a rule number, a policy.
func (c *command) readOperands(words []token, i int, inline string, hasInline bool, ps *problems) (int, bool) {
	// next takes the following word as an operand the way iptables does for optional
	// operands: unless it starts with - or !.
	next := func() (token, bool) {
		if i+1 < len(words) && !strings.HasPrefix(words[i+1].text, "-") && !strings.HasPrefix(words[i+1].text, "!") {
			i++
			return words[i], true
		}
		return token{}, false
	}
	// chainWord takes a chain name; a required one may start with ! (iptables then
	// refuses the name), but a word starting with - is the next option.
	chainWord := func(required bool) (token, bool) {
		if hasInline {
			return token{text: inline, at: words[i].at}, true
		}
		if required && i+1 < len(words) && strings.HasPrefix(words[i+1].text, "!") {
			i++
			return words[i], true
		}
		return next()
	}
	needsChain, optionalChain, numbered := false, false, false
	switch c.op {
	case opAppend, opCheck, opNew:
		needsChain = true
	case opDelete, opInsert, opReplace, opPolicy, opRename:
		needsChain, numbered = true, c.op != opPolicy && c.op != opRename
	case opFlush, opDelChn, opList, opListRaw, opZero:
		optionalChain = true
	}
	if needsChain || optionalChain {
		w, found := chainWord(needsChain)
		switch {
		case found:
			c.chain, c.chainAt = w.text, w.at
		case needsChain:
			example := " INPUT"
			if c.op == opNew || c.op == opRename {
				example = " MY-CHAIN"
			}
			ps.add(words[i].at, "write the chain after it, e.g. "+c.op.String()+example, "%s needs a chain name", c.op)
			return i, false
		}
	}
	if numbered {
		if w, found := next(); found {
			n, err := strconv.Atoi(w.text)
			if err != nil || n < 1 {
				ps.add(w.at, "rules are numbered from 1, the first rule of the chain", "rule number %q is not a whole number from 1 up", w.text)
				return i, false
			}
			c.num, c.numAt = n, w.at
		} else if c.op == opReplace {
			ps.add(words[i].at, "write the number of the rule to replace, e.g. -R INPUT 1", "-R needs a rule number after the chain")
			return i, false
		}
	}
	if c.op == opPolicy || c.op == opRename {
		w, found := next()
		if !found {
			what := map[op]string{opPolicy: "a policy (ACCEPT or DROP)", opRename: "the new chain name"}[c.op]
			ps.add(words[i].at, "write "+what+" after the chain", "%s needs %s", c.op, what)
			return i, false
		}
		c.value, c.valueAt = w.text, w.at
	}
	return i, true
}

// readGlobal handles options that are neither commands nor part of the rule.
func (c *command) readGlobal(g int, words []token, i int, inline string, hasInline, restore, haveTable bool, ps *problems) (int, bool) {
	w := words[i]
	switch g {
	case globalTable:
		if restore {
			ps.add(w.at, "put the rule under the table's *"+c.table+" line instead", "-t cannot be used in restore form")
			return i, false
		}
		value, at := inline, w.at
		if !hasInline {
			if i+1 >= len(words) || strings.HasPrefix(words[i+1].text, "-") {
				ps.add(w.at, "write the table after it, e.g. -t nat", "%s needs a table name", w.text)
				return i, false
			}
			i++
			value, at = words[i].text, words[i].at
		}
		if haveTable && value != c.table {
			ps.add(w.at, "give the table once", "two tables in one command: %s and %s", c.table, value)
			return i, false
		}
		c.table, c.tableAt = value, at
	case globalWait:
		if !hasInline && i+1 < len(words) && isDigits(words[i+1].text) {
			i++
		}
	case globalListing:
		ps.add(w.at, "remove it; it only matters with -L", "%s only changes how rules are listed", w.text)
		return i, false
	case globalIPv6:
		ps.add(w.at, "remove it; write IPv4 rules", "%s asks for IPv6; %s", w.text, ipv4Only)
		return i, false
	case globalModprobe:
		if !hasInline && i+1 < len(words) {
			i++
		}
	}
	return i, true
}

// checkShape reports commands labctl cannot load and words a command does not take.
func (c *command) checkShape(ps *problems) bool {
	switch c.op {
	case opCheck:
		ps.add(c.opAt, "remove the line, or use -A to add the rule", "-C only checks whether a rule exists; it changes nothing")
		return false
	case opList, opListRaw:
		ps.add(c.opAt, "remove the line; labctl's probes show which rules a packet hits", "%s only lists rules; it changes nothing", c.op)
		return false
	case opZero:
		ps.add(c.opAt, "remove the line; every lab starts with zero counters", "-Z only zeroes counters")
		return false
	case opHelp, opVersion:
		ps.add(c.opAt, "remove the line", "%s only prints help or the version", c.op)
		return false
	}
	takesRule := c.op == opAppend || c.op == opInsert || c.op == opReplace || c.op == opDelete && c.num == 0
	if len(c.args) > 0 && !takesRule {
		hint := map[op]string{
			opDelete: "use either -D CHAIN NUMBER or -D CHAIN followed by the rule's options",
			opNew:    "-N takes only the new chain's name",
			opDelChn: "-X takes only the name of the chain to delete",
			opFlush:  "-F takes only the name of the chain to empty",
			opPolicy: "-P takes only a built-in chain and ACCEPT or DROP",
			opRename: "-E takes only the old and the new chain name",
		}[c.op]
		ps.add(c.argAt[0], hint, "unexpected %q after %s", c.args[0], c.op)
		return false
	}
	return true
}

func isDigits(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}
