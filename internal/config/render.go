package config

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// EnvVar documents one environment variable that Load reads.
type EnvVar struct {
	Name    string // e.g. GOFORWARD_SERVER_PORT
	Key     string // the setting it sets, e.g. server.port; "" for GOFORWARD_CONFIG
	Doc     string
	Default string // the default as it would be written in the variable; "" when empty
}

// EnvVars lists every variable Load reads, in the order of the Config tree: GOFORWARD_CONFIG
// first, then each setting's GOFORWARD_ variable followed by its conventional aliases.
func EnvVars() []EnvVar {
	vars := []EnvVar{{
		Name: configFileEnv,
		Doc:  "Path of the YAML configuration file, used when --config is not given; empty reads ./goforward.yaml if it exists.",
	}}
	defaults := Defaults()
	for _, f := range leafFields() {
		def := formatEnvValue(f.value(defaults))
		vars = append(vars, EnvVar{Name: f.env, Key: f.key, Doc: f.doc, Default: def})
		for _, alias := range f.aliases {
			vars = append(vars, EnvVar{
				Name:    alias,
				Key:     f.key,
				Doc:     "Alias of " + f.env + ", which wins when both are set.",
				Default: def,
			})
		}
	}
	return vars
}

// formatEnvValue writes a value the way an environment variable would carry it.
func formatEnvValue(v any) string {
	switch v := v.(type) {
	case []string:
		return strings.Join(v, ",")
	case time.Duration:
		return formatDuration(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// formatDuration drops the zero units time.Duration.String keeps ("1h0m0s" becomes "1h").
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// YAML renders c as a configuration file Load accepts, keys in declaration order. Call
// Redacted first when the output is shown to anyone.
func (c Config) YAML() ([]byte, error) {
	return c.render(false)
}

// DocumentedYAML is YAML with each key's documentation as a comment above it; applied to
// Defaults it is a complete example configuration file.
func (c Config) DocumentedYAML() ([]byte, error) {
	return c.render(true)
}

func (c Config) render(withDocs bool) ([]byte, error) {
	root := &yaml.Node{Kind: yaml.MappingNode}
	sections := map[string]*yaml.Node{"": root}
	for _, f := range allFields() {
		name := f.key[strings.LastIndex(f.key, ".")+1:]
		keyNode := &yaml.Node{Kind: yaml.ScalarNode, Value: name}
		if withDocs {
			// Two spaces of indent per level: comment lines stay within 90 columns.
			keyNode.HeadComment = wrapComment(f.doc, 88-2*strings.Count(f.key, "."))
		}
		valueNode := &yaml.Node{Kind: yaml.MappingNode}
		if f.section {
			sections[f.key] = valueNode
		} else if err := valueNode.Encode(yamlValue(f.value(c))); err != nil {
			return nil, fmt.Errorf("encode %s: %w", f.key, err)
		}
		parent := sections[f.parent]
		parent.Content = append(parent.Content, keyNode, valueNode)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(root); err != nil {
		return nil, fmt.Errorf("encode configuration: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode configuration: %w", err)
	}
	return buf.Bytes(), nil
}

// yamlValue writes durations in Go syntax, which is what Load reads back.
func yamlValue(v any) any {
	if d, ok := v.(time.Duration); ok {
		return formatDuration(d)
	}
	return v
}

// wrapComment breaks text into lines of at most width characters where it can.
func wrapComment(text string, width int) string {
	var lines []string
	var line string
	for _, word := range strings.Fields(text) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}
