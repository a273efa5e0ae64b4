package config

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// coerce converts a raw value (a string from the environment, whatever YAML produced, or a
// flag value) to the exact Go type of a setting. Its errors are reasons, worded to follow
// the key name in a FieldError.
func coerce(t reflect.Type, raw any) (any, error) {
	if t == reflect.TypeFor[time.Duration]() {
		return coerceDuration(raw)
	}
	switch t.Kind() {
	case reflect.String:
		s, err := coerceString(raw)
		return s, err
	case reflect.Bool:
		return coerceBool(raw)
	case reflect.Int, reflect.Int32, reflect.Int64:
		return coerceInt(t, raw)
	case reflect.Float64:
		return coerceFloat(raw)
	case reflect.Slice:
		if t.Elem().Kind() == reflect.String {
			return coerceStrings(raw)
		}
	}
	return nil, fmt.Errorf("has unsupported type %s", t)
}

func coerceString(raw any) (string, error) {
	if s, ok := raw.(string); ok {
		return s, nil
	}
	// YAML reads `issuer: 2024` as a number; a string setting takes it as written.
	rv := reflect.ValueOf(raw)
	switch rv.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return fmt.Sprint(raw), nil
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(rv.Float(), 'f', -1, 64), nil
	}
	return "", errors.New("must be a single text value")
}

func coerceBool(raw any) (bool, error) {
	switch v := raw.(type) {
	case bool:
		return v, nil
	case string:
		if b, err := strconv.ParseBool(strings.TrimSpace(v)); err == nil {
			return b, nil
		}
	}
	return false, errors.New("must be true or false")
}

func coerceInt(t reflect.Type, raw any) (any, error) {
	n, ok := wholeNumber(raw)
	if !ok {
		return nil, errors.New("must be a whole number")
	}
	out := reflect.New(t).Elem()
	if out.OverflowInt(n) {
		return nil, fmt.Errorf("must be a whole number of at most %d bits", t.Bits())
	}
	out.SetInt(n)
	return out.Interface(), nil
}

// wholeNumber accepts any integer, a float without a fractional part (JSON and some YAML
// writers produce those) and a decimal string.
func wholeNumber(raw any) (int64, bool) {
	if s, ok := raw.(string); ok {
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		return n, err == nil
	}
	rv := reflect.ValueOf(raw)
	switch {
	case rv.CanInt():
		return rv.Int(), true
	case rv.CanUint():
		u := rv.Uint()
		return int64(u), u <= math.MaxInt64
	case rv.CanFloat():
		f := rv.Float()
		if f != math.Trunc(f) || f < math.MinInt64 || f >= math.MaxInt64 {
			return 0, false
		}
		return int64(f), true
	}
	return 0, false
}

func coerceFloat(raw any) (float64, error) {
	var f float64
	rv := reflect.ValueOf(raw)
	switch {
	case rv.Kind() == reflect.String:
		parsed, err := strconv.ParseFloat(strings.TrimSpace(rv.String()), 64)
		if err != nil {
			return 0, errors.New("must be a number")
		}
		f = parsed
	case rv.CanFloat():
		f = rv.Float()
	case rv.CanInt():
		f = float64(rv.Int())
	case rv.CanUint():
		f = float64(rv.Uint())
	default:
		return 0, errors.New("must be a number")
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, errors.New("must be a finite number")
	}
	return f, nil
}

func coerceDuration(raw any) (time.Duration, error) {
	const reason = `must be a duration such as "30s", "5m" or "1h"`
	switch v := raw.(type) {
	case time.Duration:
		return v, nil
	case string:
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			return 0, errors.New(reason)
		}
		return d, nil
	}
	// A bare 0 is unambiguous ("no timeout"); any other bare number has no unit.
	if n, ok := wholeNumber(raw); ok && n == 0 {
		return 0, nil
	}
	return 0, errors.New(reason)
}

// coerceStrings takes a YAML list, or a comma-separated string as environment variables
// carry lists (GOFORWARD_SERVICES=auth,rest). Blank items are dropped, and an empty list is
// nil, as in Defaults.
func coerceStrings(raw any) ([]string, error) {
	var out []string
	switch v := raw.(type) {
	case []string:
		out = slices.Clone(v)
	case string:
		for item := range strings.SplitSeq(v, ",") {
			if item = strings.TrimSpace(item); item != "" {
				out = append(out, item)
			}
		}
	case []any:
		for _, item := range v {
			s, err := coerceString(item)
			if err != nil {
				return nil, errors.New("must be a list of text values")
			}
			out = append(out, s)
		}
	default:
		return nil, errors.New("must be a list of text values")
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}
