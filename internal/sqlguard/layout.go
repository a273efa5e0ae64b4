package sqlguard

import "strings"

// ws are the whitespace instructions of a layout, after sql-formatter's (the library behind
// postgres-meta's /query/format), whose output Format reproduces.
type ws int

const (
	wsSpace            ws = iota + 1 // one space
	wsNoSpace                        // drop the spaces and indentation just added
	wsNoNewline                      // drop all whitespace just added, newlines included
	wsNewline                        // a newline (never two, never at the very start)
	wsMandatoryNewline               // a newline wsNoNewline cannot remove (after -- comments)
	wsIndent                         // the current indentation
)

// item is a piece of output: text, or one of space, single indent, newline, mandatory newline.
type item struct {
	text string
	ws   ws // 0 for text; wsSpace, wsIndent (one step), wsNewline, wsMandatoryNewline
}

// layout collects output. An inline layout (for the inside of parentheses) refuses newlines
// and anything longer than width, and then reports failed: the caller lays the parentheses
// out over several lines instead.
type layout struct {
	items  []item
	levels []bool // indentation steps: true for a clause's, false for a parenthesis'

	inline        bool
	width         int
	length        int
	trailingSpace bool
	failed        bool
}

const indentStep = "  "

func (l *layout) add(parts ...any) {
	for _, p := range parts {
		if l.failed {
			return
		}
		switch p := p.(type) {
		case string:
			l.text(p)
		case ws:
			l.space(p)
		}
	}
}

func (l *layout) text(s string) {
	if l.inline {
		l.length += len(s)
		l.trailingSpace = false
		if l.length > l.width {
			l.failed = true
			return
		}
	}
	// "-" glued to "-" would start a comment.
	if strings.HasPrefix(s, "-") && len(l.items) > 0 {
		if last := l.items[len(l.items)-1]; last.ws == 0 && strings.HasSuffix(last.text, "-") {
			l.items = append(l.items, item{ws: wsSpace})
		}
	}
	l.items = append(l.items, item{text: s})
}

func (l *layout) space(w ws) {
	if l.inline {
		switch w {
		case wsNewline, wsMandatoryNewline:
			l.failed = true
			return
		case wsSpace, wsIndent:
			if !l.trailingSpace {
				l.length++
				l.trailingSpace = true
			}
		case wsNoSpace, wsNoNewline:
			if l.trailingSpace {
				l.length--
				l.trailingSpace = false
			}
		}
		if l.length > l.width {
			l.failed = true
			return
		}
	}
	switch w {
	case wsSpace:
		l.items = append(l.items, item{ws: wsSpace})
	case wsNoSpace:
		l.trimHorizontal()
	case wsNoNewline:
		for len(l.items) > 0 {
			last := l.items[len(l.items)-1].ws
			if last != wsSpace && last != wsIndent && last != wsNewline {
				break
			}
			l.items = l.items[:len(l.items)-1]
		}
	case wsNewline, wsMandatoryNewline:
		l.trimHorizontal()
		if len(l.items) == 0 {
			return
		}
		switch l.items[len(l.items)-1].ws {
		case wsNewline:
			l.items[len(l.items)-1].ws = w
		case wsMandatoryNewline:
		default:
			l.items = append(l.items, item{ws: w})
		}
	case wsIndent:
		for range l.levels {
			l.items = append(l.items, item{ws: wsIndent})
		}
	}
}

func (l *layout) trimHorizontal() {
	for len(l.items) > 0 {
		last := l.items[len(l.items)-1].ws
		if last != wsSpace && last != wsIndent {
			return
		}
		l.items = l.items[:len(l.items)-1]
	}
}

// atLineStart reports whether only indentation was added since the last newline.
func (l *layout) atLineStart() bool {
	for i := len(l.items) - 1; i >= 0; i-- {
		switch l.items[i].ws {
		case wsIndent:
			continue
		case wsNewline, wsMandatoryNewline:
			return true
		}
		return false
	}
	return false
}

func (l *layout) increaseClause() { l.levels = append(l.levels, true) }
func (l *layout) increaseBlock()  { l.levels = append(l.levels, false) }

func (l *layout) decreaseClause() {
	if n := len(l.levels); n > 0 && l.levels[n-1] {
		l.levels = l.levels[:n-1]
	}
}

// decreaseBlock leaves a parenthesis, with the clause indentation inside it.
func (l *layout) decreaseBlock() {
	for len(l.levels) > 0 {
		clause := l.levels[len(l.levels)-1]
		l.levels = l.levels[:len(l.levels)-1]
		if !clause {
			return
		}
	}
}

// appendInline copies an inline layout's output into l.
func (l *layout) appendInline(in *layout) {
	for _, it := range in.items {
		if it.ws == 0 {
			l.text(it.text)
		} else {
			l.space(it.ws)
		}
	}
}

func (l *layout) String() string {
	var b strings.Builder
	for _, it := range l.items {
		switch it.ws {
		case 0:
			b.WriteString(it.text)
		case wsSpace:
			b.WriteByte(' ')
		case wsIndent:
			b.WriteString(indentStep)
		case wsNewline, wsMandatoryNewline:
			b.WriteByte('\n')
		}
	}
	return b.String()
}
