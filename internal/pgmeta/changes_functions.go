package pgmeta

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/access"
)

type functionRef struct {
	Schema                string            `json:"schema"`
	Name                  string            `json:"name"`
	Language              string            `json:"language"`
	ArgumentTypes         string            `json:"argument_types"`
	IdentityArgumentTypes string            `json:"identity_argument_types"`
	ReturnType            string            `json:"return_type"`
	Behavior              string            `json:"behavior"`
	SecurityDefiner       bool              `json:"security_definer"`
	ConfigParams          map[string]string `json:"config_params"`
}

func readFunction(ctx context.Context, tx pgx.Tx, id int64) ([]byte, functionRef, error) {
	var f functionRef
	body, err := oldItem(ctx, tx, "functions", pgx.NamedArgs{"ids": []int64{id}}, notFound("Cannot find a function with ID %d", id), &f)
	return body, f, err
}

type functionChange struct {
	Name            *string           `json:"name"`
	Schema          *string           `json:"schema"`
	Definition      *string           `json:"definition"`
	Args            []string          `json:"args"`
	Behavior        *string           `json:"behavior"`
	ConfigParams    map[string]string `json:"config_params"`
	Language        *string           `json:"language"`
	ReturnType      *string           `json:"return_type"`
	SecurityDefiner bool              `json:"security_definer"`
}

var (
	wordPattern    = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	settingPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)
)

// functionSQL writes CREATE [OR REPLACE] FUNCTION as postgres-meta does: arguments, the
// return type and setting values as given (they are SQL), the body as a constant.
func functionSQL(replace bool, schema, name string, args []string, returns, definition, language, behavior string, definer bool, config map[string]string) (string, error) {
	if !wordPattern.MatchString(language) {
		return "", badRequest("%q is not a language name", language)
	}
	if err := oneOf("behavior", behavior, "IMMUTABLE", "STABLE", "VOLATILE"); err != nil {
		return "", err
	}
	body, err := literal(definition)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("CREATE ")
	if replace {
		b.WriteString("OR REPLACE ")
	}
	fmt.Fprintf(&b, "FUNCTION %s(%s) RETURNS %s AS %s LANGUAGE %s %s CALLED ON NULL INPUT %s",
		ident(schema, name), strings.Join(args, ", "), returns, body, language, behavior, pick(definer, "SECURITY DEFINER", "SECURITY INVOKER"))
	params := make([]string, 0, len(config))
	for k := range config {
		params = append(params, k)
	}
	slices.Sort(params)
	for _, k := range params {
		if !settingPattern.MatchString(k) {
			return "", badRequest("%q is not a setting name", k)
		}
		if config[k] == "FROM CURRENT" {
			fmt.Fprintf(&b, " SET %s FROM CURRENT", k)
		} else {
			fmt.Fprintf(&b, " SET %s TO %s", k, config[k])
		}
	}
	return b.String(), nil
}

// createFunction serves POST /functions: {name, schema, args ["a int", …], definition,
// return_type (void), language (sql), behavior (VOLATILE), security_definer, config_params}.
func (s *Service) createFunction(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var b functionChange
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	name := deref(b.Name, "")
	if err := required("name", name); err != nil {
		return err
	}
	if b.Definition == nil {
		return badRequest("definition is required")
	}
	schema := deref(b.Schema, "public")
	sql, err := functionSQL(false, schema, name, b.Args, deref(b.ReturnType, "void"), *b.Definition,
		deref(b.Language, "sql"), deref(b.Behavior, "VOLATILE"), b.SecurityDefiner, b.ConfigParams)
	if err != nil {
		return err
	}
	return s.apply(w, r, p, change{action: "meta.function.create", resourceType: "function",
		plan: func(ctx context.Context, tx pgx.Tx) (plan, error) {
			// The new function is the overload of that name that was not there before.
			var before []int64
			rows, err := tx.Query(ctx, `SELECT oid::int8 FROM pg_proc WHERE pronamespace = to_regnamespace($1) AND proname = $2`, ident(schema), name)
			if err != nil {
				return plan{}, fmt.Errorf("pgmeta: read overloads: %w", err)
			}
			if before, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
				return plan{}, fmt.Errorf("pgmeta: read overloads: %w", err)
			}
			if before == nil {
				before = []int64{} // NULL would match nothing in <> ALL
			}
			return plan{resourceID: schema + "." + name, stmts: []stmt{{sql: sql}},
				result: byID("functions", `SELECT oid::int8 FROM pg_proc
WHERE pronamespace = to_regnamespace($1) AND proname = $2 AND oid::int8 <> ALL($3::int8[])`, ident(schema), name, before)}, nil
		}})
}

// updateFunction serves PATCH /functions/{id}: a new definition (everything else kept),
// then the name, then the schema.
func (s *Service) updateFunction(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	id, err := pathID(r.PathValue("id"), "a function")
	if err != nil {
		return err
	}
	var b functionChange
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	return s.apply(w, r, p, change{action: "meta.function.update", resourceType: "function",
		plan: func(ctx context.Context, tx pgx.Tx) (plan, error) {
			_, old, err := readFunction(ctx, tx, id)
			if err != nil {
				return plan{}, err
			}
			pl := plan{resourceID: strconv.FormatInt(id, 10), result: func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
				body, _, err := readFunction(ctx, tx, id)
				return body, err
			}}
			if b.Definition != nil {
				var args []string
				if old.ArgumentTypes != "" {
					args = []string{old.ArgumentTypes}
				}
				sql, err := functionSQL(true, old.Schema, old.Name, args, old.ReturnType, *b.Definition,
					old.Language, old.Behavior, old.SecurityDefiner, old.ConfigParams)
				if err != nil {
					return pl, err
				}
				pl.stmts = append(pl.stmts, stmt{sql: sql})
			}
			name := old.Name
			if b.Name != nil && *b.Name != old.Name {
				pl.stmts = append(pl.stmts, sqlf("ALTER FUNCTION %s(%s) RENAME TO %s", ident(old.Schema, old.Name), old.IdentityArgumentTypes, ident(*b.Name)))
				name = *b.Name
			}
			if b.Schema != nil && *b.Schema != old.Schema {
				pl.stmts = append(pl.stmts, sqlf("ALTER FUNCTION %s(%s) SET SCHEMA %s", ident(old.Schema, name), old.IdentityArgumentTypes, ident(*b.Schema)))
			}
			return pl, nil
		}})
}

// deleteFunction serves DELETE /functions/{id}?cascade=.
func (s *Service) deleteFunction(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	id, err := pathID(r.PathValue("id"), "a function")
	if err != nil {
		return err
	}
	mode, err := cascade(r)
	if err != nil {
		return err
	}
	return s.apply(w, r, p, change{action: "meta.function.delete", resourceType: "function",
		plan: func(ctx context.Context, tx pgx.Tx) (plan, error) {
			body, old, err := readFunction(ctx, tx, id)
			if err != nil {
				return plan{}, err
			}
			return plan{resourceID: old.Schema + "." + old.Name + "(" + old.IdentityArgumentTypes + ")", before: body,
				stmts: []stmt{sqlf("DROP FUNCTION %s(%s) %s", ident(old.Schema, old.Name), old.IdentityArgumentTypes, mode)}}, nil
		}})
}
