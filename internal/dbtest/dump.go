package dbtest

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	_ "github.com/mattn/go-sqlite3" // SQLite files are read with the catalog's driver
	"github.com/regimport/regimport/internal/redact"
)

// Tables is every row of every table of a catalog database, each row
// rendered as "column=value, ..." with the value's stored type (a
// string, integer, bytes or NULL), sorted. Two databases hold the same
// data exactly when their Tables are equal.
type Tables map[string][]string

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
	type table struct{ name, sql string }
	var tables []table
	rows, err := db.QueryContext(ctx, `SELECT name, coalesce(sql, '') FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var tb table
		if err := rows.Scan(&tb.name, &tb.sql); err != nil {
			rows.Close()
			return nil, err
		}
		tables = append(tables, tb)
	}
	rows.Close()
	out := Tables{}
	for _, tb := range tables {
		var cols, exprs []string
		hasPK := false
		rows, err := db.QueryContext(ctx, `SELECT name, pk FROM pragma_table_info(?) ORDER BY cid`, tb.name)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var name string
			var pk int
			if err := rows.Scan(&name, &pk); err != nil {
				rows.Close()
				return nil, err
			}
			hasPK = hasPK || pk > 0
			if !skipped(skip, tb.name, name) {
				cols = append(cols, name)
				exprs = append(exprs, `quote("`+name+`")`)
			}
		}
		rows.Close()
		if !hasPK && !strings.Contains(strings.ToUpper(tb.sql), "WITHOUT ROWID") {
			cols = append(cols, "rowid")
			exprs = append(exprs, "quote(rowid)")
		}
		rendered, err := renderRows(ctx, db, `SELECT `+strings.Join(exprs, ", ")+` FROM "`+tb.name+`"`, cols, func(v any) string {
			return fmt.Sprint(v) // quote() gave an SQL literal: 'text', X'bytes', 12, NULL
		})
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", tb.name, err)
		}
		out[tb.name] = rendered
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
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	type column struct{ table, name string }
	var columns []column
	rows, err := conn.Query(ctx, `SELECT c.table_name, c.column_name FROM information_schema.columns c
		JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
		WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
		ORDER BY c.table_name, c.ordinal_position`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var c column
		if err := rows.Scan(&c.table, &c.name); err != nil {
			rows.Close()
			return nil, err
		}
		columns = append(columns, c)
	}
	rows.Close()
	byTable := map[string][]string{}
	var order []string
	for _, c := range columns {
		if _, ok := byTable[c.table]; !ok {
			order = append(order, c.table)
			byTable[c.table] = []string{}
		}
		if !skipped(skip, c.table, c.name) {
			byTable[c.table] = append(byTable[c.table], c.name)
		}
	}
	out := Tables{}
	for _, table := range order {
		cols := byTable[table]
		quoted := make([]string, len(cols))
		for i, c := range cols {
			quoted[i] = `"` + c + `"`
		}
		rows, err := conn.Query(ctx, `SELECT `+strings.Join(quoted, ", ")+` FROM "`+table+`"`)
		if err != nil {
			return nil, fmt.Errorf("table %s: %w", table, err)
		}
		rendered := []string{}
		for rows.Next() {
			vals, err := rows.Values()
			if err != nil {
				rows.Close()
				return nil, err
			}
			parts := make([]string, len(cols))
			for i, v := range vals {
				parts[i] = cols[i] + "=" + renderValue(v)
			}
			rendered = append(rendered, strings.Join(parts, ", "))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("table %s: %w", table, err)
		}
		sort.Strings(rendered)
		out[table] = rendered
	}
	// The sequences' positions, as SQLite's sqlite_sequence is dumped:
	// what number a new row gets is part of a catalog's state.
	rows, err = conn.Query(ctx, `SELECT sequencename, coalesce(last_value::text, 'never called') FROM pg_sequences
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

// renderValue spells a PostgreSQL value as SQLite's quote() does.
func renderValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "NULL"
	case string:
		return "'" + strings.ReplaceAll(x, "'", "''") + "'"
	case []byte:
		return "X'" + strings.ToUpper(hex.EncodeToString(x)) + "'"
	default:
		return fmt.Sprint(x)
	}
}
