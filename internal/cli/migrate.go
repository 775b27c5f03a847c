package cli

import (
	"context"
	"fmt"

	"github.com/regimport/regimport/catalog"
)

// runMigrate brings a catalog to this build's schema, for read-only users
// (serve, get, report) of a catalog an older regimport wrote.
func runMigrate(ctx context.Context, args []string, s Streams) int {
	fs := newFlagSet("migrate", s)
	db := fs.String("db", "catalog.db", dbUsage)
	if _, err := parseInterspersed(fs, args); err != nil {
		if isHelp(err) {
			return ExitOK
		}
		return ExitUsage
	}
	if !catalog.IsPostgres(*db) && !fileExists(*db) {
		return fail(s, ExitUsage, "migrate: %s: no such file", *db)
	}
	lock, err := catalog.LockRuns(*db, "regimport migrate", catalog.Shard{})
	if err != nil {
		return fail(s, ExitLocked, "migrate: %v", err)
	}
	defer lock.Unlock()
	cat, err := catalog.Open(ctx, *db, catalog.Options{})
	if err != nil {
		return fail(s, ExitFatal, "migrate: %v", err)
	}
	if err := cat.Close(); err != nil {
		return fail(s, ExitFatal, "migrate: %v", err)
	}
	fmt.Fprintf(s.Out, "%s is at schema version %d\n", catalog.RedactDB(*db), catalog.SchemaVersion())
	return ExitOK
}
