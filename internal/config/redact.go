package config

import (
	"net/url"
	"reflect"
	"regexp"
	"strings"
)

// RedactedMark replaces secrets in Redacted output.
const RedactedMark = "[redacted]"

// Redacted returns a copy of c that is safe to print or log: whole secrets (jwt.secret,
// database.authenticator_password) become "[redacted]" when set, and connection URLs keep
// everything but their password (postgres://user:[redacted]@host/db). Unset secrets stay
// empty, so the output still shows which ones will be generated.
func (c Config) Redacted() Config {
	out := c
	v := reflect.ValueOf(&out).Elem()
	for _, f := range leafFields() {
		fv := v.FieldByIndex(f.index)
		switch {
		case f.redact == redactValue && fv.String() != "":
			fv.SetString(RedactedMark)
		case f.redact == redactPassword && fv.Kind() == reflect.Slice:
			urls := make([]string, fv.Len())
			for i := range urls {
				urls[i] = redactURL(fv.Index(i).String())
			}
			if !fv.IsNil() {
				fv.Set(reflect.ValueOf(urls))
			}
		case f.redact == redactPassword:
			fv.SetString(redactURL(fv.String()))
		case fv.Kind() == reflect.Slice && !fv.IsNil():
			// A copy shares no backing arrays with the original.
			fv.Set(reflect.AppendSlice(reflect.MakeSlice(fv.Type(), 0, fv.Len()), fv))
		}
	}
	return out
}

// redactURL masks the password of a postgres or redis URL, including password and
// sslpassword query parameters, or the password of a key=value DSN. When the boundaries are
// ambiguous it masks too much rather than too little.
func redactURL(raw string) string {
	scheme, rest, isURL := strings.Cut(raw, "://")
	if !isURL {
		return redactDSN(raw)
	}
	var b strings.Builder
	b.WriteString(scheme + "://")
	// The last '@' ends the userinfo: an unescaped '@' inside a password then cannot
	// leave part of it visible as a host.
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		user, _, hasPassword := strings.Cut(rest[:at], ":")
		b.WriteString(user)
		if hasPassword {
			b.WriteString(":" + RedactedMark)
		}
		b.WriteByte('@')
		rest = rest[at+1:]
	}
	base, query, hasQuery := strings.Cut(rest, "?")
	b.WriteString(base)
	if hasQuery {
		b.WriteByte('?')
		b.WriteString(redactQuery(query))
	}
	return b.String()
}

func redactQuery(query string) string {
	params := strings.Split(query, "&")
	for i, param := range params {
		key, _, _ := strings.Cut(param, "=")
		if name, err := url.QueryUnescape(key); err != nil || isPasswordKey(name) {
			params[i] = key + "=" + RedactedMark
		}
	}
	return strings.Join(params, "&")
}

func isPasswordKey(name string) bool {
	name = strings.ToLower(strings.TrimSpace(name))
	return name == "password" || name == "sslpassword"
}

// redactDSN masks password and sslpassword in a key=value connection string, quoted
// values included.
func redactDSN(dsn string) string {
	password := regexp.MustCompile(`(?i)(\b(?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'?|\S*)`)
	return password.ReplaceAllString(dsn, "${1}"+RedactedMark)
}
