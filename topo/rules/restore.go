package rules

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// parseRestoreForm reads iptables-restore text (as iptables-save writes it) and passes
// each command on, chain lines as opDeclare. Every table must end with COMMIT.
func parseRestoreForm(text string, ps *problems, apply func(command)) {
	var table string
	var tableAt pos
	inTable, tableKnown := false, false
	for n, raw := range strings.Split(text, "\n") {
		line := strings.TrimRight(raw, "\r")
		trimmed := strings.TrimLeft(line, " \t")
		at := pos{n, utf8.RuneCountInString(line) - utf8.RuneCountInString(trimmed)}
		fields := strings.Fields(trimmed)
		switch {
		case len(fields) == 0 || strings.HasPrefix(trimmed, "#"):
		case trimmed[0] == '*':
			if inTable {
				ps.add(tableAt, "end each table with a line COMMIT", "table %s has no COMMIT", table)
			}
			table, tableAt, inTable = strings.TrimPrefix(fields[0], "*"), at, true
			tableKnown = checkTable(table, pos{n, at.col + 1}, ps)
			if len(fields) > 1 {
				skip := len(fields[0]) + strings.Index(trimmed[len(fields[0]):], fields[1])
				extra := utf8.RuneCountInString(trimmed[:skip])
				ps.add(pos{n, at.col + extra}, "write the table name alone on its line, e.g. *nat", "unexpected %q after the table name", fields[1])
			}
		case fields[0] == "COMMIT":
			if !inTable {
				ps.add(at, "start the table with a line such as *nat before its rules", "COMMIT without a table")
			}
			inTable = false
		case !inTable:
			ps.add(at, "start the block with a table line such as *filter or *nat and end it with COMMIT", "line outside a table")
		case !tableKnown:
			// Reported once at the table line.
		case trimmed[0] == ':':
			if c, ok := parseChainLine(trimmed, at, table, ps); ok {
				apply(c)
			}
		case trimmed[0] == '[' || trimmed[0] == '-':
			if c, ok := parseRuleLine(trimmed, at, table, ps); ok {
				apply(c)
			}
		case fields[0] == "iptables" || fields[0] == "sudo":
			ps.add(at, "in restore form write the rule without the command and the table (-A CHAIN ...); "+
				"or write every line as an iptables command and drop the *table and COMMIT lines", "iptables command inside restore form")
		default:
			ps.add(at, "restore form has table lines (*nat), chain lines (:NAME POLICY [0:0]), rule lines (-A CHAIN ...) and COMMIT", "cannot read %q", fields[0])
		}
	}
	if inTable {
		ps.add(tableAt, "end each table with a line COMMIT", "table %s has no COMMIT", table)
	}
}

// parseChainLine reads ":NAME POLICY [packets:bytes]".
func parseChainLine(line string, at pos, table string, ps *problems) (command, bool) {
	tokens, ok := restoreTokens(line[1:], pos{at.line, at.col + 1}, ps)
	if !ok {
		return command{}, false
	}
	c := command{op: opDeclare, table: table, at: at, opAt: at, chainAt: pos{at.line, at.col + 1}}
	if len(tokens) == 0 || tokens[0].at != c.chainAt {
		ps.add(at, "write the name right after the colon, e.g. :MY-CHAIN - [0:0]", "chain line without a chain name")
		return c, false
	}
	c.chain = tokens[0].text
	if len(tokens) < 2 {
		ps.add(at, "write :"+c.chain+" - [0:0] for a user chain, or :INPUT ACCEPT [0:0] for a built-in chain", "chain line without a policy")
		return c, false
	}
	c.value, c.valueAt = tokens[1].text, tokens[1].at
	if len(tokens) > 2 {
		var good bool
		if c.packets, c.bytes, good = parseCounters(tokens[2].text); !good {
			ps.add(tokens[2].at, "write counters as [packets:bytes], e.g. [0:0]", "cannot read counters %q", tokens[2].text)
			return c, false
		}
	}
	if len(tokens) > 3 {
		ps.add(tokens[3].at, "a chain line has a name, a policy and counters", "unexpected %q", tokens[3].text)
		return c, false
	}
	return c, true
}

// parseRuleLine reads "[packets:bytes] -A CHAIN ARGS..." (counters optional) and the
// other commands iptables-restore accepts on a line.
func parseRuleLine(line string, at pos, table string, ps *problems) (command, bool) {
	tokens, ok := restoreTokens(line, at, ps)
	if !ok || len(tokens) == 0 {
		return command{}, false
	}
	var packets, bytes uint64
	if strings.HasPrefix(tokens[0].text, "[") {
		if packets, bytes, ok = parseCounters(tokens[0].text); !ok {
			ps.add(tokens[0].at, "write counters as [packets:bytes], e.g. [0:0]", "cannot read counters %q", tokens[0].text)
			return command{}, false
		}
		tokens = tokens[1:]
		if len(tokens) == 0 {
			ps.add(at, "write the rule after the counters, e.g. [0:0] -A INPUT -j ACCEPT", "counters without a rule")
			return command{}, false
		}
	}
	c, ok := parseCommand(tokens, at, table, true, ps)
	c.packets, c.bytes = packets, bytes
	return c, ok
}

func parseCounters(s string) (packets, bytes uint64, ok bool) {
	inner, found := strings.CutPrefix(s, "[")
	inner, closed := strings.CutSuffix(inner, "]")
	p, b, colon := strings.Cut(inner, ":")
	if !found || !closed || !colon {
		return 0, 0, false
	}
	packets, err1 := strconv.ParseUint(p, 10, 64)
	bytes, err2 := strconv.ParseUint(b, 10, 64)
	return packets, bytes, err1 == nil && err2 == nil
}

// restoreTokens splits a restore-form line the way iptables-restore does: blanks
// separate words; double quotes group, with \ escaping the next character inside
// them; a closing quote ends the word; single quotes and backslashes outside quotes
// are plain characters, and so is # after the start of a line. It reports what
// iptables-restore would misread silently.
func restoreTokens(line string, start pos, ps *problems) ([]token, bool) {
	var tokens []token
	var word strings.Builder
	inWord, quoted, escaped := false, false, false
	var wordAt, quoteAt pos
	col := start.col
	end := func() {
		if inWord {
			tokens = append(tokens, token{text: word.String(), at: wordAt})
			word.Reset()
			inWord = false
		}
	}
	for _, r := range line {
		here := pos{start.line, col}
		col++
		switch {
		case escaped:
			word.WriteRune(r)
			escaped = false
		case quoted && r == '\\':
			escaped = true
		case quoted && r == '"':
			quoted = false
			end()
		case quoted:
			word.WriteRune(r)
		case r == ' ' || r == '\t' || r == '\r':
			end()
		case r == '"':
			if !inWord {
				inWord, wordAt = true, here
			}
			quoted, quoteAt = true, here
		case r == '\'':
			ps.add(here, `use double quotes: iptables-restore keeps single quotes as part of the word`, "iptables-restore does not understand single quotes")
			return tokens, false
		default:
			if !inWord {
				inWord, wordAt = true, here
			}
			word.WriteRune(r)
		}
	}
	if quoted {
		ps.add(quoteAt, `close it on the same line; to write a quote inside quotes, use \"`, "unterminated double quote")
		return tokens, false
	}
	end()
	return tokens, true
}
