package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	_ "github.com/mattn/go-sqlite3" // database/sql driver "sqlite3", to count a catalog's rows
	"github.com/regimport/regimport/internal/testregistry"
)

func numCPU() int { return runtime.NumCPU() }

// runImport runs one measured `regimport import --catalog` of reg into db.
func runImport(ctx context.Context, c config, reg *testregistry.Registry, db string, extra ...string) (measuredRun, error) {
	return runImportCapture(ctx, c, reg, db, io.Discard, extra...)
}

// runImportCapture runs one measured import and sends its standard output
// to stdout. The registry's request counts are reset when it starts; with
// several imports at once (shards), requests is everything they sent.
func runImportCapture(ctx context.Context, c config, reg *testregistry.Registry, db string, stdout io.Writer, extra ...string) (measuredRun, error) {
	args := append([]string{c.bin, "import", "--db", db, "--tls-verify=false", "--catalog", "--concurrency", fmt.Sprint(c.concurrency), "--per-registry", fmt.Sprint(c.concurrency), "--log-level", "error"}, extra...)
	args = append(args, reg.Host())
	reg.ResetRequests()
	r, err := runMeasured(ctx, c.client, args, stdout, nil)
	if err != nil {
		return measuredRun{}, err
	}
	counts := reg.Requests()
	return measuredRun{procRun: r, requests: counts.Total(), counts: counts}, nil
}

// checkCatalog fails unless the catalog (a SQLite file or a PostgreSQL
// URL) holds exactly the images and tags the registry was seeded with: a
// fast import that stored less is no result.
func checkCatalog(path string, images, tags int) error {
	db, err := openDB(path)
	if err != nil {
		return err
	}
	defer db.Close()
	var gotImages, gotTags int
	if err := db.QueryRow(`SELECT (SELECT count(*) FROM images), (SELECT count(*) FROM tags)`).Scan(&gotImages, &gotTags); err != nil {
		return fmt.Errorf("count the catalog %s: %w", redactURL(path), err)
	}
	if gotImages != images || gotTags != tags {
		return fmt.Errorf("the catalog %s holds %d images and %d tags, the registry %d and %d", redactURL(path), gotImages, gotTags, images, tags)
	}
	return nil
}

// seed starts a registry in this process and pushes tags mixed tags.
func seed(ctx context.Context, c config, tags int, out io.Writer) (*testregistry.Registry, []testregistry.Pushed, error) {
	reg, err := testregistry.Start(ctx)
	if err != nil {
		return nil, nil, err
	}
	start := time.Now()
	pushed, err := reg.SeedMixed(ctx, c.repos, tags)
	if err != nil {
		reg.Close()
		return nil, nil, err
	}
	images, _ := testregistry.Count(pushed)
	fmt.Fprintf(out, "seeded %d tags (%d images) over %d repositories in %s\n", tags, images, c.repos, time.Since(start).Round(time.Millisecond))
	return reg, pushed, nil
}

// perImageMs is CPU time per image in milliseconds.
func perImageMs(d time.Duration, images int) float64 {
	return float64(d.Microseconds()) / 1000 / float64(images)
}

// joinInts is "500,1000,5000".
func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ",")
}
