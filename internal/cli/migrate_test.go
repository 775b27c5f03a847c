package cli

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/regimport/regimport/catalog/catalogdb"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/catalog/catalogtest"
	"github.com/regimport/regimport/internal/dbtest"
	"github.com/regimport/regimport/internal/sigtest"
	"github.com/regimport/regimport/internal/testregistry"
	"github.com/regimport/regimport/report"
)

// richCatalog writes a catalog with the real importer against the
// in-process registry: several runs; images, lists (an OCI index) and
// their platforms; signatures with verdicts per repository (accepted,
// unevaluated, then rejected by verify); an image stream (import -f); a
// failure; a tag removed upstream.
func richCatalog(t *testing.T, db string) {
	t.Helper()
	ctx := context.Background()
	reg, s := sharedRegistry(t)
	for i, f := range []testregistry.Format{testregistry.Schema2, testregistry.OCI, testregistry.OCIIndex} {
		if _, err := reg.Push(ctx, testregistry.ImageSpec{Repository: "team/app", Tags: []string{fmt.Sprintf("v%d", i)}, Format: f, Seed: int64(i + 1)}); err != nil {
			t.Fatal(err)
		}
	}
	repo := func(name string) string { return reg.Host() + "/" + name }
	doc := filepath.Join(t.TempDir(), "mirror.yaml")
	os.WriteFile(doc, []byte(fmt.Sprintf(`apiVersion: image.openshift.io/v1
kind: ImageStreamImport
metadata: {namespace: team, name: app}
spec:
  import: true
  repository:
    from: {kind: DockerImage, name: %s}
    importPolicy: {insecure: true}
`, repo("team/app"))), 0o644)
	importArgs := func(args ...string) []string {
		return append([]string{"import", "--db", db, "--tls-verify=false", "--progress", "never",
			"--policy", s.Policy, "--registries.d", s.RegistriesD}, args...)
	}
	for _, step := range []struct {
		args []string
		want int
	}{
		{[]string{"import", "-f", doc, "--db", db}, ExitOK},
		{[]string{"import", "--db", db, "--tls-verify=false", "--progress", "never", "--all-tags", repo("team/app")}, ExitOK},
		{importArgs("--all-tags", repo(sigtest.SharedSeed), repo(sigtest.SharedCosign)), ExitOK},
		{importArgs(repo(sigtest.SharedGPG)+":v1", repo(sigtest.SharedBroken)+":v1", repo("team/app")+":nope"), ExitPartial},
	} {
		if code, out, errOut := runCLI(t, step.args...); code != step.want {
			t.Fatalf("%v: exit %d, want %d\n%s%s", step.args, code, step.want, out, errOut)
		}
	}
	if err := reg.DeleteTag(ctx, "team/app", "v1"); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI(t, "import", "--db", db, "--tls-verify=false", "--progress", "never", "--all-tags", repo("team/app")); code != ExitOK || !strings.Contains(out, "1 removed") {
		t.Fatalf("the run that sees v1 gone: exit %d\n%s%s", code, out, errOut)
	}
	strict := filepath.Join(t.TempDir(), "strict.json")
	writePolicy(t, strict, `{"default":[{"type":"insecureAcceptAnything"}],"transports":{"docker":{"`+repo(sigtest.SharedGPG)+`":[{"type":"reject"}]}}}`)
	if code, out, errOut := runCLI(t, "verify", "--db", db, "--policy", strict); code != ExitRejected {
		t.Fatalf("verify: exit %d\n%s%s", code, out, errOut)
	}
}

// reportJSON renders the JSON report as `regimport report` does, with a
// fixed clock and file name, so that two catalogs holding the same data
// give the same bytes.
func reportJSON(t *testing.T, db string) []byte {
	t.Helper()
	ctx := context.Background()
	cat, err := catalogdb.Open(ctx, db, catalog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cat.Close()
	var buf bytes.Buffer
	if err := report.Write(ctx, &buf, cat, report.Options{Format: report.FormatJSON, File: "catalog",
		Now: func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) }}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func getImagesJSON(t *testing.T, db string) string {
	t.Helper()
	code, out, errOut := runCLI(t, "get", "images", "--db", db, "-o", "json")
	if code != ExitOK {
		t.Fatalf("get images on %s: exit %d %s", catalog.RedactDB(db), code, errOut)
	}
	return out
}

// Growing from a file to a server and back: SQLite -> PostgreSQL -> SQLite
// loses nothing. Every row of every table of the first and the last file
// is the same, and the three catalogs give the same report and the same
// `get images`.
func TestMigrateCopiesACatalogToPostgreSQLAndBack(t *testing.T) {
	dir := t.TempDir()
	first, last := filepath.Join(dir, "first.db"), filepath.Join(dir, "last.db")
	pg := dbtest.NewPostgres(t)
	richCatalog(t, first)

	code, out, errOut := runCLI(t, "migrate", "--from", first, "--to", pg)
	if code != ExitOK {
		t.Fatalf("migrate --from SQLite --to PostgreSQL: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"copied " + first + " to " + catalog.RedactDB(pg), "images ", "signatures ", "image_streams ", "total "} {
		if !strings.Contains(out, want) {
			t.Errorf("the summary lacks %q:\n%s", want, out)
		}
	}
	if code, out, errOut := runCLI(t, "migrate", "--from", pg, "--to", last); code != ExitOK {
		t.Fatalf("migrate --from PostgreSQL --to SQLite: exit %d\n%s%s", code, out, errOut)
	}

	a, b := dbtest.Dump(t, first, "schema_migrations.applied_at"), dbtest.Dump(t, last, "schema_migrations.applied_at")
	// The scenario is rich: every table the issue names has rows.
	for _, table := range []string{"images", "image_manifests", "image_layers", "configs", "tags", "tag_events", "signatures",
		"image_verdicts", "verdict_history", "image_streams", "image_stream_tag_events", "image_stream_spec_tags",
		"import_runs", "import_failures", "changes", "repositories", "schema_migrations", "sqlite_sequence"} {
		if len(a[table]) == 0 {
			t.Errorf("the scenario has no rows in %s", table)
		}
	}
	if !strings.Contains(strings.Join(a["tag_events"], "\n"), "event='removed'") {
		t.Errorf("the scenario has no removed tag")
	}
	if d := dbtest.Diff(a, b, 5); len(d) > 0 {
		t.Errorf("after SQLite -> PostgreSQL -> SQLite the catalogs differ:\n%s", strings.Join(d, "\n"))
	}

	want := reportJSON(t, first)
	for _, db := range []string{pg, last} {
		if got := reportJSON(t, db); !bytes.Equal(got, want) {
			t.Errorf("the report of %s differs from the first catalog's (%d vs %d bytes)", catalog.RedactDB(db), len(got), len(want))
		}
	}
	images := getImagesJSON(t, first)
	if !strings.Contains(images, `"kind": "ImageList"`) && !strings.Contains(images, `"kind":"ImageList"`) {
		t.Fatalf("get images -o json: %.200s", images)
	}
	for _, db := range []string{pg, last} {
		if got := getImagesJSON(t, db); got != images {
			t.Errorf("get images -o json on %s differs from the first catalog's", catalog.RedactDB(db))
		}
	}

	// Imports go on from where the source stopped: a new change's
	// resourceVersion is above every copied one.
	ctx := context.Background()
	for _, db := range []string{pg, last} {
		cat, err := catalogdb.Open(ctx, db, catalog.Options{})
		if err != nil {
			t.Fatal(err)
		}
		copied, err := cat.ResourceVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		cat.Close()
		reg, err := testregistry.Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer reg.Close()
		if _, err := reg.Push(ctx, testregistry.ImageSpec{Repository: "team/new", Tags: []string{"v1"}, Format: testregistry.OCI, Seed: 99}); err != nil {
			t.Fatal(err)
		}
		if code, out, errOut := runCLI(t, "import", "--db", db, "--tls-verify=false", "--progress", "never", reg.Host()+"/team/new:v1"); code != ExitOK {
			t.Fatalf("import after the copy: exit %d\n%s%s", code, out, errOut)
		}
		code, out, _ := runCLI(t, "get", "images", "--db", db, "-o", "json")
		if code != ExitOK || !strings.Contains(out, fmt.Sprintf(`"resourceVersion": "%d"`, copied+1)) {
			t.Errorf("%s: after the copy (newest resourceVersion %d) the next image does not have %d", catalog.RedactDB(db), copied, copied+1)
		}
	}
}

func TestMigrateCopyRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src.db")
	serveTestCatalog(t, src, 0, 3)

	// A destination with data, of either backend: exit 2, unchanged.
	full := filepath.Join(dir, "full.db")
	serveTestCatalog(t, full, 10, 11)
	fullPG := dbtest.NewPostgres(t)
	serveTestCatalog(t, fullPG, 10, 11)
	for _, dst := range []string{full, fullPG} {
		before := dbtest.Dump(t, dst)
		code, _, errOut := runCLI(t, "migrate", "--from", src, "--to", dst)
		if code != ExitUsage || !strings.Contains(errOut, "not empty") || !strings.Contains(errOut, "images") {
			t.Errorf("copy into a full %s: exit %d, %s", catalog.RedactDB(dst), code, errOut)
		}
		if d := dbtest.Diff(before, dbtest.Dump(t, dst), 3); len(d) > 0 {
			t.Errorf("the refused destination changed:\n%s", strings.Join(d, "\n"))
		}
	}

	// An older destination with data is refused before it is migrated.
	older := filepath.Join(dir, "older.db")
	serveTestCatalog(t, older, 20, 21)
	if err := catalogtest.RewindTo0003(context.Background(), older); err != nil {
		t.Fatal(err)
	}
	olderBytes, _ := os.ReadFile(older)
	if code, _, errOut := runCLI(t, "migrate", "--from", src, "--to", older); code != ExitUsage || !strings.Contains(errOut, "not empty") {
		t.Errorf("copy into an older full catalog: exit %d, %s", code, errOut)
	}
	if now, _ := os.ReadFile(older); !bytes.Equal(now, olderBytes) {
		t.Errorf("the refused older destination was rewritten")
	}
	// An older source: exit 2, saying how to bring it up; after
	// `migrate --db` (schema upgrade in place, as before) it copies.
	fresh := filepath.Join(dir, "fresh.db")
	if code, _, errOut := runCLI(t, "migrate", "--from", older, "--to", fresh); code != ExitUsage ||
		!strings.Contains(errOut, "regimport migrate --db "+older) {
		t.Errorf("copy from an older catalog: exit %d, %s", code, errOut)
	}
	if _, err := os.Stat(fresh); err == nil {
		t.Errorf("a refused copy created %s", fresh)
	}
	if code, out, errOut := runCLI(t, "migrate", "--db", older); code != ExitOK || !strings.Contains(out, fmt.Sprintf("schema version %d", catalogdb.SchemaVersion())) {
		t.Fatalf("migrate --db: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := runCLI(t, "migrate", "--from", older, "--to", fresh); code != ExitOK || !strings.Contains(out, "images ") {
		t.Errorf("copy from the migrated catalog: exit %d\n%s%s", code, out, errOut)
	}

	// A source row the destination refuses (a layer of no image, written
	// with foreign keys off): exit 1, and the file the copy created is
	// removed again.
	broken := filepath.Join(dir, "broken.db")
	serveTestCatalog(t, broken, 30, 32)
	raw, err := sql.Open("sqlite3", broken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO image_layers (image_name, position, digest, size, media_type) VALUES ('sha256:none', 0, 'sha256:x', 1, 'x')`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	created := filepath.Join(dir, "created.db")
	if code, _, errOut := runCLI(t, "migrate", "--from", broken, "--to", created); code != ExitFatal || !strings.Contains(errOut, "FOREIGN KEY") {
		t.Errorf("copy of a row the destination refuses: exit %d, %s", code, errOut)
	}
	if _, err := os.Stat(created); err == nil {
		t.Errorf("the failed copy left %s behind", created)
	}

	// The destination's run lock is held: exit 5.
	locked := filepath.Join(dir, "locked.db")
	lock, err := catalogdb.LockRuns(locked, "test", catalog.Shard{})
	if err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCLI(t, "migrate", "--from", src, "--to", locked); code != ExitLocked {
		t.Errorf("copy into a locked catalog: exit %d, %s", code, errOut)
	}
	lock.Unlock()

	notCatalog := filepath.Join(dir, "notes.txt")
	os.WriteFile(notCatalog, []byte("not a database"), 0o644)
	const secret = "s3cr3t-pw"
	for name, c := range map[string]struct {
		args []string
		code int
		want string
	}{
		"missing source":     {[]string{"--from", filepath.Join(dir, "nope.db"), "--to", filepath.Join(dir, "x.db")}, ExitUsage, "no such file"},
		"source not a db":    {[]string{"--from", notCatalog, "--to", filepath.Join(dir, "x.db")}, ExitUsage, "not a regimport catalog"},
		"same catalog":       {[]string{"--from", src, "--to", dir + "/./src.db"}, ExitUsage, "both name"},
		"from without to":    {[]string{"--from", src}, ExitUsage, "go together"},
		"db with from/to":    {[]string{"--db", src, "--from", src, "--to", filepath.Join(dir, "x.db")}, ExitUsage, "one or the other"},
		"unreachable":        {[]string{"--from", src, "--to", "postgres://regimport:" + secret + "@127.0.0.1:1/catalog"}, ExitFatal, "127.0.0.1:1"},
		"unparsable URL":     {[]string{"--from", src, "--to", "postgres://regimport:" + secret + "@127.0.0.1:port/catalog"}, ExitFatal, "--to"},
		"unreachable source": {[]string{"--from", "postgres://regimport:" + secret + "@127.0.0.1:1/catalog", "--to", filepath.Join(dir, "x.db")}, ExitFatal, "--from"},
	} {
		args := append([]string{"migrate"}, c.args...)
		code, out, errOut := runCLI(t, args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%s: exit %d (want %d), stderr %q lacks %q", name, code, c.code, errOut, c.want)
		}
		if strings.Contains(out+errOut, secret) {
			t.Errorf("%s: the password is printed: %s%s", name, out, errOut)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.db")); err == nil {
		t.Errorf("a refused or failed copy left x.db behind")
	}
}
