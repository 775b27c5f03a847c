package catalog

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// The copy between catalogs (copy.go) reads the tables, columns, keys and
// foreign keys from each database's own schema rather than from a list
// kept by hand, so that a migration adding a table or a column needs no
// change there.

// migrationsTable is each catalog's own migration history. A copy leaves
// it out: the destination has the history of its own dialect (PostgreSQL
// starts at version 7), written when it was migrated.
const migrationsTable = "schema_migrations"

// tableSchema is one table as a copy needs it.
type tableSchema struct {
	name    string
	columns []columnSchema
	pk      []string // primary key columns, in key order
	refs    []string // tables its foreign keys point at
	// implicitRowid: a SQLite table with a rowid that no column names
	// (neither WITHOUT ROWID nor with an INTEGER PRIMARY KEY).
	implicitRowid bool
	// autoKey is the column a new row's number comes from when none is
	// given: an identity column on PostgreSQL, the INTEGER PRIMARY KEY on
	// SQLite. autoIncrement: SQLite's AUTOINCREMENT, whose high-water mark
	// is kept in sqlite_sequence.
	autoKey       string
	autoIncrement bool
}

type columnSchema struct {
	name string
	kind columnKind
}

// columnKind is what a column stores, where the two backends' types
// differ: a copy converts values to the destination's kind.
type columnKind int

const (
	kindOther columnKind = iota // text and integers: stored alike
	kindBlob                    // BLOB on SQLite, bytea on PostgreSQL
	kindTime                    // RFC 3339 text on SQLite, timestamptz on PostgreSQL
	kindJSON                    // text on SQLite, json or jsonb on PostgreSQL
	kindBool                    // 0 or 1 on SQLite, boolean on PostgreSQL
)

// postgresKind is the kind of a PostgreSQL column of data_type typ.
func postgresKind(typ string) columnKind {
	switch typ {
	case "bytea":
		return kindBlob
	case "timestamp with time zone":
		return kindTime
	case "json", "jsonb":
		return kindJSON
	case "boolean":
		return kindBool
	}
	return kindOther
}

func (t *tableSchema) column(name string) (columnSchema, bool) {
	for _, c := range t.columns {
		if c.name == name {
			return c, true
		}
	}
	return columnSchema{}, false
}

// readSchema lists the catalog's tables, by name, through q (a transaction
// of this catalog).
func (c *Catalog) readSchema(ctx context.Context, q querier) (map[string]*tableSchema, error) {
	if c.pg {
		return readPostgresSchema(ctx, q)
	}
	return readSQLiteSchema(ctx, q)
}

func readSQLiteSchema(ctx context.Context, q querier) (map[string]*tableSchema, error) {
	type master struct{ name, sql string }
	var tables []master
	err := scanAll(ctx, q, `SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`,
		func(scan func(...any) error) error {
			var m master
			if err := scan(&m.name, &m.sql); err != nil {
				return err
			}
			tables = append(tables, m)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("read the SQLite schema: %w", err)
	}
	out := map[string]*tableSchema{}
	for _, m := range tables {
		t := &tableSchema{name: m.name}
		upper := strings.ToUpper(m.sql)
		type pkCol struct {
			name, typ string
			pos       int
		}
		var pks []pkCol
		err := scanAll(ctx, q, `SELECT name, upper(type), pk FROM pragma_table_info($1) ORDER BY cid`, func(scan func(...any) error) error {
			var p pkCol
			if err := scan(&p.name, &p.typ, &p.pos); err != nil {
				return err
			}
			kind := kindOther
			if p.typ == "BLOB" {
				kind = kindBlob
			}
			t.columns = append(t.columns, columnSchema{name: p.name, kind: kind})
			if p.pos > 0 {
				pks = append(pks, p)
			}
			return nil
		}, m.name)
		if err != nil {
			return nil, fmt.Errorf("read the SQLite schema of %s: %w", m.name, err)
		}
		sort.Slice(pks, func(i, j int) bool { return pks[i].pos < pks[j].pos })
		for _, p := range pks {
			t.pk = append(t.pk, p.name)
		}
		withoutRowid := strings.Contains(upper, "WITHOUT ROWID")
		if len(pks) == 1 && pks[0].typ == "INTEGER" && !withoutRowid {
			t.autoKey = pks[0].name // an alias of the rowid
			t.autoIncrement = strings.Contains(upper, "AUTOINCREMENT")
		}
		t.implicitRowid = !withoutRowid && t.autoKey == ""
		err = scanAll(ctx, q, `SELECT DISTINCT "table" FROM pragma_foreign_key_list($1)`, func(scan func(...any) error) error {
			var ref string
			if err := scan(&ref); err != nil {
				return err
			}
			t.refs = append(t.refs, ref)
			return nil
		}, m.name)
		if err != nil {
			return nil, fmt.Errorf("read the foreign keys of %s: %w", m.name, err)
		}
		out[m.name] = t
	}
	return out, nil
}

func readPostgresSchema(ctx context.Context, q querier) (map[string]*tableSchema, error) {
	out := map[string]*tableSchema{}
	err := scanAll(ctx, q, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`, func(scan func(...any) error) error {
		var name string
		if err := scan(&name); err != nil {
			return err
		}
		out[name] = &tableSchema{name: name}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the PostgreSQL schema: %w", err)
	}
	err = scanAll(ctx, q, `SELECT table_name, column_name, data_type, is_identity FROM information_schema.columns
		WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`, func(scan func(...any) error) error {
		var table, column, typ, identity string
		if err := scan(&table, &column, &typ, &identity); err != nil {
			return err
		}
		if t := out[table]; t != nil {
			t.columns = append(t.columns, columnSchema{name: column, kind: postgresKind(typ)})
			if identity == "YES" {
				t.autoKey = column
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the PostgreSQL columns: %w", err)
	}
	err = scanAll(ctx, q, `SELECT cl.relname, a.attname
		  FROM pg_index i
		  JOIN pg_class cl ON cl.oid = i.indrelid
		  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
		 WHERE i.indisprimary AND cl.relnamespace = current_schema()::regnamespace
		 ORDER BY cl.relname, array_position(i.indkey::int2[], a.attnum)`, func(scan func(...any) error) error {
		var table, column string
		if err := scan(&table, &column); err != nil {
			return err
		}
		if t := out[table]; t != nil {
			t.pk = append(t.pk, column)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the PostgreSQL primary keys: %w", err)
	}
	err = scanAll(ctx, q, `SELECT DISTINCT cl.relname, cf.relname
		  FROM pg_constraint k
		  JOIN pg_class cl ON cl.oid = k.conrelid
		  JOIN pg_class cf ON cf.oid = k.confrelid
		 WHERE k.contype = 'f' AND k.connamespace = current_schema()::regnamespace`, func(scan func(...any) error) error {
		var table, ref string
		if err := scan(&table, &ref); err != nil {
			return err
		}
		if t := out[table]; t != nil {
			t.refs = append(t.refs, ref)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the PostgreSQL foreign keys: %w", err)
	}
	return out, nil
}

// copyOrder sorts tables so that each comes after the tables its foreign
// keys point at (and by name among equals, so the order is stable).
func copyOrder(tables map[string]*tableSchema) ([]*tableSchema, error) {
	var names []string
	for name := range tables {
		names = append(names, name)
	}
	sort.Strings(names)
	done := map[string]bool{}
	var out []*tableSchema
	for len(out) < len(names) {
		progressed := false
		for _, name := range names {
			if done[name] {
				continue
			}
			ready := true
			for _, ref := range tables[name].refs {
				if ref != name && !done[ref] && tables[ref] != nil {
					ready = false
				}
			}
			if ready {
				done[name] = true
				out = append(out, tables[name])
				progressed = true
			}
		}
		if !progressed {
			var left []string
			for _, name := range names {
				if !done[name] {
					left = append(left, name)
				}
			}
			return nil, fmt.Errorf("the foreign keys of tables %s form a cycle: no order copies them", strings.Join(left, ", "))
		}
	}
	return out, nil
}

// scanAll runs a query and calls each for every row.
func scanAll(ctx context.Context, q querier, query string, each func(scan func(...any) error) error, args ...any) error {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := each(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

// quoteIdent quotes a table or column name; both dialects read "name".
func quoteIdent(name string) string {
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}
