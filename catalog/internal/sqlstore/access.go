package sqlstore

import (
	"context"
	"database/sql"
	"log/slog"
	"time"
)

// What the copy between backends (catalog/catalogdb) works with, below
// the catalog.Catalog interface: it moves rows table by table, by the
// schema each database reports, outside the writer.

// BeginRead starts a read-only transaction that sees one snapshot.
func (c *Catalog) BeginRead(ctx context.Context) (*sql.Tx, error) { return c.beginRead(ctx) }

// ReadOnly reports whether the catalog was opened without write access.
func (c *Catalog) ReadOnly() bool { return c.readOnly }

// WritePool is the writer's pool of one connection (nil when read-only).
func (c *Catalog) WritePool() *sql.DB { return c.write }

// Logger is the catalog's logger.
func (c *Catalog) Logger() *slog.Logger { return c.log }

// SQLDialect is the catalog's Dialect.
func (c *Catalog) SQLDialect() Dialect { return c.d }

// FormatTime is the text of a time as the catalog stores it in SQLite
// (formatTime).
func FormatTime(t time.Time) string { return formatTime(t) }
