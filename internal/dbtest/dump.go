package dbtest

import (
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	_ "github.com/mattn/go-sqlite3" // SQLite files are read with the catalog's driver

	"github.com/regimport/regimport/catalog/dbschema"
	"github.com/regimport/regimport/internal/redact"
)

// Tables is every row of every table of a catalog database, each row
// rendered as "column=value, ..." with the value's stored type (a
// string, integer, bytes or NULL), sorted. Two databases hold the same
// data exactly when their Tables are equal.
type Tables map[string][]string

// Documents (JSON objects and arrays) are compared by meaning: both
// sides render them with sorted keys and no spaces, as PostgreSQL's jsonb
// keeps them. Times and flags render as a SQLite catalog stores them.
//
// Dump reads every table of the catalog db (a SQLite file or a PostgreSQL
// URL) with its own connection, not through package catalog, so a test
// comparing two dumps does not trust the code it checks. skip names
// columns to leave out as "table.column" (schema_migrations.applied_at
// differs between two catalogs migrated at different times).
//
// A SQLite table without a primary key is dumped with its rowid, since
// that is then what orders and identifies its rows (import_failures);
// sqlite_sequence, AUTOINCREMENT's high-water marks, is dumped too, as
// are a PostgreSQL database's sequences (as table "pg_sequences").
func Dump(t testing.TB, db string, skip ...string) Tables {
	t.Helper()
	var out Tables
	var err error
	if strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://") {
		out, err = dumpPostgres(db, skip)
	} else {
		out, err = dumpSQLite(db, skip)
	}
	if err != nil {
		t.Fatalf("dump %s: %v", redact.URL(db), err)
	}
	return out
}

// Diff lists how b differs from a: tables on one side only, and rows
// missing from or added to each table (at most max per table).
func Diff(a, b Tables, max int) []string {
	var out []string
	names := map[string]bool{}
	for n := range a {
		names[n] = true
	}
	for n := range b {
		names[n] = true
	}
	var sorted []string
	for n := range names {
		sorted = append(sorted, n)
	}
	sort.Strings(sorted)
	for _, n := range sorted {
		ra, inA := a[n]
		rb, inB := b[n]
		if !inA || !inB {
			out = append(out, fmt.Sprintf("table %s: only in one (first %v, second %v)", n, inA, inB))
			continue
		}
		count := map[string]int{}
		for _, r := range ra {
			count[r]++
		}
		for _, r := range rb {
			count[r]--
		}
		shown := 0
		var keys []string
		for r := range count {
			keys = append(keys, r)
		}
		sort.Strings(keys)
		for _, r := range keys {
			if c := count[r]; c != 0 && shown < max {
				side := "only in the first"
				if c < 0 {
					side = "only in the second"
				}
				out = append(out, fmt.Sprintf("table %s: row %s: {%s}", n, side, r))
				shown++
			}
		}
	}
	return out
}

func skipped(skip []string, table, column string) bool {
	for _, s := range skip {
		if s == table+"."+column {
			return true
		}
	}
	return false
}

func dumpSQLite(file string, skip []string) (Tables, error) {
	db, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: file}).EscapedPath()+"?mode=ro")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	ctx := context.Background()
	schema, err := dbschema.ReadSQLite(ctx, db)
	if err != nil {
		return nil, err
	}
	// AUTOINCREMENT's high-water marks are state too.
	var sequences int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'`).Scan(&sequences); err != nil {
		return nil, err
	}
	if sequences > 0 {
		schema["sqlite_sequence"] = &dbschema.Table{Name: "sqlite_sequence",
			Columns: []dbschema.Column{{Name: "name"}, {Name: "seq"}}, ImplicitRowid: true}
	}
	out := Tables{}
	for _, tb := range schema {
		var cols, exprs []string
		for _, c := range tb.Columns {
			if !skipped(skip, tb.Name, c.Name) {
				cols = append(cols, c.Name)
				exprs = append(exprs, `quote("`+c.Name+`")`)
			}
		}
		if len(tb.PK) == 0 && tb.ImplicitRowid {
			cols = append(cols, "rowid")
			exprs = append(exprs, "quote(rowid)")
		}
		rendered, err := renderRows(ctx, db, `SELECT `+strings.Join(exprs, ", ")+` FROM "`+tb.Name+`"`, cols, func(v any) string {
			return canonicalJSON(fmt.Sprint(v)) // quote() gave an SQL literal: 'text', X'bytes', 12, NULL
		})
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", tb.Name, err)
		}
		out[tb.Name] = rendered
	}
	return out, nil
}

func renderRows(ctx context.Context, db *sql.DB, query string, cols []string, render func(any) string) ([]string, error) {
	rows, err := db.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	out := []string{}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		parts := make([]string, len(cols))
		for i, v := range vals {
			parts[i] = cols[i] + "=" + render(v)
		}
		out = append(out, strings.Join(parts, ", "))
	}
	sort.Strings(out)
	return out, rows.Err()
}

func dumpPostgres(server string, skip []string) (Tables, error) {
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(server)
	if err != nil {
		return nil, err
	}
	db := sql.OpenDB(stdlib.GetConnector(*cfg))
	defer db.Close()
	schema, err := dbschema.ReadPostgres(ctx, db)
	if err != nil {
		return nil, err
	}
	out := Tables{}
	for _, tb := range schema {
		var cols, exprs []string
		for _, c := range tb.Columns {
			if skipped(skip, tb.Name, c.Name) {
				continue
			}
			cols = append(cols, c.Name)
			expr := `"` + c.Name + `"`
			if c.Kind == dbschema.KindJSON {
				expr += "::text" // a document as text, compared by meaning (canonicalJSON)
			}
			exprs = append(exprs, expr)
		}
		rendered, err := renderRows(ctx, db, `SELECT `+strings.Join(exprs, ", ")+` FROM "`+tb.Name+`"`, cols, renderValue)
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", tb.Name, err)
		}
		out[tb.Name] = rendered
	}
	// The sequences' positions, as SQLite's sqlite_sequence is dumped:
	// what number a new row gets is part of a catalog's state.
	rows, err := db.QueryContext(ctx, `SELECT sequencename, coalesce(last_value::text, 'never called') FROM pg_sequences
		WHERE schemaname = current_schema() ORDER BY sequencename`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out["pg_sequences"] = []string{}
	for rows.Next() {
		var name, last string
		if err := rows.Scan(&name, &last); err != nil {
			return nil, err
		}
		out["pg_sequences"] = append(out["pg_sequences"], "sequencename="+name+", last_value="+last)
	}
	return out, rows.Err()
}

// renderValue spells a PostgreSQL value as SQLite's quote() spells the
// value a SQLite catalog stores for it: a timestamptz as RFC 3339 text in
// UTC, a boolean as 0 or 1, a json or jsonb document as its canonical
// text (see canonicalJSON).
func renderValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		return canonicalJSON(quoteText(x))
	case []byte:
		return "X'" + strings.ToUpper(hex.EncodeToString(x)) + "'"
	case time.Time:
		return quoteText(x.UTC().Format(time.RFC3339Nano))
	case bool:
		if x {
			return "1"
		}
		return "0"
	case map[string]any, []any:
		b, err := json.Marshal(x)
		if err != nil {
			return fmt.Sprint(x)
		}
		return quoteText(string(b))
	default:
		return fmt.Sprint(x)
	}
}

func quoteText(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// canonicalJSON turns a quoted SQLite text that holds a JSON object or
// array into the same document with its keys sorted and no spaces, as
// PostgreSQL's jsonb gives it back: jsonb keeps a document's meaning, not
// its spelling. Anything else is returned as it is.
func canonicalJSON(quoted string) string {
	if !strings.HasPrefix(quoted, "'{") && !strings.HasPrefix(quoted, "'[") {
		return quoted
	}
	text := strings.ReplaceAll(quoted[1:len(quoted)-1], "''", "'")
	var doc any
	if err := json.Unmarshal([]byte(text), &doc); err != nil {
		return quoted
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return quoted
	}
	return quoteText(string(b))
}
