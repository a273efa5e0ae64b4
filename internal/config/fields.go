package config

import (
	"reflect"
	"strings"
)

// envPrefix starts the environment variable of every leaf key.
const envPrefix = "GOFORWARD_"

// configFileEnv names the configuration file when no explicit path is given.
const configFileEnv = "GOFORWARD_CONFIG"

// Values of the redact tag.
const (
	redactValue    = "value"    // the whole value is secret
	redactPassword = "password" // a connection URL whose password is secret
)

// field describes one setting of the Config tree, read from its struct tags.
type field struct {
	key     string   // koanf path, e.g. server.max_body_bytes
	env     string   // GOFORWARD_SERVER_MAX_BODY_BYTES
	aliases []string // conventional variables that also set it, weaker than env
	doc     string
	redact  string // "", redactValue or redactPassword
	typ     reflect.Type
	index   []int  // reflect index path from Config
	section bool   // a struct grouping other settings rather than a value
	parent  string // key of the enclosing section, "" at the top
}

func (f field) secret() bool { return f.redact != "" }

// value returns the field's value in c.
func (f field) value(c Config) any {
	return reflect.ValueOf(c).FieldByIndex(f.index).Interface()
}

// allFields lists sections and leaves of Config in declaration order, each section before
// its children.
func allFields() []field {
	return appendFields(nil, reflect.TypeFor[Config](), "", nil)
}

// leafFields lists the settings that hold values, in declaration order.
func leafFields() []field {
	var leaves []field
	for _, f := range allFields() {
		if !f.section {
			leaves = append(leaves, f)
		}
	}
	return leaves
}

func appendFields(out []field, t reflect.Type, prefix string, index []int) []field {
	for i := range t.NumField() {
		sf := t.Field(i)
		name := sf.Tag.Get("koanf")
		if name == "" {
			continue
		}
		key := name
		if prefix != "" {
			key = prefix + "." + name
		}
		f := field{
			key:    key,
			env:    envPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "_")),
			doc:    sf.Tag.Get("doc"),
			redact: sf.Tag.Get("redact"),
			typ:    sf.Type,
			index:  append(append([]int(nil), index...), i),
			parent: prefix,
		}
		if alias := sf.Tag.Get("envalias"); alias != "" {
			f.aliases = strings.Split(alias, ",")
		}
		f.section = sf.Type.Kind() == reflect.Struct
		out = append(out, f)
		if f.section {
			out = appendFields(out, sf.Type, key, f.index)
		}
	}
	return out
}
