package config

// AuthConfig configures the auth service. Its fields mirror GoTrue's settings where one
// exists (SITE_URL → site_url, …) so that Supabase's documentation maps over.
type AuthConfig struct {
	SiteURL string `koanf:"site_url" doc:"URL of the application using this backend: the default redirect after e-mail links, and the base that redirect_to values are checked against (GoTrue's SITE_URL)."`
}

func defaultAuth() AuthConfig {
	return AuthConfig{SiteURL: "http://localhost:3000"}
}

func validateAuth(errs *fieldErrors, a AuthConfig) {
	if reason := checkPublicURL(a.SiteURL); reason != "" {
		errs.add("auth.site_url", reason, a.SiteURL)
	}
}
