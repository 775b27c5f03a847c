package catalogdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/catalog/dbschema"
	"github.com/regimport/regimport/catalog/internal/sqlstore"
)

// copyBatchParams bounds the parameters of one multi-row INSERT, well
// under SQLite's 32,766 and PostgreSQL's 65,535.
const copyBatchParams = 8000

// copyBatchRows bounds the rows of one INSERT.
const copyBatchRows = 500

// Copy copies every row of src into dst, which must be an empty catalog
// at the same schema version opened for writing (Open migrates it), of
// either backend. It reads src in one snapshot and writes dst in one
// transaction, so a failure leaves dst as it was. Ids, resourceVersions,
// timestamps and raw bytes are copied as stored; afterwards dst's
// sequences (PostgreSQL identities, SQLite's AUTOINCREMENT) continue past
// the highest number src had given out, so resourceVersions never go back.
// schema_migrations is not copied: dst keeps the history of its own dialect.
//
// The tables and columns come from the two schemas, not from a list here:
// a table or column on one side only is an error, not a silent loss.
// A PostgreSQL dst is ANALYZEd afterwards, so that its planner has
// statistics from the first query on. The caller holds dst's run lock (LockRuns).
func copyCatalog(ctx context.Context, src, dst *sqlstore.Catalog) (catalog.CopyStats, error) {
	var stats catalog.CopyStats
	if dst.ReadOnly() || dst.WritePool() == nil {
		return stats, fmt.Errorf("copy to %s: %w", dst.Path(), catalog.ErrReadOnly)
	}
	srcTx, err := src.BeginRead(ctx)
	if err != nil {
		return stats, fmt.Errorf("copy from %s: %w", src.Path(), err)
	}
	defer srcTx.Rollback()
	// The write transaction on a connection of its own, so that rows can
	// go into PostgreSQL by COPY on that same connection (copyRowsPostgres).
	dstConn, err := dst.WritePool().Conn(ctx)
	if err != nil {
		return stats, fmt.Errorf("copy to %s: %w", dst.Path(), err)
	}
	defer dstConn.Close()
	if !isPostgres(dst) {
		// The copy is one transaction as big as the catalog: a page cache
		// of 256 MiB (instead of the writer's 16) spills index pages to
		// the WAL less often. 100,000 images from PostgreSQL: 32 s, not 54.
		var was int64
		if err := dstConn.QueryRowContext(ctx, `PRAGMA cache_size`).Scan(&was); err != nil {
			return stats, fmt.Errorf("copy to %s: %w", dst.Path(), err)
		}
		if _, err := dstConn.ExecContext(ctx, `PRAGMA cache_size = -262144`); err != nil {
			return stats, fmt.Errorf("copy to %s: %w", dst.Path(), err)
		}
		defer dstConn.ExecContext(context.WithoutCancel(ctx), fmt.Sprintf(`PRAGMA cache_size = %d`, was))
	}
	dstTx, err := dstConn.BeginTx(ctx, nil)
	if err != nil {
		return stats, fmt.Errorf("copy to %s: %w", dst.Path(), err)
	}
	if err := dst.SQLDialect().LockWrites(ctx, dstTx); err != nil { // as beginWrite does
		dstTx.Rollback()
		return stats, fmt.Errorf("copy to %s: %w", dst.Path(), err)
	}
	committed := false
	defer func() {
		if !committed {
			dstTx.Rollback()
		}
	}()
	srcSchema, err := readSchema(ctx, src, srcTx)
	if err != nil {
		return stats, fmt.Errorf("copy from %s: %w", src.Path(), err)
	}
	dstSchema, err := readSchema(ctx, dst, dstTx)
	if err != nil {
		return stats, fmt.Errorf("copy to %s: %w", dst.Path(), err)
	}
	plans, err := planCopy(srcSchema, dstSchema, isPostgres(dst))
	if err != nil {
		return stats, fmt.Errorf("copy %s to %s: %w", src.Path(), dst.Path(), err)
	}
	full, err := nonEmptyTables(ctx, dstTx, dstSchema)
	if err != nil {
		return stats, fmt.Errorf("copy to %s: %w", dst.Path(), err)
	}
	if len(full) > 0 {
		return stats, fmt.Errorf("%s: %w: tables %s have rows", dst.Path(), catalog.ErrNotEmpty, strings.Join(full, ", "))
	}
	for _, p := range plans {
		copyRows := p.copyRows
		if isPostgres(dst) {
			copyRows = func(ctx context.Context, src, _ *sql.Tx) (int64, int64, error) {
				return p.copyRowsPostgres(ctx, src, dstConn)
			}
		}
		n, maxKey, err := copyRows(ctx, srcTx, dstTx)
		if err != nil {
			return stats, fmt.Errorf("copy table %s from %s to %s: %w", p.table, src.Path(), dst.Path(), err)
		}
		stats.Tables = append(stats.Tables, catalog.TableCopy{Table: p.table, Rows: n})
		stats.Rows += n
		dst.Logger().Info("table copied", "table", p.table, "rows", n)
		if p.dstAutoKey == "" {
			continue
		}
		issued, err := highWater(ctx, src, srcTx, p)
		if err != nil {
			return stats, fmt.Errorf("copy table %s from %s: %w", p.table, src.Path(), err)
		}
		if err := continueAfter(ctx, dst, dstTx, p, max(issued, maxKey)); err != nil {
			return stats, fmt.Errorf("copy table %s to %s: %w", p.table, dst.Path(), err)
		}
	}
	if err := dstTx.Commit(); err != nil {
		return stats, fmt.Errorf("copy to %s: commit: %w", dst.Path(), err)
	}
	committed = true
	if isPostgres(dst) {
		// Autovacuum would analyze the new tables some time later; until
		// then the planner guesses their sizes, and the first reports
		// after a migrate take several times as long.
		if _, err := dstConn.ExecContext(ctx, `ANALYZE`); err != nil {
			return stats, fmt.Errorf("copy to %s: analyze: %w", dst.Path(), err)
		}
	}
	return stats, nil
}

// checkEmpty reports catalog.ErrNotEmpty when the catalog (opened by a
// backend's OpenUnchecked) holds rows in any table but schema_migrations,
// and closes it. A database with no tables is empty.
// It only reads, so a caller can refuse a destination before Open would
// migrate it.
func checkEmpty(ctx context.Context, c *sqlstore.Catalog) error {
	defer c.Close()
	tx, err := c.BeginRead(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", c.Path(), err)
	}
	defer tx.Rollback()
	schema, err := readSchema(ctx, c, tx)
	if err != nil {
		return fmt.Errorf("%s: %w: %v", c.Path(), catalog.ErrNotCatalog, err)
	}
	full, err := nonEmptyTables(ctx, tx, schema)
	if err != nil {
		return fmt.Errorf("%s: %w", c.Path(), err)
	}
	if len(full) > 0 {
		return fmt.Errorf("%s: %w: tables %s have rows", c.Path(), catalog.ErrNotEmpty, strings.Join(full, ", "))
	}
	return nil
}

// nonEmptyTables names the tables, but schema_migrations, that have a row.
func nonEmptyTables(ctx context.Context, q querier, tables map[string]*dbschema.Table) ([]string, error) {
	var names []string
	for name := range tables {
		if name != migrationsTable {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var full []string
	for _, name := range names {
		var one int
		err := q.QueryRowContext(ctx, `SELECT 1 FROM `+quoteIdent(name)+` LIMIT 1`).Scan(&one)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return nil, fmt.Errorf("look for rows in %s: %w", name, err)
		default:
			full = append(full, name)
		}
	}
	return full, nil
}

// tableCopy is how one table is copied: which source expression feeds
// which destination column.
type tableCopy struct {
	table      string
	selects    []string        // source column expressions, quoted
	columns    []string        // destination columns
	inserts    []string        // the same, quoted
	kinds      []dbschema.Kind // per column: what the destination stores
	toPostgres bool            // the destination is PostgreSQL
	orderBy    []string        // source key, so the copy is in a stable order
	dstAutoKey string          // the destination's autoKey (identity or INTEGER PRIMARY KEY), "" when none
	autoCol    int             // its index among the columns, -1 when none
	autoInc    bool            // it is SQLite AUTOINCREMENT
	srcAuto    string          // the source's autoKey, "" when none
	srcInc     bool            // it is SQLite AUTOINCREMENT
}

// planCopy matches the two schemas table by table, column by column, in
// an order that satisfies the destination's foreign keys. SQLite's
// implicit rowid matches a PostgreSQL column named rowid (import_failures
// has one, as the shared queries sort by it).
func planCopy(src, dst map[string]*dbschema.Table, toPostgres bool) ([]tableCopy, error) {
	var missing []string
	for name := range src {
		if name != migrationsTable && dst[name] == nil {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		return nil, fmt.Errorf("the destination has no table %s: its rows would be lost (are both catalogs at this build's schema?)", strings.Join(missing, ", "))
	}
	order, err := dbschema.Order(dst)
	if err != nil {
		return nil, err
	}
	var plans []tableCopy
	for _, d := range order {
		if d.Name == migrationsTable {
			continue
		}
		s := src[d.Name]
		if s == nil {
			return nil, fmt.Errorf("the source has no table %s (are both catalogs at this build's schema?)", d.Name)
		}
		p := tableCopy{table: d.Name, autoCol: -1, dstAutoKey: d.AutoKey, autoInc: d.AutoIncrement, toPostgres: toPostgres}
		add := func(srcExpr, dstCol string, kind dbschema.Kind) {
			if dstCol == d.AutoKey {
				p.autoCol = len(p.inserts)
			}
			p.selects = append(p.selects, srcExpr)
			p.columns = append(p.columns, dstCol)
			p.inserts = append(p.inserts, quoteIdent(dstCol))
			p.kinds = append(p.kinds, kind)
		}
		for _, col := range d.Columns {
			switch sc, ok := s.Column(col.Name); {
			case ok:
				// The PostgreSQL side knows times, documents and flags;
				// SQLite stores them as text and integers.
				kind := col.Kind
				if kind == dbschema.KindOther {
					kind = sc.Kind
				}
				add(quoteIdent(col.Name), col.Name, kind)
			case col.Name == "rowid" && s.ImplicitRowid:
				add("rowid", col.Name, col.Kind)
			default:
				return nil, fmt.Errorf("table %s: the source has no column %s", d.Name, col.Name)
			}
		}
		for _, col := range s.Columns {
			switch _, ok := d.Column(col.Name); {
			case ok:
			case col.Name == "rowid" && d.ImplicitRowid:
				add(quoteIdent(col.Name), "rowid", dbschema.KindOther)
			default:
				return nil, fmt.Errorf("table %s: the destination has no column %s: its values would be lost", d.Name, col.Name)
			}
		}
		if s.ImplicitRowid && d.ImplicitRowid {
			// SQLite to SQLite: the hidden rowids too, gaps and all.
			add("rowid", "rowid", dbschema.KindOther)
		}
		switch {
		case len(s.PK) > 0:
			for _, k := range s.PK {
				p.orderBy = append(p.orderBy, quoteIdent(k))
			}
		case s.ImplicitRowid:
			p.orderBy = []string{"rowid"}
		default:
			p.orderBy = p.selects
		}
		p.srcAuto, p.srcInc = s.AutoKey, s.AutoIncrement
		plans = append(plans, p)
	}
	return plans, nil
}

// copyRows streams the table from src into dst in multi-row INSERTs, and
// returns the rows copied and the highest value of the destination's
// autoKey among them.
func (p *tableCopy) copyRows(ctx context.Context, src, dst *sql.Tx) (int64, int64, error) {
	cols := len(p.inserts)
	perBatch := max(1, min(copyBatchRows, copyBatchParams/cols))
	var full *sql.Stmt
	defer func() {
		if full != nil {
			full.Close()
		}
	}()
	args := make([]any, 0, perBatch*cols)
	flush := func(rows int) error {
		if rows == 0 {
			return nil
		}
		if rows == perBatch {
			if full == nil {
				var err error
				if full, err = dst.PrepareContext(ctx, p.insertSQL(perBatch)); err != nil {
					return err
				}
			}
			_, err := full.ExecContext(ctx, args...)
			return err
		}
		_, err := dst.ExecContext(ctx, p.insertSQL(rows), args...)
		return err
	}

	rows, err := p.readSource(ctx, src)
	if err != nil {
		return 0, 0, err
	}
	defer rows.close()
	pending := 0
	for {
		row, err := rows.next()
		if err != nil {
			return rows.n, rows.maxKey, err
		}
		if row == nil {
			break
		}
		args = append(args, row...)
		if pending++; pending == perBatch {
			if err := flush(pending); err != nil {
				return rows.n, rows.maxKey, err
			}
			args, pending = args[:0], 0
		}
	}
	return rows.n, rows.maxKey, flush(pending)
}

// copyRowsPostgres is copyRows into PostgreSQL, by COPY FROM STDIN on
// the connection of the copy's transaction: several times faster than
// INSERTs of many rows, which PostgreSQL parses and plans each time.
func (p *tableCopy) copyRowsPostgres(ctx context.Context, src *sql.Tx, dst *sql.Conn) (int64, int64, error) {
	rows, err := p.readSource(ctx, src)
	if err != nil {
		return 0, 0, err
	}
	defer rows.close()
	err = dst.Raw(func(driverConn any) error {
		conn, ok := driverConn.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("copy into PostgreSQL: unexpected connection %T", driverConn)
		}
		_, err := conn.Conn().CopyFrom(ctx, pgx.Identifier{p.table}, p.columns, pgx.CopyFromFunc(rows.next))
		return err
	})
	return rows.n, rows.maxKey, err
}

// sourceRows reads a table from the source in key order, each row's
// values as its destination columns store them, counting the rows and
// keeping the highest destination autoKey seen.
type sourceRows struct {
	p          *tableCopy
	rows       *sql.Rows
	vals, ptrs []any
	row        []any // reused: consumers copy it before the next call
	n, maxKey  int64
}

func (p *tableCopy) readSource(ctx context.Context, src *sql.Tx) (*sourceRows, error) {
	rows, err := src.QueryContext(ctx, p.selectSQL())
	if err != nil {
		return nil, err
	}
	cols := len(p.inserts)
	r := &sourceRows{p: p, rows: rows, vals: make([]any, cols), ptrs: make([]any, cols), row: make([]any, cols)}
	for i := range r.vals {
		r.ptrs[i] = &r.vals[i]
	}
	return r, nil
}

// next returns the next row, or nil at the end.
func (r *sourceRows) next() ([]any, error) {
	if !r.rows.Next() {
		return nil, r.rows.Err()
	}
	if err := r.rows.Scan(r.ptrs...); err != nil {
		return nil, err
	}
	for i, v := range r.vals {
		var err error
		if r.row[i], err = storedAs(v, r.p.kinds[i], r.p.toPostgres); err != nil {
			return nil, fmt.Errorf("table %s, column %s: %w", r.p.table, r.p.columns[i], err)
		}
		if i == r.p.autoCol {
			if k, ok := r.row[i].(int64); ok && k > r.maxKey {
				r.maxKey = k
			}
		}
	}
	r.n++
	return r.row, nil
}

func (r *sourceRows) close() { r.rows.Close() }

// storedAs gives a value the type its destination column stores. Bytes
// and text are kept as they are; a time becomes a time.Time for
// PostgreSQL and RFC 3339 text (formatTime) for SQLite; a flag becomes a
// bool for PostgreSQL and 0 or 1 for SQLite; a document stays its text.
func storedAs(v any, kind dbschema.Kind, toPostgres bool) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch kind {
	case dbschema.KindBlob:
		if s, ok := v.(string); ok {
			return []byte(s), nil
		}
		return v, nil
	case dbschema.KindTime:
		switch x := v.(type) {
		case time.Time:
			if toPostgres {
				return x, nil
			}
			return sqlstore.FormatTime(x), nil
		case string:
			if !toPostgres {
				return x, nil
			}
			t, err := time.Parse(time.RFC3339Nano, x)
			if err != nil {
				return nil, fmt.Errorf("not an RFC 3339 time: %q", x)
			}
			return t, nil
		}
	case dbschema.KindBool:
		switch x := v.(type) {
		case bool:
			if toPostgres {
				return x, nil
			}
			if x {
				return int64(1), nil
			}
			return int64(0), nil
		case int64:
			if toPostgres {
				return x != 0, nil
			}
			return x, nil
		}
	}
	if b, ok := v.([]byte); ok {
		return string(b), nil
	}
	return v, nil
}

func (p *tableCopy) selectSQL() string {
	return `SELECT ` + strings.Join(p.selects, ", ") + ` FROM ` + quoteIdent(p.table) + ` ORDER BY ` + strings.Join(p.orderBy, ", ")
}

// insertSQL is a multi-row INSERT into SQLite (PostgreSQL gets COPY), in
// SQLite's own positional parameters.
func (p *tableCopy) insertSQL(rows int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(p.inserts)), ", ") + ")"
	var b strings.Builder
	b.WriteString(`INSERT INTO ` + quoteIdent(p.table) + ` (` + strings.Join(p.inserts, ", ") + `) VALUES `)
	for i := 0; i < rows; i++ {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}

// highWater is the highest number the source's sequence for the table has
// given out, which may exceed the highest one still stored (rows deleted,
// transactions rolled back). 0 when the source keeps none.
func highWater(ctx context.Context, c *sqlstore.Catalog, tx *sql.Tx, p tableCopy) (int64, error) {
	var v sql.NullInt64
	var err error
	switch {
	case p.srcAuto == "":
		return 0, nil
	case isPostgres(c):
		err = tx.QueryRowContext(ctx, `SELECT pg_sequence_last_value(pg_get_serial_sequence($1, $2)::regclass)`,
			quoteIdent(p.table), p.srcAuto).Scan(&v)
	case p.srcInc:
		err = tx.QueryRowContext(ctx, `SELECT seq FROM sqlite_sequence WHERE name = $1`, p.table).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, nil
		}
	default:
		return 0, nil // a plain INTEGER PRIMARY KEY: the next is max + 1
	}
	if err != nil {
		return 0, fmt.Errorf("read the sequence of %s.%s: %w", p.table, p.srcAuto, err)
	}
	return v.Int64, nil
}

// continueAfter makes the destination give the table's next new row a
// number above last.
func continueAfter(ctx context.Context, c *sqlstore.Catalog, tx *sql.Tx, p tableCopy, last int64) error {
	switch {
	case isPostgres(c):
		// setval(seq, n): the next is n+1; setval(seq, 1, false): the next is 1.
		query, args := `SELECT setval(pg_get_serial_sequence($1, $2), $3)`, []any{quoteIdent(p.table), p.dstAutoKey, last}
		if last < 1 {
			query, args = `SELECT setval(pg_get_serial_sequence($1, $2), 1, false)`, args[:2]
		}
		if _, err := tx.ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("set the sequence of %s.%s: %w", p.table, p.dstAutoKey, err)
		}
	case p.autoInc:
		if _, err := tx.ExecContext(ctx, `DELETE FROM sqlite_sequence WHERE name = $1`, p.table); err != nil {
			return fmt.Errorf("set sqlite_sequence of %s: %w", p.table, err)
		}
		if last > 0 {
			if _, err := tx.ExecContext(ctx, `INSERT INTO sqlite_sequence (name, seq) VALUES ($1, $2)`, p.table, last); err != nil {
				return fmt.Errorf("set sqlite_sequence of %s: %w", p.table, err)
			}
		}
	}
	return nil
}
