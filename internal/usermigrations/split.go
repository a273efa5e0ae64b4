package usermigrations

import (
	"strings"
	"unicode/utf8"
)

// Statement is one SQL statement of a migration file.
type Statement struct {
	// Index counts the file's statements from 1.
	Index int
	// Line is the line of the file the statement starts on, from 1.
	Line int
	// SQL is the statement's text from its first token to its semicolon (excluded).
	SQL string
}

// LineOf is the line of the file holding the statement's character at position pos, a
// PostgreSQL error position (counted in characters from 1); 0 or out of range: the
// statement's first line.
func (s Statement) LineOf(pos int) int {
	if pos <= 0 {
		return s.Line
	}
	line := s.Line
	i := 0
	for _, r := range s.SQL {
		i++
		if i >= pos {
			break
		}
		if r == '\n' {
			line++
		}
	}
	return line
}

// Split cuts SQL into statements at the semicolons PostgreSQL would end them at: not inside
// quotes, quoted identifiers, dollar-quoted bodies, comments, or the body of a SQL-standard
// function (BEGIN ATOMIC … END). Statements holding nothing but comments are dropped.
//
// Each statement then runs on its own, so that a failure names the statement and its line
// even when PostgreSQL reports no position (a constraint violated at run time).
func Split(sql string) []Statement {
	sp := splitter{src: sql, line: 1}
	sp.run()
	return sp.out
}

// splitter is the state of one Split.
type splitter struct {
	src  string
	pos  int
	line int
	out  []Statement
	// start is where the current statement's first token begins (-1: none yet), startLine its
	// line.
	start, startLine int
	// prevWord is the last keyword-like word seen, to spot BEGIN ATOMIC; atomic counts the
	// open BEGIN ATOMIC and CASE blocks of a SQL-standard function body.
	prevWord string
	atomic   int
}

func (sp *splitter) run() {
	sp.start = -1
	for sp.pos < len(sp.src) {
		c := sp.src[sp.pos]
		switch {
		case c == '\n':
			sp.line++
			sp.pos++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			sp.pos++
		case c == '-' && sp.peek(1) == '-':
			sp.skipLineComment()
		case c == '/' && sp.peek(1) == '*':
			sp.skipBlockComment()
		case c == ';':
			if sp.atomic > 0 {
				sp.pos++
				continue
			}
			sp.emit(sp.pos)
			sp.pos++
		default:
			sp.token()
		}
	}
	sp.emit(len(sp.src))
}

// token consumes one token that is not whitespace, a comment or a statement-ending semicolon.
func (sp *splitter) token() {
	if sp.start < 0 {
		sp.start, sp.startLine = sp.pos, sp.line
	}
	c := sp.src[sp.pos]
	switch {
	case c == '\'':
		sp.skipQuoted('\'', false)
	case c == '"':
		sp.skipQuoted('"', false)
	case (c == 'e' || c == 'E') && sp.peek(1) == '\'':
		sp.pos++
		sp.skipQuoted('\'', true)
	case c == '$' && sp.dollarTag() != "":
		sp.skipDollarQuoted(sp.dollarTag())
	case isIdentStart(c):
		begin := sp.pos
		for sp.pos < len(sp.src) && isIdentChar(sp.src[sp.pos]) {
			sp.pos++
		}
		sp.word(strings.ToUpper(sp.src[begin:sp.pos]))
	default:
		_, size := utf8.DecodeRuneInString(sp.src[sp.pos:])
		sp.pos += size
	}
}

// word tracks the blocks of a SQL-standard function body, in which semicolons end the
// body's statements, not the CREATE FUNCTION.
func (sp *splitter) word(w string) {
	switch {
	case w == "ATOMIC" && sp.prevWord == "BEGIN":
		sp.atomic++
	case sp.atomic > 0 && w == "CASE":
		sp.atomic++
	case sp.atomic > 0 && w == "END":
		sp.atomic--
	}
	sp.prevWord = w
}

// emit ends the current statement at end (exclusive).
func (sp *splitter) emit(end int) {
	if sp.start >= 0 {
		text := strings.TrimRight(sp.src[sp.start:end], " \t\r\n\f\v")
		sp.out = append(sp.out, Statement{Index: len(sp.out) + 1, Line: sp.startLine, SQL: text})
	}
	sp.start, sp.prevWord, sp.atomic = -1, "", 0
}

func (sp *splitter) peek(n int) byte {
	if sp.pos+n < len(sp.src) {
		return sp.src[sp.pos+n]
	}
	return 0
}

func (sp *splitter) skipLineComment() {
	for sp.pos < len(sp.src) && sp.src[sp.pos] != '\n' {
		sp.pos++
	}
}

// skipBlockComment skips a /* */ comment, which PostgreSQL lets nest.
func (sp *splitter) skipBlockComment() {
	depth := 0
	for sp.pos < len(sp.src) {
		switch {
		case sp.src[sp.pos] == '/' && sp.peek(1) == '*':
			depth++
			sp.pos += 2
		case sp.src[sp.pos] == '*' && sp.peek(1) == '/':
			depth--
			sp.pos += 2
			if depth == 0 {
				return
			}
		default:
			if sp.src[sp.pos] == '\n' {
				sp.line++
			}
			sp.pos++
		}
	}
}

// skipQuoted skips a string or quoted identifier opened at pos; a doubled quote stands for
// itself, and in an E” string a backslash escapes the next character.
func (sp *splitter) skipQuoted(q byte, backslash bool) {
	sp.pos++
	for sp.pos < len(sp.src) {
		c := sp.src[sp.pos]
		switch {
		case c == '\n':
			sp.line++
			sp.pos++
		case backslash && c == '\\':
			if sp.peek(1) == '\n' {
				sp.line++
			}
			sp.pos += 2
		case c == q && sp.peek(1) == q:
			sp.pos += 2
		case c == q:
			sp.pos++
			return
		default:
			sp.pos++
		}
	}
}

// dollarTag returns the opening $tag$ at pos, or "" when the $ starts none (a parameter such
// as $1, or a $ inside an identifier, which the caller never gets here for).
func (sp *splitter) dollarTag() string {
	i := sp.pos + 1
	if i < len(sp.src) && sp.src[i] == '$' {
		return "$$"
	}
	if i >= len(sp.src) || !isIdentStart(sp.src[i]) {
		return ""
	}
	for i < len(sp.src) && isIdentChar(sp.src[i]) && sp.src[i] != '$' {
		i++
	}
	if i < len(sp.src) && sp.src[i] == '$' {
		return sp.src[sp.pos : i+1]
	}
	return ""
}

func (sp *splitter) skipDollarQuoted(tag string) {
	body := sp.pos + len(tag)
	end := strings.Index(sp.src[body:], tag)
	stop := len(sp.src)
	if end >= 0 {
		stop = body + end + len(tag)
	}
	sp.line += strings.Count(sp.src[sp.pos:stop], "\n")
	sp.pos = stop
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80
}

// isIdentChar includes $, which PostgreSQL allows inside identifiers (so a$b$ is no dollar
// quote).
func isIdentChar(c byte) bool {
	return isIdentStart(c) || (c >= '0' && c <= '9') || c == '$'
}
