package mailer

import (
	"html"
	"strings"
)

// PlainText renders an HTML mail body as plain text for the text/plain alternative: tags are
// dropped, block elements become line breaks, a link keeps its target as "text <url>" (the
// delimiters RFC 3986 suggests for URIs in prose), the contents of head, style and script are
// dropped, and entities are decoded. It is deliberately simple: mail templates are small and
// well-formed, and the goal is a readable fallback that still carries every link and code.
func PlainText(htmlBody string) string {
	var r textRenderer
	r.render(htmlBody)
	return tidyLines(html.UnescapeString(r.out.String()))
}

// textRenderer walks the markup once. Text is written still escaped and decoded at the end,
// so an escaped "&lt;b&gt;" in user data is never taken for a tag.
type textRenderer struct {
	out   strings.Builder
	skip  string     // element whose content is being dropped (style, script, head, title)
	links []openLink // anchors not yet closed
}

type openLink struct {
	href  string
	start int // out.Len() when the anchor opened
}

func (r *textRenderer) render(s string) {
	for len(s) > 0 {
		lt := strings.IndexByte(s, '<')
		if lt < 0 {
			r.text(s)
			return
		}
		r.text(s[:lt])
		s = s[lt:]
		if strings.HasPrefix(s, "<!--") {
			end := strings.Index(s, "-->")
			if end < 0 {
				return
			}
			s = s[end+len("-->"):]
			continue
		}
		end := tagEnd(s)
		if end < 0 {
			// A "<" that opens no tag is text.
			r.text("<")
			s = s[1:]
			continue
		}
		r.tag(s[1:end])
		s = s[end+1:]
	}
}

func (r *textRenderer) text(s string) {
	if r.skip != "" || s == "" {
		return
	}
	// HTML collapses whitespace; line breaks come only from elements.
	if isSpace(s[0]) {
		r.space()
	}
	r.out.WriteString(strings.Join(strings.Fields(s), " "))
	if len(s) > 1 && isSpace(s[len(s)-1]) {
		r.space()
	}
}

// space separates words once, however many elements and blanks ask for it.
func (r *textRenderer) space() {
	out := r.out.String()
	if out != "" && !isSpace(out[len(out)-1]) {
		r.out.WriteByte(' ')
	}
}

func (r *textRenderer) tag(tag string) {
	closing := strings.HasPrefix(tag, "/")
	name := tagName(strings.TrimPrefix(tag, "/"))
	if r.skip != "" {
		if closing && name == r.skip {
			r.skip = ""
		}
		return
	}
	switch name {
	case "head", "style", "script", "title":
		if !closing && !strings.HasSuffix(tag, "/") {
			r.skip = name
		}
	case "br":
		r.out.WriteString("\n")
	case "p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote", "ul", "ol":
		r.out.WriteString("\n\n")
	case "div", "tr", "hr", "section", "article", "header", "footer":
		r.out.WriteString("\n")
	case "li":
		if !closing {
			r.out.WriteString("\n- ")
		}
	case "td", "th":
		r.space()
	case "a":
		if !closing {
			r.links = append(r.links, openLink{href: attribute(tag, "href"), start: r.out.Len()})
			return
		}
		if len(r.links) == 0 {
			return
		}
		link := r.links[len(r.links)-1]
		r.links = r.links[:len(r.links)-1]
		label := strings.TrimSpace(r.out.String()[link.start:])
		if link.href != "" && link.href != label {
			r.out.WriteString(" <" + link.href + ">")
		}
	}
}

// tagEnd returns the index of the ">" closing the tag that s starts with, skipping quoted
// attribute values, or -1 when s does not start a tag.
func tagEnd(s string) int {
	if len(s) < 2 || !(isLetter(s[1]) || s[1] == '/' || s[1] == '!' || s[1] == '?') {
		return -1
	}
	var quote byte
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return i
		}
	}
	return -1
}

func tagName(tag string) string {
	end := 0
	for end < len(tag) && (isLetter(tag[end]) || (end > 0 && tag[end] >= '0' && tag[end] <= '9')) {
		end++
	}
	return strings.ToLower(tag[:end])
}

// attribute returns the value of the attribute called name in tag ("a href=..."), or "".
func attribute(tag, name string) string {
	rest := tag[len(tagName(tag)):]
	for {
		rest = strings.TrimLeft(rest, " \t\r\n/")
		if rest == "" {
			return ""
		}
		end := strings.IndexAny(rest, " \t\r\n=/")
		if end < 0 {
			end = len(rest)
		}
		key := strings.ToLower(rest[:end])
		rest = strings.TrimLeft(rest[end:], " \t\r\n")
		value := ""
		if strings.HasPrefix(rest, "=") {
			rest = strings.TrimLeft(rest[1:], " \t\r\n")
			value, rest = attributeValue(rest)
		}
		if key == name {
			return value
		}
	}
}

func attributeValue(s string) (value, rest string) {
	if s == "" {
		return "", ""
	}
	if q := s[0]; q == '"' || q == '\'' {
		end := strings.IndexByte(s[1:], q)
		if end < 0 {
			return s[1:], ""
		}
		return s[1 : end+1], s[end+2:]
	}
	end := strings.IndexAny(s, " \t\r\n")
	if end < 0 {
		return s, ""
	}
	return s[:end], s[end:]
}

// tidyLines trims every line and keeps at most one blank line between paragraphs.
func tidyLines(s string) string {
	lines := strings.Split(s, "\n")
	kept := lines[:0]
	blank := true // drops leading blank lines
	for _, line := range lines {
		line = strings.TrimSpace(line)
		if line == "" {
			if !blank {
				kept = append(kept, "")
			}
			blank = true
			continue
		}
		kept = append(kept, line)
		blank = false
	}
	return strings.TrimSpace(strings.Join(kept, "\n"))
}

func isSpace(c byte) bool  { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }
func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
