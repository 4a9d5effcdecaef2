package rules

import (
	"strings"
	"unicode"
)

// token is one word of a command, with the position of its first character.
type token struct {
	text string
	at   pos
}

// shellCommand is one command of command-form text. A broken command had shell syntax
// labctl does not run (already reported); it is skipped rather than parsed.
type shellCommand struct {
	words  []token
	broken bool
}

const (
	notAScript = "labctl reads these lines as iptables commands, not as a shell script"
	shellHint  = notAScript + ": write one plain command per line (only ; and && may join commands)"
)

// splitShell cuts command-form text into commands and words the way a POSIX shell
// would for the plain commands tutorials show: blanks separate words, single quotes
// keep everything, double quotes keep everything but \" \\ \$ \`, a backslash escapes
// the next character, a backslash before a newline joins lines, # at the start of a
// word comments out the rest of the line, and newline, ; and && end a command.
func splitShell(text string, ps *problems) []shellCommand {
	s := &shellScanner{src: []rune(text), ps: ps}
	s.run()
	return s.cmds
}

type shellScanner struct {
	src       []rune
	i         int
	line, col int
	ps        *problems
	cmds      []shellCommand
	cur       shellCommand
	word      strings.Builder
	inWord    bool
	wordAt    pos
}

func (s *shellScanner) peek(k int) rune {
	if s.i+k < len(s.src) {
		return s.src[s.i+k]
	}
	return 0
}

func (s *shellScanner) here() pos { return pos{s.line, s.col} }

func (s *shellScanner) next() rune {
	r := s.src[s.i]
	s.i++
	if r == '\n' {
		s.line++
		s.col = 0
	} else {
		s.col++
	}
	return r
}

func (s *shellScanner) startWord() {
	if !s.inWord {
		s.inWord = true
		s.wordAt = s.here()
	}
}

func (s *shellScanner) endWord() {
	if s.inWord {
		s.cur.words = append(s.cur.words, token{text: s.word.String(), at: s.wordAt})
		s.word.Reset()
		s.inWord = false
	}
}

func (s *shellScanner) endCommand() {
	s.endWord()
	if len(s.cur.words) > 0 || s.cur.broken {
		s.cmds = append(s.cmds, s.cur)
	}
	s.cur = shellCommand{}
}

// continuation reports whether a backslash at the cursor joins the next line.
func (s *shellScanner) continuation() bool {
	return s.peek(0) == '\\' && (s.peek(1) == '\n' || s.peek(1) == '\r' && s.peek(2) == '\n')
}

func (s *shellScanner) skipContinuation() {
	for s.next() != '\n' {
	}
}

func (s *shellScanner) run() {
	for s.i < len(s.src) {
		r := s.peek(0)
		switch {
		case r == '\n':
			s.next()
			s.endCommand()
		case r == ' ' || r == '\t' || r == '\r':
			s.endWord()
			s.next()
		case r == '#' && !s.inWord:
			for s.i < len(s.src) && s.peek(0) != '\n' {
				s.next()
			}
		case s.continuation():
			s.skipContinuation()
		case r == '\\':
			s.startWord()
			s.next()
			if s.i < len(s.src) {
				s.word.WriteRune(s.next())
			} else {
				s.word.WriteRune('\\')
			}
		case r == '\'' || r == '"':
			s.startWord()
			s.quoted(r)
		case r == ';':
			s.next()
			s.endCommand()
		case r == '&' && s.peek(1) == '&':
			s.next()
			s.next()
			s.endCommand()
		case strings.ContainsRune("|&<>()", r):
			s.operator()
		case r == '$' && expansionStart(s.peek(1)) || r == '`':
			s.startWord()
			s.expansion()
		default:
			s.startWord()
			s.word.WriteRune(s.next())
		}
	}
	s.endCommand()
}

// quoted reads a quoted part of a word. At an unterminated quote it reports, drops the
// command and moves to the line after the opening quote, so later lines still count.
func (s *shellScanner) quoted(q rune) {
	open := s.here()
	openIndex := s.i
	s.next()
	for s.i < len(s.src) {
		c := s.peek(0)
		switch {
		case c == q:
			s.next()
			return
		case q == '"' && s.continuation():
			s.skipContinuation()
		case q == '"' && c == '\\' && strings.ContainsRune("$`\"\\", s.peek(1)):
			s.next()
			s.word.WriteRune(s.next())
		case q == '"' && (c == '`' || c == '$' && expansionStart(s.peek(1))):
			s.expansion()
		default:
			s.word.WriteRune(s.next())
		}
	}
	if q == '\'' {
		s.ps.add(open, `close it with ' before the end of the command; to write a ' inside a word, quote it as "'"`, "unterminated single quote")
	} else {
		s.ps.add(open, `close it with " before the end of the command; to write a " inside a word, write \" or quote it as '"'`, "unterminated double quote")
	}
	s.i = openIndex
	s.line, s.col = open.line, open.col
	for s.i < len(s.src) && s.peek(0) != '\n' {
		s.next()
	}
	s.word.Reset()
	s.inWord = false
	s.cur = shellCommand{}
	if s.i < len(s.src) {
		s.next()
	}
}

func (s *shellScanner) operator() {
	at := s.here()
	op := string(s.next())
	if (op == "|" || op == ">" || op == "<") && s.peek(0) == []rune(op)[0] {
		op += string(s.next())
	}
	s.endWord()
	s.cur.broken = true
	s.ps.add(at, shellHint, "shell operator %q is not supported", op)
}

// expansion reports a $ or ` the shell would expand (labctl has no variables to expand)
// and skips it, so one expansion makes one problem.
func (s *shellScanner) expansion() {
	s.cur.broken = true
	at := s.here()
	switch {
	case s.peek(0) == '`':
		s.ps.add(at, shellHint, "command substitution is not supported")
		s.next()
		for s.i < len(s.src) && s.peek(0) != '`' && s.peek(0) != '\n' {
			s.next()
		}
		if s.peek(0) == '`' {
			s.next()
		}
	case s.peek(1) == '(':
		s.ps.add(at, shellHint, "command substitution is not supported")
		s.next()
		for depth := 0; s.i < len(s.src) && s.peek(0) != '\n'; {
			r := s.next()
			if r == '(' {
				depth++
			} else if r == ')' {
				if depth--; depth == 0 {
					break
				}
			}
		}
	default:
		start := s.i
		s.next()
		for s.i < len(s.src) && (s.peek(0) == '_' || s.peek(0) == '{' || s.peek(0) == '}' ||
			unicode.IsLetter(s.peek(0)) || unicode.IsDigit(s.peek(0))) {
			s.next()
		}
		s.ps.add(at, "write the value itself; "+notAScript, "shell variable %s is not expanded", string(s.src[start:s.i]))
	}
}

func expansionStart(r rune) bool {
	return r == '_' || r == '{' || r == '(' || unicode.IsLetter(r) || unicode.IsDigit(r)
}
