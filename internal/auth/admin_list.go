package auth

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// Pagination of GET /admin/users: GoTrue's default page size, and a cap so that one request
// cannot ask for every user at once.
const (
	defaultPerPage = 50
	maxPerPage     = 1000
	maxPage        = 1_000_000_000
)

// adminListUsers is GET /admin/users?page=&per_page=&filter=&sort= (supabase.auth.admin.
// listUsers): {"users":[…],"aud":"authenticated"}, newest first, with X-Total-Count and a
// Link header naming the next and last pages. Empty page and per_page mean the defaults (1
// and 50; supabase-js sends them empty). filter matches part of the e-mail address, phone
// number or user_metadata.full_name, case-insensitively.
func (s *Service) adminListUsers(w http.ResponseWriter, r *http.Request) error {
	if _, err := requireAdmin(r); err != nil {
		return err
	}
	q := r.URL.Query()
	l, err := s.listUsers(r.Context(), q, nil)
	if err != nil {
		return err
	}
	w.Header().Set("Link", paginationLinks(r.URL.Path, q, l.page, l.perPage, l.total))
	w.Header().Set("X-Total-Count", strconv.Itoa(l.total))
	return writeJSON(w, map[string]any{"users": l.users, "aud": audience})
}

// userList is one page of users.
type userList struct {
	users                []*user
	page, perPage, total int
}

// listUsers reads the page of users q asks for (page, per_page, filter, sort, as GoTrue reads
// them). groups, when not nil, keeps only users whose app_metadata.groups holds one of them:
// the users a regular admin of the admin service manages.
func (s *Service) listUsers(ctx context.Context, q url.Values, groups []string) (userList, error) {
	var l userList
	var err error
	l.page, l.perPage, err = pageParams(q)
	if err != nil {
		return l, badRequest(CodeValidationFailed, "Bad Pagination Parameters: %v", err)
	}
	order, err := sortOrder(q.Get("sort"))
	if err != nil {
		return l, badRequest(CodeValidationFailed, "Bad Sort Parameters: %v", err)
	}
	pattern := ""
	if filter := q.Get("filter"); filter != "" {
		pattern = "%" + escapeLike(filter) + "%"
	}
	const where = `u.aud = $1 AND ($2 = '' OR u.email ILIKE $2 OR u.phone ILIKE $2
		OR u.raw_user_meta_data ->> 'full_name' ILIKE $2)
		AND ($3::text[] IS NULL OR (jsonb_typeof(u.raw_app_meta_data -> 'groups') = 'array'
			AND u.raw_app_meta_data -> 'groups' ?| $3::text[]))`
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM auth.users u WHERE `+where, audience, pattern, groups).Scan(&l.total); err != nil {
		return l, internalError("Database error finding users", err)
	}
	rows, err := s.pool.Query(ctx, `SELECT `+userColumns+` FROM auth.users u WHERE `+where+`
		ORDER BY u.created_at `+order+`, u.id `+order+` LIMIT $4 OFFSET $5`, audience, pattern, groups, l.perPage, (l.page-1)*l.perPage)
	if err != nil {
		return l, internalError("Database error finding users", err)
	}
	l.users, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (*user, error) { return scanUser(row) })
	if err != nil {
		return l, internalError("Database error finding users", err)
	}
	if l.users == nil {
		l.users = []*user{}
	}
	return l, nil
}

// pageParams reads page and per_page; empty values are the defaults.
func pageParams(q url.Values) (page, perPage int, err error) {
	page, perPage = 1, defaultPerPage
	if raw := q.Get("page"); raw != "" {
		if page, err = strconv.Atoi(raw); err != nil || page < 0 || page > maxPage {
			return 0, 0, fmt.Errorf("page must be a number between 1 and %d", maxPage)
		}
		page = max(page, 1)
	}
	if raw := q.Get("per_page"); raw != "" {
		if perPage, err = strconv.Atoi(raw); err != nil || perPage < 1 {
			return 0, 0, fmt.Errorf("per_page must be a number greater than 0")
		}
		perPage = min(perPage, maxPerPage)
	}
	return page, perPage, nil
}

// sortOrder reads GoTrue's sort parameter, which may only name created_at: "created_at",
// "created_at asc" or "created_at desc" (the default).
func sortOrder(raw string) (string, error) {
	field, dir, _ := strings.Cut(strings.TrimSpace(raw), " ")
	switch {
	case raw == "":
		return "DESC", nil
	case field != "created_at":
		return "", fmt.Errorf("%q is not a sortable field", field)
	}
	switch strings.ToLower(strings.TrimSpace(dir)) {
	case "", "desc":
		return "DESC", nil
	case "asc":
		return "ASC", nil
	}
	return "", fmt.Errorf("%q is not a sort direction", dir)
}

// paginationLinks builds GoTrue's Link header: the next page (if any) and the last one.
// page comes first in each URL because supabase-js reads the page number as the character
// after the first '='.
func paginationLinks(path string, q url.Values, page, perPage, total int) string {
	lastPage := (total + perPage - 1) / perPage
	rest := url.Values{}
	for k, v := range q {
		if k != "page" && k != "per_page" {
			rest[k] = v
		}
	}
	link := func(n int) string {
		target := fmt.Sprintf("%s?page=%d&per_page=%d", path, n, perPage)
		if len(rest) > 0 {
			target += "&" + rest.Encode()
		}
		return "<" + target + ">"
	}
	header := ""
	if lastPage > page {
		header = link(page+1) + `; rel="next", `
	}
	return header + link(lastPage) + `; rel="last"`
}

// escapeLike makes s match itself in a LIKE pattern.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}
