// Package catalogdb opens a catalog in the database a --db value names: a
// postgres:// or postgresql:// URL opens catalog/postgres, anything else a
// SQLite file through catalog/sqlite. It is the one package that knows
// both backends, so it also holds what spans them or picks between them:
// run locks, the change feed, and the copy between backends (`migrate
// --from --to`).
package catalogdb

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/catalog/internal/sqlstore"
	"github.com/regimport/regimport/catalog/postgres"
	"github.com/regimport/regimport/catalog/sqlite"
)

// Open opens (creating and migrating if needed) the catalog db: a SQLite
// file path, or a postgres:// URL (see catalog.IsPostgres).
func Open(ctx context.Context, db string, opts catalog.Options) (catalog.Catalog, error) {
	if catalog.IsPostgres(db) {
		return postgres.Open(ctx, db, opts)
	}
	return sqlite.Open(ctx, db, opts)
}

// SchemaVersion is the newest migration this build knows; both backends
// number their migrations alike.
func SchemaVersion() int { return sqlstore.SchemaVersion(sqlite.Dialect{}) }

// LockRuns takes the run lock of the catalog db, for the whole catalog or
// for one shard of a sharded import, without waiting: flock(2) files next
// to a SQLite file (sqlite.LockRuns), advisory locks on PostgreSQL
// (postgres.LockRuns). command is shown to a run refused with
// catalog.ErrLocked.
func LockRuns(db, command string, shard catalog.Shard) (catalog.RunLock, error) {
	if catalog.IsPostgres(db) {
		l, err := postgres.LockRuns(db, command, shard)
		if err != nil {
			return nil, err
		}
		return l, nil
	}
	l, err := sqlite.LockRuns(db, command, shard)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// LockOpen waits for the right to open the catalog db, so that shards
// started together open it one at a time (sqlite.LockOpen); a PostgreSQL
// catalog needs none, its migration holds an advisory lock. Release it
// once Open returned.
func LockOpen(db string) (release func(), err error) {
	if catalog.IsPostgres(db) {
		return func() {}, nil
	}
	return sqlite.LockOpen(db)
}

// CheckEmpty reports catalog.ErrNotEmpty when the catalog db holds rows
// in any table but schema_migrations. A file or database that does not
// exist yet, or has no tables, is empty. It only reads, so a caller can
// refuse a destination before Open would migrate it.
func CheckEmpty(ctx context.Context, db string) error {
	var c *sqlstore.Catalog
	var err error
	if catalog.IsPostgres(db) {
		c, err = postgres.OpenUnchecked(ctx, db)
	} else {
		c, err = sqlite.OpenUnchecked(ctx, db)
	}
	if err != nil || c == nil {
		return err
	}
	return checkEmpty(ctx, c)
}

// ListenForChanges follows the change log of the PostgreSQL catalog db
// (postgres.ListenForChanges); SQLite catalogs have no notifications,
// their readers poll, and this returns an error for them.
func ListenForChanges(ctx context.Context, db string, log *slog.Logger) (*postgres.ChangeFeed, error) {
	return postgres.ListenForChanges(ctx, db, log)
}

// Copy copies every row of src into dst, an empty catalog opened for
// writing, on either backend (copy.go).
func Copy(ctx context.Context, src, dst catalog.Catalog) (catalog.CopyStats, error) {
	s, ok := src.(*sqlstore.Catalog)
	if !ok {
		return catalog.CopyStats{}, fmt.Errorf("copy from %s: not a catalog this package opened", src.Path())
	}
	d, ok := dst.(*sqlstore.Catalog)
	if !ok {
		return catalog.CopyStats{}, fmt.Errorf("copy to %s: not a catalog this package opened", dst.Path())
	}
	return copyCatalog(ctx, s, d)
}
