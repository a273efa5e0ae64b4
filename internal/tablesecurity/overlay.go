package tablesecurity

import (
	"encoding/json"
	"strings"
)

// OverlayPrefix starts the schemas holding the views the API roles read a table through when
// the config restricts some of its columns for them.
const OverlayPrefix = "gf_"

// OverlaySchema is the schema of role's views over the tables of schema: gf_<role>__<schema>.
// A view there has its table's name and shows, in the table's column order, the columns the
// role may read: as they are, or (masked ones) the masked copy under the column's name.
func OverlaySchema(role, schema string) string {
	return OverlayPrefix + role + "__" + schema
}

// ParseOverlaySchema reads OverlaySchema's name back; ok is false for any other name.
func ParseOverlaySchema(name string) (role, schema string, ok bool) {
	rest, found := strings.CutPrefix(name, OverlayPrefix)
	if !found {
		return "", "", false
	}
	role, schema, ok = strings.Cut(rest, "__")
	if !ok || schema == "" || (role != "anon" && role != "authenticated") {
		return "", "", false
	}
	return role, schema, true
}

// Overlay is what a view in a table's place says about itself, in its comment (JSON): the
// table it stands for, the role it is for, and where each of its columns comes from.
type Overlay struct {
	Schema  string          `json:"schema"`
	Table   string          `json:"table"`
	Role    string          `json:"role"`
	Columns []OverlayColumn `json:"columns"`
}

// OverlayColumn is one column of an overlay view: Name is how it is shown, Source the table's
// column it reads (the masked copy for a masked column). Masked columns are text.
type OverlayColumn struct {
	Name   string `json:"name"`
	Source string `json:"source"`
	Masked bool   `json:"masked,omitempty"`
}

// overlayCommentKey wraps an Overlay in a view's comment, so no other comment is mistaken
// for one.
const overlayCommentKey = "goforward_overlay"

// ParseOverlayComment reads an overlay view's comment; ok is false for any other comment.
func ParseOverlayComment(comment string) (Overlay, bool) {
	var wrapped map[string]Overlay
	if err := json.Unmarshal([]byte(comment), &wrapped); err != nil {
		return Overlay{}, false
	}
	o, ok := wrapped[overlayCommentKey]
	return o, ok && o.Table != "" && len(o.Columns) > 0
}

func (o Overlay) comment() string {
	data, _ := json.Marshal(map[string]Overlay{overlayCommentKey: o})
	return string(data)
}
