package sqlguard

import (
	"fmt"
	"strings"

	pg_query "github.com/pganalyze/pg_query_go/v6"
)

// Format lays SQL out the way postgres-meta's POST /query/format does (prettier's SQL
// plugin, i.e. sql-formatter's PostgreSQL dialect with its defaults): each clause keyword
// (SELECT, FROM, WHERE, ...) on a line of its own with its content indented two spaces below,
// one list item per line, AND/OR and JOINs starting lines, parentheses kept on one line when
// their content fits in 50 characters, keywords and names in the case they were written,
// statements separated by a blank line, and a final newline.
//
// It works on PostgreSQL's own tokens, so SQL that does not parse is still formatted; an
// unterminated string, identifier or comment, or nesting deeper than 100 parentheses, gives a
// *ParseError. Known differences from sql-formatter (docs/sqlguard.md): which names count as
// built-in functions glued to their parenthesis (PostgreSQL's catalog here, sql-formatter's own
// list there), and operators sql-formatter splits (### into ## #) stay whole.
func Format(sql string) (string, error) {
	if err := checkInput(sql); err != nil {
		return "", err
	}
	scanned, err := pg_query.Scan(sql)
	if err != nil {
		return "", parseError(err)
	}
	toks := fmtTokens(sql, scanned.GetTokens())
	if depth := nesting(toks); depth > maxFormatNesting {
		// Every level indents every line below it: the output would grow with the square of
		// the depth.
		return "", &ParseError{Message: fmt.Sprintf("the query nests parentheses %d deep, more than the %d Format lays out", depth, maxFormatNesting)}
	}
	var statements []string
	start := 0
	for i := 0; i <= len(toks); i++ {
		if i < len(toks) && toks[i].tok != pg_query.Token_ASCII_59 {
			continue
		}
		part, semicolon := toks[start:i], i < len(toks)
		start = i + 1
		if len(part) == 0 && !semicolon {
			continue
		}
		l := &layout{}
		formatNodes(group(part), l, false)
		if semicolon {
			l.add(wsNoNewline, ";")
		}
		statements = append(statements, l.String())
	}
	out := strings.TrimRight(strings.Join(statements, "\n\n"), " \t\r\n")
	if out == "" {
		return "", nil
	}
	return out + "\n", nil
}

const maxFormatNesting = 100

func nesting(toks []ftok) int {
	depth, deepest := 0, 0
	for _, t := range toks {
		switch t.tok {
		case pg_query.Token_ASCII_40, pg_query.Token_ASCII_91:
			depth++
			deepest = max(deepest, depth)
		case pg_query.Token_ASCII_41, pg_query.Token_ASCII_93:
			depth--
		}
	}
	return deepest
}

// ftok is one token with what formatting needs to know of it.
type ftok struct {
	text       string
	tok        pg_query.Token
	keyword    bool
	reserved   bool
	newlineGap bool // a newline in the whitespace before it
}

func fmtTokens(sql string, scanned []*pg_query.ScanToken) []ftok {
	out := make([]ftok, 0, len(scanned))
	prevEnd := 0
	for _, t := range scanned {
		start, end := int(t.GetStart()), int(t.GetEnd())
		if start < prevEnd || end > len(sql) || start > end {
			continue
		}
		gap := sql[prevEnd:start]
		kind := t.GetKeywordKind()
		out = append(out, ftok{
			text:       sql[start:end],
			tok:        t.GetToken(),
			keyword:    kind != pg_query.KeywordKind_NO_KEYWORD,
			reserved:   kind == pg_query.KeywordKind_RESERVED_KEYWORD,
			newlineGap: strings.ContainsAny(gap, "\n\r"),
		})
		prevEnd = end
	}
	return out
}

// fkind is what a node is to the layout.
type fkind int

const (
	fWord         fkind = iota // keyword, name, literal, parameter
	fClause                    // SELECT, FROM, WHERE, ...: own line, content indented below
	fOneline                   // UPDATE t, DELETE FROM t, CREATE TABLE ...: own line, content after
	fSetOperation              // UNION, EXCEPT, INTERSECT
	fJoin                      // JOIN and its kinds: starts a line
	fLogic                     // AND, OR: start a line
	fBetween                   // BETWEEN: its AND stays on the line
	fCase                      // CASE
	fCaseBranch                // WHEN, ELSE: start a line inside CASE
	fEnd                       // END
	fComma
	fOperator
	fDense // ::, : and the dot: no spaces around
	fParen
	fLineComment
	fBlockComment
)

type fnode struct {
	kind     fkind
	text     string
	glued    bool // a parenthesis glued to the function or type name before it
	phrase   bool // keywords read as one phrase (CREATE CAST): its last word is no function
	newline  bool // a comment that started its own line
	children []fnode
	open     string
	close    string
}

// group turns tokens into nodes: phrases become one keyword node, parentheses and brackets
// hold their content.
func group(toks []ftok) []fnode {
	nodes, _ := groupUntil(toks, 0, "")
	return nodes
}

func groupUntil(toks []ftok, i int, close string) ([]fnode, int) {
	var nodes []fnode
	for i < len(toks) {
		t := toks[i]
		switch t.tok {
		case pg_query.Token_ASCII_41, pg_query.Token_ASCII_93: // ) ]
			if t.text == close {
				return nodes, i + 1
			}
			nodes = append(nodes, fnode{kind: fWord, text: t.text})
			i++
			continue
		case pg_query.Token_ASCII_40, pg_query.Token_ASCII_91: // ( [
			want := ")"
			if t.text == "[" {
				want = "]"
			}
			children, next := groupUntil(toks, i+1, want)
			nodes = append(nodes, fnode{
				kind: fParen, open: t.text, close: want, children: children,
				glued: !afterPhrase(nodes) && ((t.text == "[" && i > 0 && isName(toks[i-1])) || (t.text == "(" && gluesParen(toks, i))),
			})
			i = next
			continue
		}
		if n := phraseAt(toks, i); n > 0 {
			words := make([]string, n)
			for k := range n {
				words[k] = toks[i+k].text
			}
			kind := phraseKind(toks, i, n)
			nodes = append(nodes, fnode{kind: kind, text: strings.Join(words, " "), phrase: true})
			i += n
			continue
		}
		nodes = append(nodes, single(t))
		i++
	}
	return nodes, i
}

func single(t ftok) fnode {
	switch t.tok {
	case pg_query.Token_ASCII_44:
		return fnode{kind: fComma, text: ","}
	case pg_query.Token_TYPECAST, pg_query.Token_ASCII_58, pg_query.Token_ASCII_46:
		return fnode{kind: fDense, text: t.text}
	case pg_query.Token_SQL_COMMENT:
		return fnode{kind: fLineComment, text: strings.TrimRight(t.text, " \t\r\n"), newline: t.newlineGap}
	case pg_query.Token_C_COMMENT:
		return fnode{kind: fBlockComment, text: t.text, newline: t.newlineGap}
	case pg_query.Token_Op, pg_query.Token_ASCII_42, pg_query.Token_ASCII_43, pg_query.Token_ASCII_45,
		pg_query.Token_ASCII_47, pg_query.Token_ASCII_37, pg_query.Token_ASCII_94, pg_query.Token_ASCII_60,
		pg_query.Token_ASCII_61, pg_query.Token_ASCII_62, pg_query.Token_LESS_EQUALS,
		pg_query.Token_GREATER_EQUALS, pg_query.Token_NOT_EQUALS, pg_query.Token_EQUALS_GREATER,
		pg_query.Token_COLON_EQUALS, pg_query.Token_DOT_DOT:
		return fnode{kind: fOperator, text: t.text}
	case pg_query.Token_AND, pg_query.Token_OR:
		return fnode{kind: fLogic, text: t.text}
	case pg_query.Token_BETWEEN:
		return fnode{kind: fBetween, text: t.text}
	case pg_query.Token_CASE:
		return fnode{kind: fCase, text: t.text}
	case pg_query.Token_WHEN, pg_query.Token_ELSE:
		return fnode{kind: fCaseBranch, text: t.text}
	case pg_query.Token_END_P:
		return fnode{kind: fEnd, text: t.text}
	}
	return fnode{kind: fWord, text: t.text}
}

func afterPhrase(nodes []fnode) bool {
	return len(nodes) > 0 && nodes[len(nodes)-1].phrase
}

// gluesParen says whether the "(" at i follows a built-in function or type name, which
// sql-formatter writes name(...); everything else gets a space: IN (...), my_function (...).
// A name after a dot is a schema's member, never a built-in, as sql-formatter sees it.
func gluesParen(toks []ftok, i int) bool {
	if i == 0 {
		return false
	}
	if i >= 2 && toks[i-2].tok == pg_query.Token_ASCII_46 {
		return false
	}
	return gluedNames[strings.ToLower(toks[i-1].text)]
}

// formatNodes lays nodes out at one parenthesis level.
func formatNodes(nodes []fnode, l *layout, inline bool) {
	inClause := false
	betweens, cases := 0, 0
	for idx, n := range nodes {
		if l.failed {
			// An inline attempt that has failed is abandoned at once: going on into nested
			// parentheses would redo their own attempts, exponentially in their depth.
			return
		}
		switch n.kind {
		case fClause, fOneline, fSetOperation:
			if inClause {
				l.decreaseClause()
			}
			inClause = n.kind == fClause
			switch n.kind {
			case fClause:
				l.add(wsNewline, wsIndent, n.text, wsNewline)
				l.increaseClause()
				l.add(wsIndent)
			case fOneline:
				l.add(wsNewline, wsIndent, n.text, wsSpace)
			default:
				l.add(wsNewline, wsIndent, n.text, wsNewline, wsIndent)
			}
		case fJoin:
			l.add(wsNewline, wsIndent, n.text, wsSpace)
		case fLogic:
			if betweens > 0 && strings.EqualFold(n.text, "and") {
				betweens--
				l.add(n.text, wsSpace)
				continue
			}
			l.add(wsNewline, wsIndent, n.text, wsSpace)
		case fBetween:
			betweens++
			l.add(n.text, wsSpace)
		case fCase:
			cases++
			l.add(n.text, wsSpace)
			l.increaseBlock()
		case fCaseBranch:
			if cases > 0 {
				l.add(wsNewline, wsIndent)
			}
			l.add(n.text, wsSpace)
		case fEnd:
			if cases > 0 {
				cases--
				l.decreaseBlock()
				l.add(wsNewline, wsIndent)
			}
			l.add(n.text, wsSpace)
		case fComma:
			if inline {
				l.add(wsNoSpace, ",", wsSpace)
			} else {
				l.add(wsNoSpace, ",", wsNewline, wsIndent)
			}
		case fOperator:
			if unary(nodes, idx) {
				l.add(n.text)
			} else {
				l.add(n.text, wsSpace)
			}
		case fDense:
			l.add(wsNoSpace, n.text)
		case fParen:
			formatParen(n, l)
		case fLineComment:
			switch {
			case n.newline:
				l.add(wsNewline, wsIndent, n.text, wsMandatoryNewline, wsIndent)
			case len(l.items) > 0:
				l.add(wsNoNewline, wsSpace, n.text, wsMandatoryNewline, wsIndent)
			default:
				l.add(n.text, wsMandatoryNewline, wsIndent)
			}
		case fBlockComment:
			if strings.Contains(n.text, "\n") || n.newline || l.atLineStart() {
				for _, line := range strings.Split(n.text, "\n") {
					l.add(wsNewline, wsIndent, strings.TrimLeft(line, " \t"))
				}
				l.add(wsNewline, wsIndent)
			} else {
				l.add(n.text, wsSpace)
			}
		default:
			l.add(n.text, wsSpace)
		}
	}
	if inClause {
		l.decreaseClause()
	}
}

func formatParen(n fnode, l *layout) {
	if n.glued {
		l.add(wsNoSpace)
	}
	width := 50
	if l.inline {
		// Inside an inline attempt the parenthesis can only fit in what is left of it; a
		// smaller budget fails the same inputs, sooner (deep nesting stays linear).
		width = min(width, l.width-l.length-1)
	}
	in := &layout{inline: true, width: width}
	formatNodes(n.children, in, true)
	if !in.failed {
		l.add(n.open)
		l.appendInline(in)
		l.add(wsNoSpace, n.close, wsSpace)
		return
	}
	l.add(n.open, wsNewline)
	l.increaseBlock()
	l.add(wsIndent)
	formatNodes(n.children, l, false)
	l.decreaseBlock()
	l.add(wsNewline, wsIndent, n.close, wsSpace)
}

// unary says whether the + or - at idx is a sign (nothing to its left it could subtract
// from), which stays glued to its operand.
func unary(nodes []fnode, idx int) bool {
	if nodes[idx].text != "-" && nodes[idx].text != "+" {
		return false
	}
	for j := idx - 1; j >= 0; j-- {
		switch nodes[j].kind {
		case fLineComment, fBlockComment:
			continue
		case fWord, fParen, fEnd:
			return false
		}
		return true
	}
	return true
}
