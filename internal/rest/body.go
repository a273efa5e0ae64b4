package rest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// errNotAllObjects is a JSON array body with an element that is not an object.
var errNotAllObjects = errors.New("all elements of the array must be objects")

// scanBodyKeys checks that body is one JSON object or an array of objects and returns the
// keys (the union over the objects, in first-seen order). Values are skipped, not decoded:
// PostgreSQL converts them when it reads the body with json_populate_recordset.
func scanBodyKeys(body []byte) ([]string, bool, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, false, err
	}
	var (
		keys    []string
		seen    = map[string]bool{}
		isArray bool
	)
	readObject := func() error {
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			key, ok := tok.(string)
			if !ok {
				return errors.New("object key is not a string")
			}
			if !seen[key] {
				seen[key] = true
				keys = append(keys, key)
			}
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return err
			}
		}
		_, err := dec.Token() // }
		return err
	}
	switch tok {
	case json.Delim('{'):
		if err := readObject(); err != nil {
			return nil, false, err
		}
	case json.Delim('['):
		isArray = true
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return nil, false, err
			}
			if tok != json.Delim('{') {
				return nil, false, errNotAllObjects
			}
			if err := readObject(); err != nil {
				return nil, false, err
			}
		}
		if _, err := dec.Token(); err != nil {
			return nil, false, err
		}
	default:
		return nil, false, fmt.Errorf("expected a JSON object or array, got %v", tok)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, false, errors.New("unexpected data after the JSON value")
	}
	return keys, isArray, nil
}

// asArray returns body as a JSON array, wrapping a single object.
func asArray(body []byte, isArray bool) []byte {
	if isArray {
		return body
	}
	out := make([]byte, 0, len(body)+2)
	out = append(out, '[')
	out = append(out, body...)
	return append(out, ']')
}
