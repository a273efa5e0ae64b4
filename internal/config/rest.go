package config

// RESTConfig configures the REST service. Its fields mirror PostgREST's settings where one
// exists (db-schemas → schemas, db-max-rows → max_rows).
type RESTConfig struct {
	Schemas []string `koanf:"schemas" doc:"Schemas exposed through /rest/v1; the first is the default when a request names none (PostgREST's db-schemas)."`
	MaxRows int      `koanf:"max_rows" doc:"Most rows a read returns whatever limit the request asks for; 0 means no cap (PostgREST's db-max-rows; Supabase uses 1000)."`
	// AggregatesEnabled allows aggregate functions in select=.
	AggregatesEnabled bool `koanf:"aggregates_enabled" doc:"Allow aggregate functions in select (count(), amount.sum(), avg, max, min, grouped by the other selected columns); off by default, as PostgREST's db-aggregates-enabled, since one request can then make the database aggregate a whole table."`
	// PlanEnabled allows EXPLAIN output through Accept: application/vnd.pgrst.plan.
	PlanEnabled bool `koanf:"plan_enabled" doc:"Let requests ask for their execution plan with Accept: application/vnd.pgrst.plan (EXPLAIN, with analyze, verbose, settings, buffers, wal options), run as the caller's role; off by default, as PostgREST's db-plan-enabled (plans reveal table sizes, indexes and settings)."`
	// PlanAnon extends PlanEnabled to anon.
	PlanAnon bool `koanf:"plan_anon" doc:"With plan_enabled, let anon (requests with only the anon key) ask for plans too; by default only signed-in users and the service role may."`
	// ExtraSearchPath follows the requested schema in every request's search_path.
	ExtraSearchPath []string `koanf:"extra_search_path" doc:"Schemas after the requested one in each request's search_path, where functions find unqualified names such as extension types (PostgREST's db-extra-search-path; Supabase uses public and extensions)."`
}

func defaultREST() RESTConfig {
	return RESTConfig{Schemas: []string{"public"}, MaxRows: 1000, ExtraSearchPath: []string{"public", "extensions"}}
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
	for _, s := range r.ExtraSearchPath {
		if s == "" {
			errs.add("rest.extra_search_path", "must not contain an empty name", s)
		}
	}
	if r.MaxRows < 0 {
		errs.add("rest.max_rows", "must not be negative (0 means no cap)", r.MaxRows)
	}
}
