package pgmeta

import (
	"context"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/goforward/goforward/internal/access"
)

type triggerRef struct {
	Schema string `json:"schema"`
	Table  string `json:"table"`
	Name   string `json:"name"`
}

func readTrigger(ctx context.Context, tx pgx.Tx, id int64) ([]byte, triggerRef, error) {
	var tr triggerRef
	body, err := oldItem(ctx, tx, "triggers", pgx.NamedArgs{"ids": []int64{id}}, notFound("Cannot find a trigger with ID %d", id), &tr)
	return body, tr, err
}

type triggerChange struct {
	Name           *string   `json:"name"`
	TableID        *int64    `json:"table_id"`
	Table          *string   `json:"table"`
	Schema         *string   `json:"schema"`
	FunctionSchema *string   `json:"function_schema"`
	FunctionName   *string   `json:"function_name"`
	FunctionArgs   []string  `json:"function_args"`
	Activation     *string   `json:"activation"`
	Events         *[]string `json:"events"`
	Orientation    *string   `json:"orientation"`
	Condition      *string   `json:"condition"`
	EnabledMode    *string   `json:"enabled_mode"`
}

// triggerEvent is INSERT, UPDATE, "UPDATE OF col, col", DELETE or TRUNCATE.
var triggerEvent = regexp.MustCompile(`^(INSERT|DELETE|TRUNCATE|UPDATE( OF .+)?)$`)

func triggerEvents(events []string) (string, error) {
	if len(events) == 0 {
		return "", badRequest("events must name at least one event")
	}
	out := make([]string, len(events))
	for i, e := range events {
		m := triggerEvent.FindStringSubmatch(strings.TrimSpace(e))
		if m == nil {
			return "", badRequest("%q is not a trigger event (INSERT, UPDATE, UPDATE OF columns, DELETE, TRUNCATE)", e)
		}
		if m[2] == "" {
			out[i] = m[1]
			continue
		}
		var cols []string
		for _, c := range strings.Split(strings.TrimPrefix(m[2], " OF "), ",") {
			cols = append(cols, ident(strings.TrimSpace(c)))
		}
		out[i] = "UPDATE OF " + strings.Join(cols, ", ")
	}
	return strings.Join(out, " OR "), nil
}

// createTrigger serves POST /triggers.
func (s *Service) createTrigger(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	var b triggerChange
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	name, fn := deref(b.Name, ""), deref(b.FunctionName, "")
	if err := required("name", name); err != nil {
		return err
	}
	if err := required("function_name", fn); err != nil {
		return err
	}
	activation := deref(b.Activation, "")
	if err := oneOf("activation", activation, "BEFORE", "AFTER", "INSTEAD OF"); err != nil {
		return err
	}
	events, err := triggerEvents(deref(b.Events, nil))
	if err != nil {
		return err
	}
	orientation := ""
	if b.Orientation != nil {
		if err := oneOf("orientation", *b.Orientation, "ROW", "STATEMENT"); err != nil {
			return err
		}
		orientation = " FOR EACH " + *b.Orientation
	}
	when := ""
	if deref(b.Condition, "") != "" {
		when = " WHEN (" + *b.Condition + ")"
	}
	args := make([]string, len(b.FunctionArgs))
	for i, a := range b.FunctionArgs {
		if args[i], err = literal(a); err != nil {
			return err
		}
	}
	if b.TableID == nil && deref(b.Table, "") == "" {
		return badRequest("table or table_id is required")
	}
	return s.apply(w, r, p, change{action: "meta.trigger.create", resourceType: "trigger",
		plan: func(ctx context.Context, tx pgx.Tx) (plan, error) {
			schema, table := deref(b.Schema, "public"), deref(b.Table, "")
			if b.TableID != nil {
				_, t, err := readTable(ctx, tx, *b.TableID)
				if err != nil {
					return plan{}, err
				}
				schema, table = t.Schema, t.Name
			}
			sql := "CREATE TRIGGER " + ident(name) + " " + activation + " " + events + " ON " + ident(schema, table) +
				orientation + when + " EXECUTE FUNCTION " + ident(deref(b.FunctionSchema, "public"), fn) + "(" + strings.Join(args, ", ") + ")"
			return plan{resourceID: schema + "." + table + "." + name, stmts: []stmt{{sql: sql}},
				result: byID("triggers", `SELECT oid::int8 FROM pg_trigger WHERE tgrelid = to_regclass($1) AND tgname = $2`,
					ident(schema, table), name)}, nil
		}})
}

// updateTrigger serves PATCH /triggers/{id}: enabled_mode, then the name.
func (s *Service) updateTrigger(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	id, err := pathID(r.PathValue("id"), "a trigger")
	if err != nil {
		return err
	}
	var b triggerChange
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	if b.EnabledMode != nil {
		if err := oneOf("enabled_mode", *b.EnabledMode, "ORIGIN", "REPLICA", "ALWAYS", "DISABLED"); err != nil {
			return err
		}
	}
	return s.apply(w, r, p, change{action: "meta.trigger.update", resourceType: "trigger",
		plan: func(ctx context.Context, tx pgx.Tx) (plan, error) {
			_, old, err := readTrigger(ctx, tx, id)
			if err != nil {
				return plan{}, err
			}
			pl := plan{resourceID: strconv.FormatInt(id, 10), result: func(ctx context.Context, tx pgx.Tx) ([]byte, error) {
				body, _, err := readTrigger(ctx, tx, id)
				return body, err
			}}
			alter := "ALTER TABLE " + ident(old.Schema, old.Table)
			switch deref(b.EnabledMode, "") {
			case "ORIGIN":
				pl.stmts = append(pl.stmts, sqlf("%s ENABLE TRIGGER %s", alter, ident(old.Name)))
			case "DISABLED":
				pl.stmts = append(pl.stmts, sqlf("%s DISABLE TRIGGER %s", alter, ident(old.Name)))
			case "REPLICA", "ALWAYS":
				pl.stmts = append(pl.stmts, sqlf("%s ENABLE %s TRIGGER %s", alter, *b.EnabledMode, ident(old.Name)))
			}
			if b.Name != nil && *b.Name != old.Name {
				pl.stmts = append(pl.stmts, sqlf("ALTER TRIGGER %s ON %s RENAME TO %s", ident(old.Name), ident(old.Schema, old.Table), ident(*b.Name)))
			}
			return pl, nil
		}})
}

// deleteTrigger serves DELETE /triggers/{id}?cascade=.
func (s *Service) deleteTrigger(w http.ResponseWriter, r *http.Request, p access.Principal) error {
	id, err := pathID(r.PathValue("id"), "a trigger")
	if err != nil {
		return err
	}
	mode, err := cascade(r)
	if err != nil {
		return err
	}
	return s.apply(w, r, p, change{action: "meta.trigger.delete", resourceType: "trigger",
		plan: func(ctx context.Context, tx pgx.Tx) (plan, error) {
			body, old, err := readTrigger(ctx, tx, id)
			if err != nil {
				return plan{}, err
			}
			return plan{resourceID: old.Schema + "." + old.Table + "." + old.Name, before: body,
				stmts: []stmt{sqlf("DROP TRIGGER %s ON %s %s", ident(old.Name), ident(old.Schema, old.Table), mode)}}, nil
		}})
}
