package rest

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// responseSettings is what SQL asked of the HTTP response through the response.headers and
// response.status settings.
type responseSettings struct {
	headers [][2]string // name, value; in the order SQL listed them
	status  int         // 0: the status the request would have had
}

// framedByServer reports the headers the HTTP server derives from the body it actually sends;
// SQL that sets them would corrupt the response, so they are left out.
func framedByServer(name string) bool {
	switch name {
	case "Content-Length", "Transfer-Encoding", "Connection", "Keep-Alive", "Upgrade", "Trailer":
		return true
	}
	return false
}

// parseResponseSettings reads the settings' text (nil when unset). response.headers must be a
// JSON array of objects each holding one key with a string value (500 PGRST111 otherwise);
// response.status an integer status code from 200 to 599 (500 PGRST112 otherwise; a 1xx
// would be sent as an interim response followed by a 200).
func parseResponseSettings(headers, status *string) (responseSettings, error) {
	var rs responseSettings
	if headers != nil {
		h, err := parseResponseHeaders(*headers)
		if err != nil {
			return rs, err
		}
		rs.headers = h
	}
	if status != nil {
		n, err := strconv.Atoi(strings.TrimSpace(*status))
		if err != nil || n < 200 || n > 599 {
			return rs, apiError(http.StatusInternalServerError, CodeBadResponseStatus,
				"response.status guc must be a valid status code", nil, nil)
		}
		rs.status = n
	}
	return rs, nil
}

func parseResponseHeaders(text string) ([][2]string, error) {
	invalid := apiError(http.StatusInternalServerError, CodeBadResponseHeaders,
		"response.headers guc must be a JSON array composed of objects with a single key and a string value", nil, nil)
	var items []json.RawMessage
	if err := json.Unmarshal([]byte(text), &items); err != nil {
		return nil, invalid
	}
	out := make([][2]string, 0, len(items))
	for _, item := range items {
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(item, &obj); err != nil || obj == nil || len(obj) != 1 {
			return nil, invalid
		}
		for name, raw := range obj {
			var value *string
			if json.Unmarshal(raw, &value) != nil || value == nil {
				return nil, invalid
			}
			if !validHeaderName(name) || strings.ContainsAny(*value, "\r\n\x00") {
				return nil, invalid
			}
			out = append(out, [2]string{http.CanonicalHeaderKey(name), *value})
		}
	}
	return out, nil
}

// validHeaderName accepts RFC 9110 token characters only.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for _, c := range []byte(name) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// apply sets the headers SQL asked for, replacing those the service set under the same name
// (PostgREST lets them override Location, Content-Type and the like); repeated names in the
// setting all go out.
func (rs responseSettings) apply(h http.Header) {
	replaced := map[string]bool{}
	for _, kv := range rs.headers {
		if framedByServer(kv[0]) {
			continue
		}
		if !replaced[kv[0]] {
			h.Del(kv[0])
			replaced[kv[0]] = true
		}
		h.Add(kv[0], kv[1])
	}
}

// settingsGuardSQL runs last in the implicit transaction of a write that commits on its own,
// and fails it (division by zero) when the request left response.headers or response.status
// in a state parseResponseSettings refuses: the client then gets PGRST111 or PGRST112 and the
// write is rolled back, rather than a 500 for a write that happened. Any error it raises on
// invalid input serves as well. It accepts no more than parseResponseSettings does.
const settingsGuardSQL = `SELECT 1 / CASE WHEN
	(h IS NULL OR (left(ltrim(h, E' \t\r\n'), 1) = '[' AND NOT EXISTS (
		SELECT FROM json_array_elements(h::json) AS e(item)
		WHERE json_typeof(item) <> 'object'
		   OR (SELECT count(*) FROM json_each(item)) <> 1
		   OR EXISTS (SELECT FROM json_each(item) AS kv(k, v)
		              WHERE json_typeof(v) <> 'string'
		                 OR k !~ '^[-!#$%&''*+.^_|~0-9A-Za-z` + "`" + `]+$'
		                 OR strpos(v #>> '{}', chr(10)) > 0 OR strpos(v #>> '{}', chr(13)) > 0))))
	AND (s IS NULL OR (s ~ '^\s*[+-]?[0-9]{1,9}\s*$' AND btrim(s)::int BETWEEN 200 AND 599))
	THEN 1 ELSE 0 END
FROM (SELECT nullif(current_setting('response.headers', true), '') AS h,
             nullif(current_setting('response.status', true), '') AS s) AS settings`
