package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"syscall"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/catalog/internal/sqlstore"
)

// Open opens (creating and migrating if needed) the SQLite catalog file:
// a pool of readers and, unless read-only, one writer connection (SQLite
// allows one writer).
func Open(ctx context.Context, file string, opts catalog.Options) (catalog.Catalog, error) {
	c, err := open(ctx, file, opts)
	if err != nil {
		return nil, err
	}
	return c, nil
}

func open(ctx context.Context, file string, opts catalog.Options) (*sqlstore.Catalog, error) {
	return openAs(ctx, file, opts, Dialect{})
}

// openAs is open through d, for a test that replays the migrations.
func openAs(ctx context.Context, file string, opts catalog.Options, d sqlstore.Dialect) (*sqlstore.Catalog, error) {
	if err := registerStablePlans(); err != nil {
		return nil, fmt.Errorf("open catalog %s: %w", file, err)
	}
	if opts.ReadOnly {
		if _, err := os.Stat(file); err != nil {
			return nil, fmt.Errorf("open catalog %s: %w", file, err)
		}
	}
	read, err := sql.Open("sqlite3", dsn(file, true))
	if err != nil {
		return nil, fmt.Errorf("open catalog %s: %w", file, err)
	}
	// Enough readers for the importer's workers and the endpoint's requests
	// not to queue for a connection; each holds at most a 2 MiB page cache.
	read.SetMaxOpenConns(16)
	read.SetMaxIdleConns(16)
	p := sqlstore.Pools{Path: file, Read: read}
	if opts.ReadOnly {
		return sqlstore.Open(ctx, p, d, opts)
	}
	err = createPrivate(file)
	if err == nil {
		err = setPageSizeIfEmpty(ctx, file)
	}
	if err != nil {
		read.Close()
		return nil, fmt.Errorf("open catalog %s: %w", file, err)
	}
	write, err := sql.Open("sqlite3", dsn(file, false))
	if err != nil {
		read.Close()
		return nil, fmt.Errorf("open catalog %s: %w", file, err)
	}
	write.SetMaxOpenConns(1)
	p.Write = write
	c, err := sqlstore.Open(ctx, p, d, opts)
	if err != nil {
		return nil, err
	}
	// The writer keeps SQLite's automatic checkpoint, at walCheckpointPages:
	// a commit that takes the WAL past it copies the WAL into the file, and
	// the next commit writes the WAL from its start again.
	if _, err := write.ExecContext(ctx, fmt.Sprintf(`PRAGMA wal_autocheckpoint = %d`, walCheckpointPages)); err != nil {
		c.Close()
		return nil, fmt.Errorf("open catalog %s: %w", file, err)
	}
	return c, nil
}

// walCheckpointPages is 8 MiB of 16 KiB pages, half SQLite's default.
// With 8,192 a cold import of 5,000 tags never checkpointed: its WAL grew
// to about 112 MB, and closing the catalog, which folds the WAL into the
// file so that the file alone is complete, took 0.19-0.25 s after the last
// write (fsync of the whole WAL, a copy of every page of the 39 MB file,
// its fsync, then freeing the WAL's pages), time in which nothing else
// ran. Checkpointing as the WAL grows runs in the writer while the workers
// fetch, and leaves the close only what came after the last checkpoint:
// at 1,000 tags, 35-47 ms with 1,000 pages, 21-25 ms with 512, 13-17 ms
// with 256 (four runs each). Process CPU did not grow: at 5,000 tags
// 3.65, 3.47 and 3.56 s on average over four runs each, and in five
// paired runs of 1,000 against 8,192 pages 4.04 s against 4.25 s (a WAL
// written again from its start needs no new page-cache pages). 512
// halves the close of 1,000 and checkpoints half as often as 256; each
// checkpoint writes the index pages changed since the last one again,
// I/O that a slow disk feels.
const walCheckpointPages = 512

// OpenUnchecked opens the file read-only as it is, without checking its
// schema, for catalogdb.CheckEmpty; nil when the file does not exist.
func OpenUnchecked(ctx context.Context, file string) (*sqlstore.Catalog, error) {
	if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err := registerStablePlans(); err != nil {
		return nil, fmt.Errorf("open catalog %s: %w", file, err)
	}
	read, err := sql.Open("sqlite3", dsn(file, true))
	if err != nil {
		return nil, fmt.Errorf("open catalog %s: %w", file, err)
	}
	return sqlstore.Attach(sqlstore.Pools{Path: file, Read: read}, Dialect{}, catalog.Options{ReadOnly: true}), nil
}

// createPrivate creates a new catalog file readable and writable by its
// owner only (0600, less whatever the umask removes). The catalog holds
// private images' manifests and configs; SQLite would create it 0644, and
// gives its -wal and -shm files the main file's permissions, so creating
// the file first covers all three. An existing file keeps its mode: its
// owner chose it.
func createPrivate(file string) error {
	f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE|os.O_EXCL|syscall.O_CLOEXEC, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.Close()
}

// pageSize is a new catalog's page size. SQLite's default, 4 KiB, splits
// the catalog's typical row, a 2-3 KiB config or an image with its
// manifest and metadata, across pages and leaves the rest of them empty;
// with 16 KiB pages a cold import wrote a quarter fewer bytes and spent less
// CPU writing and checkpointing its WAL (README, Benchmarks). An existing
// catalog keeps the page size it has: changing it needs a VACUUM.
const pageSize = 16 << 10

// setPageSizeIfEmpty gives an empty file (new, or created empty by its
// owner) its page size. It must come before anything else: once a file is
// in WAL mode (the writer's first connection puts it there) its page size
// is fixed. A file of 0 bytes holds nothing: SQLite writes a WAL-mode
// file's first page to the file itself, and drops a WAL found beside an
// empty file.
func setPageSizeIfEmpty(ctx context.Context, file string) error {
	if info, err := os.Stat(file); err != nil || info.Size() != 0 {
		return err
	}
	db, err := sql.Open("sqlite3", "file:"+(&url.URL{Path: file}).EscapedPath())
	if err != nil {
		return err
	}
	defer db.Close()
	// journal_mode writes the file's header, and with it the page size.
	for _, q := range []string{fmt.Sprintf(`PRAGMA page_size = %d`, pageSize), `PRAGMA journal_mode = WAL`} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("set page size: %w", err)
		}
	}
	return nil
}

// writerCacheKiB is the writer connection's page cache. Image names are
// random digests, so index inserts touch pages all over the file, and a
// cache smaller than the catalog's indexes costs the writer reads. But the
// cache fills up to its size as the catalog grows, and it was most of what
// made an import's peak memory grow with its tag count: with 16 MiB, 81 MiB
// at 500 tags and 102 at 5,000. 6 MiB about holds a 500-tag catalog whole;
// measured on 12,000 images, the writer's CPU was 6% above 16 MiB's (4 MiB:
// 19%).
const writerCacheKiB = 6 << 10

func dsn(file string, readOnly bool) string {
	q := url.Values{}
	q.Set("_busy_timeout", "10000")
	q.Set("_foreign_keys", "on")
	if readOnly {
		q.Set("mode", "ro")
	} else {
		q.Set("_journal_mode", "WAL")
		q.Set("_synchronous", "NORMAL")
		q.Set("_txlock", "immediate")
		q.Set("_cache_size", fmt.Sprint(-writerCacheKiB))
	}
	return "file:" + (&url.URL{Path: file}).EscapedPath() + "?" + q.Encode()
}
