package config

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"

	"github.com/knadh/koanf/parsers/yaml"
	"github.com/knadh/koanf/providers/confmap"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/structs"
	"github.com/knadh/koanf/v2"
)

// DefaultFile is the configuration file read from the working directory when neither
// LoadOptions.File nor GOFORWARD_CONFIG names one and it exists.
const DefaultFile = "goforward.yaml"

// overridesSource names LoadOptions.Overrides in error messages.
const overridesSource = "flags"

// LoadOptions says where Load finds settings besides the defaults. The zero value reads
// ./goforward.yaml if present and the process environment.
type LoadOptions struct {
	// File is an explicit configuration file (--config), which must exist. Empty means
	// $GOFORWARD_CONFIG, else ./goforward.yaml if it exists, else no file.
	File string
	// Getenv reads environment variables; nil means os.Getenv.
	Getenv func(string) string
	// Overrides are flag values by key path, such as {"server.port": 9000}. They win over
	// everything else; values may be typed or strings.
	Overrides map[string]any
	// Defaults changes the built-in defaults before anything else is applied: a program
	// embedding Go Forward configures it from code this way, and the file, the environment
	// and the flags still override what it sets, as they override the built-in defaults.
	Defaults func(*Config)
	// StorageBackends are the names of blob backends an embedding program registered, which
	// storage.backend may name besides local and s3.
	StorageBackends []string
}

// Load builds the effective configuration from, weakest first: Defaults, the YAML file,
// environment variables, Overrides. In the environment a setting's GOFORWARD_ variable
// (GOFORWARD_SERVER_MAX_BODY_BYTES) wins over its conventional alias (DATABASE_URL), empty
// variables count as unset, and lists are comma-separated. It then calls Validate.
//
// Errors name the key and where its value came from: an unknown key in the file, a value of
// the wrong type (GOFORWARD_SERVER_PORT=abc), or each failed validation, all joined. A file
// that cannot be read or parsed is named in the error.
func Load(opts LoadOptions) (Config, error) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	l := newLoader()
	defaults := Defaults()
	if opts.Defaults != nil {
		opts.Defaults(&defaults)
	}
	if err := l.k.Load(structs.Provider(defaults, "koanf"), nil); err != nil {
		return Config{}, fmt.Errorf("load defaults: %w", err)
	}
	path, err := configPath(opts.File, getenv)
	if err != nil {
		return Config{}, err
	}
	if path != "" {
		if err := l.loadFile(path); err != nil {
			return Config{}, err
		}
	}
	if err := l.loadEnv(getenv); err != nil {
		return Config{}, err
	}
	if err := l.loadOverrides(opts.Overrides); err != nil {
		return Config{}, err
	}
	var c Config
	if err := l.k.UnmarshalWithConf("", &c, koanf.UnmarshalConf{Tag: "koanf"}); err != nil {
		return Config{}, fmt.Errorf("decode configuration: %w", err)
	}
	// A value that failed to convert was left out, so the weaker layer's value stands in
	// for it here and validation reports only genuine problems alongside it.
	if err := c.validate(opts.StorageBackends); err != nil {
		l.errs = append(l.errs, l.attributeSources(err)...)
	}
	if len(l.errs) > 0 {
		return Config{}, errors.Join(l.errs...)
	}
	return c, nil
}

// configPath picks the file to read: explicit, then $GOFORWARD_CONFIG (both must exist),
// then DefaultFile if it exists.
func configPath(explicit string, getenv func(string) string) (string, error) {
	path := explicit
	if path == "" {
		path = getenv(configFileEnv)
	}
	if path != "" {
		if _, err := os.Stat(path); err != nil {
			return "", fmt.Errorf("config file %s: %w", path, unwrapPathError(err))
		}
		return path, nil
	}
	_, err := os.Stat(DefaultFile)
	switch {
	case err == nil:
		return DefaultFile, nil
	case errors.Is(err, fs.ErrNotExist):
		return "", nil
	}
	return "", fmt.Errorf("config file %s: %w", DefaultFile, unwrapPathError(err))
}

// unwrapPathError drops the "stat <path>:" prefix, which would repeat the path.
func unwrapPathError(err error) error {
	if pathErr, ok := errors.AsType[*fs.PathError](err); ok {
		return pathErr.Err
	}
	return err
}

// loader merges layers into one koanf instance, remembering where each key was last set
// and collecting errors across layers so that one run reports them all.
type loader struct {
	k       *koanf.Koanf
	fields  map[string]field
	sources map[string]string
	errs    []error
}

func newLoader() *loader {
	l := &loader{k: koanf.New("."), fields: map[string]field{}, sources: map[string]string{}}
	for _, f := range allFields() {
		l.fields[f.key] = f
	}
	return l
}

func (l *loader) loadFile(path string) error {
	fk := koanf.New(".")
	if err := fk.Load(file.Provider(path), yaml.Parser()); err != nil {
		return fmt.Errorf("config file %s: %w", path, err)
	}
	flat := fk.All()
	values := map[string]any{}
	for _, key := range slices.Sorted(maps.Keys(flat)) {
		raw := flat[key]
		f, known := l.fields[key]
		switch {
		case !known:
			l.errs = append(l.errs, &FieldError{Field: key, Reason: "unknown key", Source: path})
		case f.section:
			// Flattening leaves a section only when it is empty (`server: {}`) or null
			// (`server:`), both harmless; a scalar or list here is misplaced.
			if _, isMap := raw.(map[string]any); raw != nil && !isMap {
				l.errs = append(l.errs, &FieldError{Field: key, Reason: "must be a mapping of settings", Source: path})
			}
		case raw == nil:
			// `port:` with no value, or `~`, leaves the default in place.
		default:
			l.set(values, f, raw, path)
		}
	}
	return l.merge(values, "config file "+path)
}

func (l *loader) loadEnv(getenv func(string) string) error {
	values := map[string]any{}
	for _, f := range leafFields() {
		name, raw := f.env, getenv(f.env)
		for _, alias := range f.aliases {
			if raw != "" {
				break
			}
			name, raw = alias, getenv(alias)
		}
		if raw != "" {
			l.set(values, f, raw, name)
		}
	}
	return l.merge(values, "environment")
}

func (l *loader) loadOverrides(overrides map[string]any) error {
	values := map[string]any{}
	for _, key := range slices.Sorted(maps.Keys(overrides)) {
		f, known := l.fields[key]
		switch {
		case !known || f.section:
			l.errs = append(l.errs, &FieldError{Field: key, Reason: "unknown key", Source: overridesSource})
		case overrides[key] != nil:
			l.set(values, f, overrides[key], overridesSource)
		}
	}
	return l.merge(values, overridesSource)
}

// set converts raw to the field's type and stages it in values, or records why it cannot.
func (l *loader) set(values map[string]any, f field, raw any, source string) {
	v, err := coerce(f.typ, raw)
	if err != nil {
		shown := raw
		if f.secret() {
			shown = nil
		}
		l.errs = append(l.errs, &FieldError{Field: f.key, Reason: err.Error(), Value: shown, Source: source})
		return
	}
	values[f.key] = v
	l.sources[f.key] = source
}

func (l *loader) merge(values map[string]any, layer string) error {
	if err := l.k.Load(confmap.Provider(values, "."), nil); err != nil {
		return fmt.Errorf("merge %s: %w", layer, err)
	}
	return nil
}

// attributeSources fills in where each invalid value came from and returns the
// validation errors one by one, to be joined with the loading errors.
func (l *loader) attributeSources(err error) []error {
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	errs := joined.Unwrap()
	for _, e := range errs {
		if fe, ok := errors.AsType[*FieldError](e); ok {
			fe.Source = l.sources[fe.Field]
		}
	}
	return errs
}
