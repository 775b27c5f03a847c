package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/regimport/regimport/catalog/catalogdb"

	"github.com/regimport/regimport/catalog"
)

// runMigrate brings a catalog to this build's schema, for read-only users
// (serve, get, report) of a catalog an older regimport wrote; with
// --from and --to it copies a whole catalog into an empty one instead,
// between SQLite and PostgreSQL either way.
func runMigrate(ctx context.Context, args []string, s Streams) int {
	fs := newFlagSet("migrate", s)
	db := fs.String("db", "catalog.db", dbUsage+", brought to this build's schema in place")
	from := fs.String("from", "", "copy this catalog (a SQLite file or PostgreSQL URL, at this build's schema; only read)...")
	to := fs.String("to", "", "...into this one: an empty or new SQLite file or PostgreSQL database")
	var logs logFlags
	logs.register(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if isHelp(err) {
			return ExitOK
		}
		return ExitUsage
	}
	if len(pos) > 0 {
		return fail(s, ExitUsage, "migrate: unexpected argument %q", pos[0])
	}
	dbSet := false
	fs.Visit(func(f *flag.Flag) { dbSet = dbSet || f.Name == "db" })
	if *from != "" || *to != "" {
		if dbSet {
			return fail(s, ExitUsage, "migrate: --db upgrades one catalog in place; --from and --to copy one into another: give one or the other")
		}
		if *from == "" || *to == "" {
			return fail(s, ExitUsage, "migrate: --from and --to go together (copy the catalog --from into the empty catalog --to)")
		}
		log, err := logs.logger(s.Err)
		if err != nil {
			return fail(s, ExitUsage, "migrate: %v", err)
		}
		return copyCatalog(ctx, s, *from, *to, log)
	}
	if !catalog.IsPostgres(*db) && !fileExists(*db) {
		return fail(s, ExitUsage, "migrate: %s: no such file", *db)
	}
	lock, err := catalogdb.LockRuns(*db, "regimport migrate", catalog.Shard{})
	if err != nil {
		return fail(s, ExitLocked, "migrate: %v", err)
	}
	defer lock.Unlock()
	cat, err := catalogdb.Open(ctx, *db, catalog.Options{})
	if err != nil {
		return fail(s, ExitFatal, "migrate: %v", err)
	}
	if err := cat.Close(); err != nil {
		return fail(s, ExitFatal, "migrate: %v", err)
	}
	fmt.Fprintf(s.Out, "%s is at schema version %d\n", catalog.RedactDB(*db), catalogdb.SchemaVersion())
	return ExitOK
}

// copyCatalog is `migrate --from SRC --to DST`. Exit 2 for what the user
// must change (a source that is missing, not a catalog or at another
// schema version; a destination that is not empty; one catalog named
// twice), 5 when DST's run lock is held, 1 when a catalog cannot be
// reached or the copy fails; DST is then as it was (a SQLite file the
// command created is removed again).
func copyCatalog(ctx context.Context, s Streams, from, to string, log *slog.Logger) int {
	shownFrom, shownTo := catalog.RedactDB(from), catalog.RedactDB(to)
	if sameCatalog(from, to) {
		return fail(s, ExitUsage, "migrate: --from and --to both name %s", shownFrom)
	}
	if !catalog.IsPostgres(from) && !fileExists(from) {
		return fail(s, ExitUsage, "migrate: --from %s: no such file", from)
	}
	src, err := catalogdb.Open(ctx, from, catalog.Options{ReadOnly: true})
	if err != nil {
		if errors.Is(err, catalog.ErrNeedMigrate) {
			return fail(s, ExitUsage, "migrate: --from: %v; or copy it and migrate the copy, if this one must stay as it is", err)
		}
		return fail(s, openExit(err), "migrate: --from: %v", err)
	}
	defer src.Close()
	// Refuse a destination with data before Open, which would migrate an
	// older one: a refused destination is left exactly as it was.
	if err := catalogdb.CheckEmpty(ctx, to); err != nil {
		if errors.Is(err, catalog.ErrNotEmpty) {
			return fail(s, ExitUsage, "migrate: --to: %v; a copy only fills an empty catalog (give a new file or an empty database)", err)
		}
		return fail(s, openExit(err), "migrate: --to: %v", err)
	}
	created := !catalog.IsPostgres(to) && !fileExists(to)
	lock, err := catalogdb.LockRuns(to, "regimport migrate --from "+shownFrom+" --to "+shownTo, catalog.Shard{})
	if err != nil {
		return fail(s, ExitLocked, "migrate: --to: %v", err)
	}
	defer lock.Unlock()
	start := time.Now()
	stats, err := copyInto(ctx, src, to, log)
	if err != nil {
		if created {
			for _, suffix := range []string{"", "-wal", "-shm"} {
				os.Remove(to + suffix)
			}
		}
		code := openExit(err)
		if errors.Is(err, catalog.ErrNotEmpty) {
			code = ExitUsage
		}
		return fail(s, code, "migrate: %v", err)
	}
	log.Info("catalog copied", "from", shownFrom, "to", shownTo, "rows", stats.Rows, "seconds", time.Since(start).Seconds())
	fmt.Fprintf(s.Out, "copied %s to %s (schema version %d) in %s\n", shownFrom, shownTo, catalogdb.SchemaVersion(),
		time.Since(start).Round(time.Millisecond))
	for _, t := range stats.Tables {
		fmt.Fprintf(s.Out, "  %-24s %10d\n", t.Table, t.Rows)
	}
	fmt.Fprintf(s.Out, "  %-24s %10d rows\n", "total", stats.Rows)
	return ExitOK
}

// copyInto opens (creating and migrating) the destination and copies src into it.
func copyInto(ctx context.Context, src catalog.Catalog, to string, log *slog.Logger) (catalog.CopyStats, error) {
	dst, err := catalogdb.Open(ctx, to, catalog.Options{Logger: log})
	if err != nil {
		return catalog.CopyStats{}, fmt.Errorf("--to: %w", err)
	}
	stats, err := catalogdb.Copy(ctx, src, dst)
	if cerr := dst.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("--to: %w", cerr)
	}
	return stats, err
}

// openExit is the exit code for a catalog that could not be opened: 2
// when it is not a catalog of this schema, 1 when it could not be reached.
func openExit(err error) int {
	if errors.Is(err, catalog.ErrNotCatalog) || errors.Is(err, catalog.ErrTooNew) || errors.Is(err, catalog.ErrNeedMigrate) {
		return ExitUsage
	}
	return ExitFatal
}

// sameCatalog reports whether two --db values name one catalog.
func sameCatalog(a, b string) bool {
	if catalog.IsPostgres(a) || catalog.IsPostgres(b) {
		return catalog.RedactDB(a) == catalog.RedactDB(b)
	}
	if fa, err := os.Stat(a); err == nil {
		if fb, err := os.Stat(b); err == nil {
			return os.SameFile(fa, fb)
		}
	}
	absA, errA := filepath.Abs(a)
	absB, errB := filepath.Abs(b)
	return errA == nil && errB == nil && absA == absB
}
