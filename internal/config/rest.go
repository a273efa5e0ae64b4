package config

// RESTConfig configures the REST service. Its fields mirror PostgREST's settings where one
// exists (db-schemas → schemas, db-max-rows → max_rows).
type RESTConfig struct {
	Schemas []string `koanf:"schemas" doc:"Schemas exposed through /rest/v1; the first is the default when a request names none (PostgREST's db-schemas)."`
	MaxRows int      `koanf:"max_rows" doc:"Most rows a read returns whatever limit the request asks for; 0 means no cap (PostgREST's db-max-rows; Supabase uses 1000)."`
}

func defaultREST() RESTConfig {
	return RESTConfig{Schemas: []string{"public"}, MaxRows: 1000}
}

func validateREST(errs *fieldErrors, r RESTConfig) {
	if len(r.Schemas) == 0 {
		errs.add("rest.schemas", "must name at least one schema", nil)
	}
	for _, s := range r.Schemas {
		if s == "" {
			errs.add("rest.schemas", "must not contain an empty name", s)
		}
	}
	if r.MaxRows < 0 {
		errs.add("rest.max_rows", "must not be negative (0 means no cap)", r.MaxRows)
	}
}
