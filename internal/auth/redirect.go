package auth

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// compileAllowList turns URI_ALLOW_LIST entries into anchored expressions: "**" matches
// anything, "*" anything but '.' and '/', "?" one such character, the rest literally.
func compileAllowList(patterns []string) ([]*regexp.Regexp, error) {
	out := make([]*regexp.Regexp, 0, len(patterns))
	for _, p := range patterns {
		var b strings.Builder
		b.WriteString("^")
		for i := 0; i < len(p); i++ {
			switch {
			case strings.HasPrefix(p[i:], "**"):
				b.WriteString(".*")
				i++
			case p[i] == '*':
				b.WriteString(`[^./]*`)
			case p[i] == '?':
				b.WriteString(`[^./]`)
			default:
				b.WriteString(regexp.QuoteMeta(p[i : i+1]))
			}
		}
		b.WriteString("$")
		re, err := regexp.Compile(b.String())
		if err != nil {
			return nil, fmt.Errorf("auth: URIAllowList entry %q: %w", p, err)
		}
		out = append(out, re)
	}
	return out, nil
}

// redirectTo is the request's redirect_to query parameter when it is allowed, else SiteURL.
func (s *Service) redirectTo(r *http.Request) string {
	return s.allowedRedirect(r.URL.Query().Get("redirect_to"))
}

// allowedRedirect returns target when it points at SiteURL's host (over http or https) or
// matches the allow list, and SiteURL otherwise, as GoTrue does.
func (s *Service) allowedRedirect(target string) string {
	if target == "" {
		return s.cfg.SiteURL
	}
	for _, re := range s.allowList {
		if re.MatchString(target) {
			return target
		}
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil {
		return s.cfg.SiteURL
	}
	site, err := url.Parse(s.cfg.SiteURL)
	if err == nil && strings.EqualFold(site.Hostname(), u.Hostname()) {
		return target
	}
	return s.cfg.SiteURL
}
