package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"github.com/regimport/regimport/internal/redact"
	"os"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/catalog/internal/sqlstore"
)

// Advisory lock keys on a PostgreSQL catalog (pg_advisory_lock's bigint
// space is the database's; these are "rgi" followed by a small number).
const (
	// lockKeyMigrate is held while migrating, so concurrent openers of a
	// new database migrate it once.
	lockKeyMigrate int64 = 0x726769_0001
	// lockKeyWrite is held by each writer transaction until it commits.
	// Writers from several processes (shards) then commit one after the
	// other, so resourceVersions, which come from a sequence, become
	// visible in order: a watcher reading "changes after N" never skips a
	// change that commits late with a smaller number.
	lockKeyWrite int64 = 0x726769_0002
)

// Open opens (creating its tables and migrating if needed) the PostgreSQL
// catalog at the URL db. It connects two pools through pgx's database/sql
// connector, so the catalog's queries reach the server as written: a
// read pool, read-only at the server so a bug cannot write through it,
// and unless read-only a write pool of one connection, as with SQLite,
// so the writer's batches stay in order.
func Open(ctx context.Context, db string, opts catalog.Options) (catalog.Catalog, error) {
	c, err := open(ctx, db, opts)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func open(ctx context.Context, db string, opts catalog.Options) (*sqlstore.Catalog, error) {
	p, err := connect(ctx, db, opts.ReadOnly)
	if err != nil {
		return nil, err
	}
	return sqlstore.Open(ctx, p, Dialect{}, opts)
}

// connect makes the pools.
func connect(ctx context.Context, db string, readOnly bool) (sqlstore.Pools, error) {
	p := sqlstore.Pools{Path: catalog.RedactDB(db), NoStmtCache: true}
	cfg, err := pgx.ParseConfig(db)
	if err != nil {
		return p, fmt.Errorf("open catalog %s: %v", p.Path, redactErr(err, db))
	}
	host, _ := os.Hostname()
	app := fmt.Sprintf("regimport pid %d on %s", os.Getpid(), host)
	readCfg := cfg.Copy()
	readCfg.RuntimeParams["default_transaction_read_only"] = "on"
	readCfg.RuntimeParams["application_name"] = app
	p.Read = sql.OpenDB(stdlib.GetConnector(*readCfg, stdlib.OptionAfterConnect(utcTimes)))
	p.Read.SetMaxOpenConns(16)
	p.Read.SetMaxIdleConns(16)
	if err := p.Read.PingContext(ctx); err != nil {
		p.Read.Close()
		return p, fmt.Errorf("open catalog %s: %v", p.Path, redactErr(err, db))
	}
	if readOnly {
		return p, nil
	}
	writeCfg := cfg.Copy()
	writeCfg.RuntimeParams["application_name"] = app
	p.Write = sql.OpenDB(stdlib.GetConnector(*writeCfg, stdlib.OptionAfterConnect(utcTimes)))
	p.Write.SetMaxOpenConns(1)
	return p, nil
}

// OpenUnchecked connects read-only to the database as it is, without
// checking its schema, for catalogdb.CheckEmpty.
func OpenUnchecked(ctx context.Context, db string) (*sqlstore.Catalog, error) {
	p, err := connect(ctx, db, true)
	if err != nil {
		return nil, err
	}
	return sqlstore.Attach(p, Dialect{}, catalog.Options{ReadOnly: true}), nil
}

// utcTimes makes a connection return timestamptz values in UTC, whatever
// the process's time zone: the catalog reads times into strings, which
// database/sql formats as RFC 3339, and they then read as SQLite's do.
func utcTimes(_ context.Context, conn *pgx.Conn) error {
	conn.TypeMap().RegisterType(&pgtype.Type{Name: "timestamptz", OID: pgtype.TimestamptzOID,
		Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC}})
	return nil
}

// redactErr keeps a connection error from repeating the password.
func redactErr(err error, db string) error { return redact.Error(err, db) }
