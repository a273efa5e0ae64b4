package rest

import (
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// parsePrefer reads every Prefer header: comma-separated preferences, key=value or bare.
// Unknown preferences and values are collected in Invalid (an error only with handling=strict,
// which the planner checks).
func parsePrefer(headers []string) (Preferences, error) {
	var p Preferences
	for _, h := range headers {
		for item := range strings.SplitSeq(h, ",") {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			key, value, _ := strings.Cut(item, "=")
			key, value = strings.TrimSpace(key), strings.Trim(strings.TrimSpace(value), `"`)
			valid := true
			switch key {
			case "return":
				valid = value == "minimal" || value == "headers-only" || value == "representation"
				if valid {
					p.Return = value
				}
			case "count":
				valid = value == "exact" || value == "planned" || value == "estimated"
				if valid {
					p.Count = value
				}
			case "resolution":
				valid = value == "merge-duplicates" || value == "ignore-duplicates"
				if valid {
					p.Resolution = value
				}
			case "missing":
				valid = value == "default" || value == "null"
				if valid {
					p.Missing = value
				}
			case "handling":
				valid = value == "strict" || value == "lenient"
				if valid {
					p.Handling = value
				}
			case "tx":
				valid = value == "commit" || value == "rollback"
				if valid {
					p.Tx = value
				}
			case "params":
				valid = value == "single-object"
				if valid {
					p.Params = value
				}
			case "max-affected":
				n, err := strconv.ParseInt(value, 10, 64)
				valid = err == nil && n >= 0
				if valid {
					p.MaxAffected = &n
				}
			default:
				valid = false
			}
			if !valid {
				p.Invalid = append(p.Invalid, item)
			}
		}
	}
	if p.Handling == "strict" && len(p.Invalid) > 0 {
		return p, apiError(http.StatusBadRequest, CodeBadPreferences, "Invalid preferences given with handling=strict",
			"Invalid preferences: "+strings.Join(p.Invalid, ", "), nil)
	}
	return p, nil
}

type acceptEntry struct {
	mediaType string
	q         float64
	order     int
	// stripNulls is the nulls=stripped parameter.
	stripNulls bool
}

// parseAccept picks the representation: the first supported media type in order of quality,
// and whether it asks for null-valued keys to be left out (nulls=stripped, which PostgREST
// honours on its vendor JSON types only). Nothing acceptable is 406 PGRST107.
func parseAccept(header string, root bool) (MediaType, bool, error) {
	if strings.TrimSpace(header) == "" {
		if root {
			return MediaOpenAPI, false, nil
		}
		return MediaJSON, false, nil
	}
	var entries []acceptEntry
	for i, part := range strings.Split(header, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if qs, ok := params["q"]; ok {
			if parsed, err := strconv.ParseFloat(qs, 64); err == nil {
				q = parsed
			}
		}
		entries = append(entries, acceptEntry{mediaType: mt, q: q, order: i, stripNulls: params["nulls"] == "stripped"})
	}
	slices.SortStableFunc(entries, func(a, b acceptEntry) int {
		switch {
		case a.q > b.q:
			return -1
		case a.q < b.q:
			return 1
		}
		return a.order - b.order
	})
	for _, e := range entries {
		if e.q <= 0 {
			continue
		}
		switch e.mediaType {
		case "application/vnd.pgrst.array+json", "application/vnd.pgrst.array":
			return MediaJSON, e.stripNulls, nil
		case "application/json":
			return MediaJSON, false, nil
		case "*/*", "application/*":
			if root {
				return MediaOpenAPI, false, nil
			}
			return MediaJSON, false, nil
		case "application/vnd.pgrst.object+json", "application/vnd.pgrst.object":
			return MediaObject, e.stripNulls, nil
		case "text/csv":
			return MediaCSV, false, nil
		case "application/geo+json":
			return MediaGeoJSON, false, nil
		case "application/openapi+json":
			if root {
				return MediaOpenAPI, false, nil
			}
		}
	}
	return MediaJSON, false, apiError(http.StatusNotAcceptable, CodeBadMediaType,
		"None of these media types are available: "+header, nil, nil)
}

var rangePattern = regexp.MustCompile(`^(\d+)-(\d*)$`)

// parseRangeHeader reads "Range: first-last" (last optional) in items.
func parseRangeHeader(header, unit string) (*ItemRange, error) {
	header = strings.TrimSpace(header)
	if header == "" || (unit != "" && !strings.EqualFold(unit, "items")) {
		return nil, nil
	}
	header = strings.TrimPrefix(header, "items=")
	m := rangePattern.FindStringSubmatch(header)
	if m == nil {
		return nil, nil
	}
	first, err := strconv.ParseInt(m[1], 10, 64)
	if err != nil {
		return nil, nil
	}
	r := &ItemRange{First: first, Last: -1}
	if m[2] != "" {
		last, err := strconv.ParseInt(m[2], 10, 64)
		if err != nil {
			return nil, nil
		}
		if last < first {
			return nil, apiError(http.StatusRequestedRangeNotSatisfiable, CodeBadRange, "Requested range not satisfiable",
				"The lower boundary must be lower than or equal to the upper boundary in the Range header.", nil)
		}
		r.Last = last
	}
	return r, nil
}

// contentRange formats Content-Range: "first-last/total", "*/total" when empty; total is
// "*" when unknown.
func contentRange(first, count int64, total *int64) string {
	totalText := "*"
	if total != nil {
		totalText = strconv.FormatInt(*total, 10)
	}
	if count <= 0 {
		return "*/" + totalText
	}
	return fmt.Sprintf("%d-%d/%s", first, first+count-1, totalText)
}

// planOptions are EXPLAIN's options a plan request may ask for, in the order PostgREST writes
// them.
var planOptions = []string{"analyze", "verbose", "settings", "buffers", "wal"}

// parsePlanAccept reads Accept: application/vnd.pgrst.plan (text), +text or +json, with
// for="<media type>" and options=analyze|verbose|settings|buffers|wal, as PostgREST does; nil
// when Accept names none. It is only consulted when nothing else in Accept is acceptable, so a
// client that also takes JSON gets JSON.
func parsePlanAccept(header string) (*PlanSpec, error) {
	for _, part := range strings.Split(header, ",") {
		mt, params := looseMediaType(part)
		var spec PlanSpec
		switch mt {
		case "application/vnd.pgrst.plan", "application/vnd.pgrst.plan+text":
		case "application/vnd.pgrst.plan+json":
			spec.JSON = true
		default:
			continue
		}
		spec.For = params["for"]
		if spec.For == "" {
			spec.For = "application/json"
		}
		asked := strings.Split(params["options"], "|")
		for _, o := range planOptions {
			if slices.Contains(asked, o) {
				spec.Options = append(spec.Options, o)
			}
		}
		return &spec, nil
	}
	return nil, nil
}

// planContentType is the Content-Type of a plan, as PostgREST writes it.
func planContentType(spec *PlanSpec) string {
	format := "text"
	if spec.JSON {
		format = "json"
	}
	ct := "application/vnd.pgrst.plan+" + format + `; for="` + spec.For + `"`
	if len(spec.Options) > 0 {
		ct += "; options=" + strings.Join(spec.Options, "|")
	}
	return ct + "; charset=utf-8"
}

// looseMediaType splits "type/subtype; key=value; ..." without mime.ParseMediaType's
// strictness: postgrest-js sends an empty "options=;" when it asks for no option.
func looseMediaType(s string) (string, map[string]string) {
	parts := strings.Split(s, ";")
	params := map[string]string{}
	for _, p := range parts[1:] {
		k, v, _ := strings.Cut(p, "=")
		params[strings.ToLower(strings.TrimSpace(k))] = strings.Trim(strings.TrimSpace(v), `"`)
	}
	return strings.ToLower(strings.TrimSpace(parts[0])), params
}
