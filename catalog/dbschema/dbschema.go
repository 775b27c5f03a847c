// Package dbschema reads a catalog database's tables from the database's
// own dictionary (SQLite's sqlite_master and pragmas, PostgreSQL's
// information_schema and pg_catalog): columns and what they store, keys,
// foreign keys and how new keys are numbered. The catalog's copy between
// backends and the tests' row-by-row dump (internal/dbtest) both read it
// here, so a migration adding a table or column needs no change in either.
package dbschema

import (
	"context"
	"database/sql"
	"fmt"
	"sort"
	"strings"
)

// Querier is a database, connection or transaction.
type Querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// Table is one table as a copy needs it.
type Table struct {
	Name    string
	Columns []Column
	PK      []string // primary key columns, in key order
	Refs    []string // tables its foreign keys point at
	// implicitRowid: a SQLite table with a rowid that no column names
	// (neither WITHOUT ROWID nor with an INTEGER PRIMARY KEY).
	ImplicitRowid bool
	// autoKey is the column a new row's number comes from when none is
	// given: an identity column on PostgreSQL, the INTEGER PRIMARY KEY on
	// SQLite. autoIncrement: SQLite's AUTOINCREMENT, whose high-water mark
	// is kept in sqlite_sequence.
	AutoKey       string
	AutoIncrement bool
}

type Column struct {
	Name string
	Kind Kind
}

// Kind is what a column stores, where the two backends' types
// differ: a copy converts values to the destination's kind.
type Kind int

const (
	KindOther Kind = iota // text and integers: stored alike
	KindBlob              // BLOB on SQLite, bytea on PostgreSQL
	KindTime              // RFC 3339 text on SQLite, timestamptz on PostgreSQL
	KindJSON              // text on SQLite, json or jsonb on PostgreSQL
	KindBool              // 0 or 1 on SQLite, boolean on PostgreSQL
)

// postgresKind is the kind of a PostgreSQL column of data_type typ.
func postgresKind(typ string) Kind {
	switch typ {
	case "bytea":
		return KindBlob
	case "timestamp with time zone":
		return KindTime
	case "json", "jsonb":
		return KindJSON
	case "boolean":
		return KindBool
	}
	return KindOther
}

func (t *Table) Column(name string) (Column, bool) {
	for _, c := range t.Columns {
		if c.Name == name {
			return c, true
		}
	}
	return Column{}, false
}

func ReadSQLite(ctx context.Context, q Querier) (map[string]*Table, error) {
	type master struct{ Name, sql string }
	var tables []master
	err := scanAll(ctx, q, `SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\'`,
		func(scan func(...any) error) error {
			var m master
			if err := scan(&m.Name, &m.sql); err != nil {
				return err
			}
			tables = append(tables, m)
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("read the SQLite schema: %w", err)
	}
	out := map[string]*Table{}
	for _, m := range tables {
		t := &Table{Name: m.Name}
		upper := strings.ToUpper(m.sql)
		type pkCol struct {
			Name, typ string
			pos       int
		}
		var pks []pkCol
		err := scanAll(ctx, q, `SELECT name, upper(type), pk FROM pragma_table_info($1) ORDER BY cid`, func(scan func(...any) error) error {
			var p pkCol
			if err := scan(&p.Name, &p.typ, &p.pos); err != nil {
				return err
			}
			kind := KindOther
			if p.typ == "BLOB" {
				kind = KindBlob
			}
			t.Columns = append(t.Columns, Column{Name: p.Name, Kind: kind})
			if p.pos > 0 {
				pks = append(pks, p)
			}
			return nil
		}, m.Name)
		if err != nil {
			return nil, fmt.Errorf("read the SQLite schema of %s: %w", m.Name, err)
		}
		sort.Slice(pks, func(i, j int) bool { return pks[i].pos < pks[j].pos })
		for _, p := range pks {
			t.PK = append(t.PK, p.Name)
		}
		withoutRowid := strings.Contains(upper, "WITHOUT ROWID")
		if len(pks) == 1 && pks[0].typ == "INTEGER" && !withoutRowid {
			t.AutoKey = pks[0].Name // an alias of the rowid
			t.AutoIncrement = strings.Contains(upper, "AUTOINCREMENT")
		}
		t.ImplicitRowid = !withoutRowid && t.AutoKey == ""
		err = scanAll(ctx, q, `SELECT DISTINCT "table" FROM pragma_foreign_key_list($1)`, func(scan func(...any) error) error {
			var ref string
			if err := scan(&ref); err != nil {
				return err
			}
			t.Refs = append(t.Refs, ref)
			return nil
		}, m.Name)
		if err != nil {
			return nil, fmt.Errorf("read the foreign keys of %s: %w", m.Name, err)
		}
		out[m.Name] = t
	}
	return out, nil
}

func ReadPostgres(ctx context.Context, q Querier) (map[string]*Table, error) {
	out := map[string]*Table{}
	err := scanAll(ctx, q, `SELECT table_name FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`, func(scan func(...any) error) error {
		var name string
		if err := scan(&name); err != nil {
			return err
		}
		out[name] = &Table{Name: name}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the PostgreSQL schema: %w", err)
	}
	err = scanAll(ctx, q, `SELECT table_name, column_name, data_type, is_identity FROM information_schema.Columns
		WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position`, func(scan func(...any) error) error {
		var table, column, typ, identity string
		if err := scan(&table, &column, &typ, &identity); err != nil {
			return err
		}
		if t := out[table]; t != nil {
			t.Columns = append(t.Columns, Column{Name: column, Kind: postgresKind(typ)})
			if identity == "YES" {
				t.AutoKey = column
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
			t.PK = append(t.PK, column)
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
			t.Refs = append(t.Refs, ref)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the PostgreSQL foreign keys: %w", err)
	}
	return out, nil
}

// Order sorts tables so that each comes after the tables its foreign
// keys point at (and by name among equals, so the order is stable).
func Order(tables map[string]*Table) ([]*Table, error) {
	var names []string
	for name := range tables {
		names = append(names, name)
	}
	sort.Strings(names)
	done := map[string]bool{}
	var out []*Table
	for len(out) < len(names) {
		progressed := false
		for _, name := range names {
			if done[name] {
				continue
			}
			ready := true
			for _, ref := range tables[name].Refs {
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
func scanAll(ctx context.Context, q Querier, query string, each func(scan func(...any) error) error, args ...any) error {
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
