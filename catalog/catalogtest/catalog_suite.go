package catalogtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"github.com/regimport/regimport/catalog/internal/testimages"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/regimport/regimport/catalog/catalogdb"

	"github.com/regimport/regimport/catalog"

	digest "github.com/opencontainers/go-digest"
	imagev1 "github.com/openshift/api/image/v1"
)

// openTest opens a new catalog of the backend under test (see dbtest).
func (s Suite) open(t *testing.T) (catalog.Catalog, string) {
	t.Helper()
	path := s.NewDB(t)
	c, err := catalogdb.Open(context.Background(), path, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, path
}

// testImage and put are the records and writes the backends' own tests use.
func testImage(i int) catalog.ImageRecord { return testimages.Image(i) }

func put(t *testing.T, c catalog.Catalog, ops ...any) []catalog.Outcome {
	t.Helper()
	return testimages.Put(t, c, ops...)
}

func (s Suite) ImageRoundTripAndIdempotence(t *testing.T) {
	c, _ := s.open(t)
	ctx := context.Background()
	rec := testImage(1)
	if outs := put(t, c, rec); outs[0] != catalog.Created {
		t.Fatalf("first put: %v", outs[0])
	}
	rv1, _ := c.ResourceVersion(ctx)
	if outs := put(t, c, testImage(1)); outs[0] != catalog.Unchanged {
		t.Fatalf("second put of the same image: %v, want unchanged", outs[0])
	}
	if rv2, _ := c.ResourceVersion(ctx); rv2 != rv1 {
		t.Fatalf("resourceVersion moved from %d to %d on an unchanged put", rv1, rv2)
	}
	got, err := c.GetImage(ctx, rec.Image.Name)
	if err != nil {
		t.Fatal(err)
	}
	if got.Kind != "Image" || got.APIVersion != "image.openshift.io/v1" || got.UID == "" || got.ResourceVersion != fmt.Sprint(rv1) || got.CreationTimestamp.IsZero() {
		t.Errorf("server fields: %+v", got.ObjectMeta)
	}
	if got.DockerImageManifest != rec.Image.DockerImageManifest || got.DockerImageConfig != rec.Image.DockerImageConfig ||
		string(got.DockerImageMetadata.Raw) != string(rec.Image.DockerImageMetadata.Raw) ||
		fmt.Sprint(got.DockerImageLayers) != fmt.Sprint(rec.Image.DockerImageLayers) ||
		got.Annotations[imagev1.DockerImageLayersOrderAnnotation] != "ascending" || got.DockerImageReference != rec.Image.DockerImageReference {
		t.Errorf("round trip changed the image:\n got %+v\nwant %+v", got, rec.Image)
	}
	if _, err := c.GetImage(ctx, "sha256:"+strings.Repeat("0", 64)); !errors.Is(err, catalog.ErrNotFound) {
		t.Errorf("missing image: %v, want ErrNotFound", err)
	}
}

func (s Suite) TagsKeepHistory(t *testing.T) {
	c, _ := s.open(t)
	a, b := testImage(1), testImage(2)
	tag := func(img catalog.ImageRecord) catalog.TagRecord {
		return catalog.TagRecord{Repository: "registry.example.com/app", Tag: "v1", Image: img.Image.Name, DockerImageReference: img.Image.DockerImageReference}
	}
	outs := put(t, c, a, b, tag(a))
	if outs[2] != catalog.Created {
		t.Errorf("new tag: %v", outs[2])
	}
	if outs := put(t, c, tag(a)); outs[0] != catalog.Unchanged {
		t.Errorf("same tag again: %v", outs[0])
	}
	if outs := put(t, c, tag(b)); outs[0] != catalog.Updated {
		t.Errorf("moved tag: %v", outs[0])
	}
	var events int
	var current string
	readDB(t, c).QueryRow(`SELECT count(*) FROM tag_events`).Scan(&events)
	readDB(t, c).QueryRow(`SELECT image_name FROM tags`).Scan(&current)
	if events != 2 || current != b.Image.Name {
		t.Errorf("history has %d events (want 2), tag points to %s (want %s)", events, current, b.Image.Name)
	}
}

func (s Suite) BadRecordRollsBackAlone(t *testing.T) {
	c, _ := s.open(t)
	ctx := context.Background()
	w, _ := c.NewWriter(ctx, catalog.WriterOptions{})
	good := testImage(1)
	bad := catalog.TagRecord{Repository: "r", Tag: "t", Image: "sha256:" + strings.Repeat("a", 64)} // no such image: foreign key
	var goodErr, badErr error
	var wg sync.WaitGroup
	wg.Add(2)
	w.PutImage(ctx, good, func(_ catalog.Outcome, err error) { goodErr = err; wg.Done() })
	w.PutTag(ctx, bad, func(_ catalog.Outcome, err error) { badErr = err; wg.Done() })
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if goodErr != nil || badErr == nil {
		t.Fatalf("good: %v, bad: %v; want only the bad one to fail", goodErr, badErr)
	}
	if ok, _ := c.HasImage(ctx, good.Image.Name); !ok {
		t.Error("the good image of the batch was lost")
	}
}

func (s Suite) ListPagesWalkEverythingOnce(t *testing.T) {
	c, _ := s.open(t)
	ctx := context.Background()
	var ops []any
	for i := range 25 {
		ops = append(ops, testImage(i))
	}
	put(t, c, ops...)
	seen := map[string]int{}
	after := ""
	pages := 0
	for {
		p, err := c.ListImages(ctx, catalog.ListOptions{After: after, Limit: 7})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, img := range p.Items {
			seen[img.Name]++
			if len(img.DockerImageLayers) != 2 || img.DockerImageConfig == "" {
				t.Fatalf("%s listed without layers or config", img.Name)
			}
		}
		// A writer adding images mid-walk must not make the walk repeat or skip old ones.
		if pages == 2 {
			put(t, c, testImage(100+pages))
		}
		if p.Remaining == 0 {
			break
		}
		after = p.Items[len(p.Items)-1].Name
	}
	for i := range 25 {
		if seen[testImage(i).Image.Name] != 1 {
			t.Errorf("image %d seen %d times", i, seen[testImage(i).Image.Name])
		}
	}
}

func (s Suite) OpenRefusesWhatIsNotACatalog(t *testing.T) {
	s.sqliteOnly(t, "files that are not SQLite catalogs")
	ctx := context.Background()
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	os.WriteFile(text, []byte("hello, this is not sqlite at all, just some text that is long enough"), 0o644)
	if _, err := catalogdb.Open(ctx, text, catalog.Options{ReadOnly: true}); !errors.Is(err, catalog.ErrNotCatalog) {
		t.Errorf("text file: %v, want ErrNotCatalog", err)
	}
	other := filepath.Join(dir, "other.db")
	db, _ := sql.Open("sqlite3", other)
	db.Exec(`CREATE TABLE t (x)`)
	db.Close()
	if _, err := catalogdb.Open(ctx, other, catalog.Options{}); !errors.Is(err, catalog.ErrNotCatalog) {
		t.Errorf("foreign SQLite file: %v, want ErrNotCatalog", err)
	}
	if _, err := catalogdb.Open(ctx, filepath.Join(dir, "missing.db"), catalog.Options{ReadOnly: true}); err == nil {
		t.Error("read-only open of a missing file succeeded")
	}

	c, path := s.open(t)
	c.Close()
	db, _ = sql.Open("sqlite3", path)
	db.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', '2030-01-01T00:00:00Z')`)
	db.Close()
	if _, err := catalogdb.Open(ctx, path, catalog.Options{}); !errors.Is(err, catalog.ErrTooNew) {
		t.Errorf("newer schema: %v, want ErrTooNew", err)
	}
}

// A catalog a newer regimport migrated is refused, for writing and for
// reading, rather than misread.
func (s Suite) OpenRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	c, db := s.open(t)
	if _, err := writeDB(t, c).Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', '2030-01-01T00:00:00Z')`); err != nil {
		t.Fatal(err)
	}
	c.Close()
	for _, ro := range []bool{false, true} {
		if _, err := catalogdb.Open(ctx, db, catalog.Options{ReadOnly: ro}); !errors.Is(err, catalog.ErrTooNew) {
			t.Errorf("newer schema, read-only %v: %v, want ErrTooNew", ro, err)
		}
	}
}

func (s Suite) ChangesFeedResourceVersions(t *testing.T) {
	c, _ := s.open(t)
	ctx := context.Background()
	put(t, c, testImage(1), testImage(2))
	chs, err := c.Changes(ctx, "images", 0, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(chs) != 2 || chs[0].Event != "ADDED" || chs[1].ResourceVersion <= chs[0].ResourceVersion {
		t.Fatalf("changes %+v", chs)
	}
	rest, _ := c.Changes(ctx, "images", chs[0].ResourceVersion, 10)
	if len(rest) != 1 || rest[0].Name != chs[1].Name {
		t.Fatalf("changes after %d: %+v", chs[0].ResourceVersion, rest)
	}
}

// The read pool cannot write, on either backend: serve, get, runs and
// report open catalogs read-only, and a bug there must not change one.
func (s Suite) ReadConnectionsCannotWrite(t *testing.T) {
	c, _ := s.open(t)
	if _, err := readDB(t, c).Exec(`INSERT INTO repositories (name) VALUES ('example.com/sneaky')`); err == nil {
		t.Fatal("an insert through the read pool succeeded")
	}
	var n int
	if err := readDB(t, c).QueryRow(`SELECT count(*) FROM repositories`).Scan(&n); err != nil || n != 0 {
		t.Errorf("repositories: %d, %v", n, err)
	}
}

// A second run on one catalog is refused at once, and told who holds it.
func (s Suite) RunLockNamesItsHolder(t *testing.T) {
	_, db := s.open(t)
	first, err := catalogdb.LockRuns(db, "regimport import first", catalog.Shard{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = catalogdb.LockRuns(db, "regimport import second", catalog.Shard{})
	if !errors.Is(err, catalog.ErrLocked) || !strings.Contains(err.Error(), fmt.Sprintf("pid %d", os.Getpid())) {
		t.Fatalf("second lock: %v, want ErrLocked naming pid %d", err, os.Getpid())
	}
	if err := first.Unlock(); err != nil {
		t.Fatal(err)
	}
	again, err := catalogdb.LockRuns(db, "regimport import third", catalog.Shard{})
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	if _, err := catalogdb.LockRuns(db, "shard", catalog.Shard{Index: 0, Count: 2}); !errors.Is(err, catalog.ErrLocked) {
		t.Errorf("a shard while an unsharded run holds the lock: %v", err)
	}
	again.Unlock()

	// Shards hold it together; a second copy of one is refused, and so is
	// an unsharded run while any shard runs.
	s0, err := catalogdb.LockRuns(db, "shard 0", catalog.Shard{Index: 0, Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	s1, err := catalogdb.LockRuns(db, "shard 1", catalog.Shard{Index: 1, Count: 2})
	if err != nil {
		t.Fatalf("two different shards: %v", err)
	}
	if _, err := catalogdb.LockRuns(db, "shard 0 again", catalog.Shard{Index: 0, Count: 2}); !errors.Is(err, catalog.ErrLocked) {
		t.Errorf("a second copy of shard 0: %v", err)
	}
	s0.Unlock()
	if _, err := catalogdb.LockRuns(db, "unsharded", catalog.Shard{}); !errors.Is(err, catalog.ErrLocked) {
		t.Errorf("an unsharded run while shard 1 runs: %v", err)
	}
	s1.Unlock()
	all, err := catalogdb.LockRuns(db, "unsharded", catalog.Shard{})
	if err != nil {
		t.Fatalf("after the shards: %v", err)
	}
	all.Unlock()
}

// ManyLayersAndListEntriesKeepTheirOrder stores an image with more layers,
// and a list with more entries, than one INSERT takes on either backend
// (ChildRowsPerInsert), and reads them back whole and in order.
func (s Suite) ManyLayersAndListEntriesKeepTheirOrder(t *testing.T) {
	c, _ := s.open(t)
	ctx := context.Background()
	const n = 70 // more than two of PostgreSQL's 32-row statements
	img := testImage(1)
	img.Image.DockerImageLayers = nil
	for i := range n {
		img.Image.DockerImageLayers = append(img.Image.DockerImageLayers, imagev1.ImageLayer{
			Name: digest.FromString(fmt.Sprint("layer", i)).String(), LayerSize: int64(1000 + i), MediaType: "application/vnd.oci.image.layer.v1.tar+gzip"})
	}
	list := testImage(2)
	list.Image.DockerImageLayers, list.Image.DockerImageConfig, list.ConfigMediaType = nil, "", ""
	list.Image.DockerImageManifestMediaType = "application/vnd.oci.image.index.v1+json"
	for i := range n {
		list.Image.DockerImageManifests = append(list.Image.DockerImageManifests, imagev1.ImageManifest{
			Digest: digest.FromString(fmt.Sprint("child", i)).String(), MediaType: "application/vnd.oci.image.manifest.v1+json",
			ManifestSize: int64(500 + i), Architecture: fmt.Sprint("arch", i), OS: "linux", Variant: fmt.Sprint("v", i%3)})
	}
	put(t, c, img, list)
	got, err := c.GetImage(ctx, img.Image.Name)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got.DockerImageLayers) != fmt.Sprint(img.Image.DockerImageLayers) {
		t.Errorf("%d layers read back, want the %d stored in order:\n got %v\nwant %v", len(got.DockerImageLayers), n, got.DockerImageLayers, img.Image.DockerImageLayers)
	}
	gotList, err := c.GetImage(ctx, list.Image.Name)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(gotList.DockerImageManifests) != fmt.Sprint(list.Image.DockerImageManifests) {
		t.Errorf("%d list entries read back, want the %d stored in order:\n got %v\nwant %v", len(gotList.DockerImageManifests), n, gotList.DockerImageManifests, list.Image.DockerImageManifests)
	}
}

// AConfigIsStoredUnderItsDigest: a record's config goes under the digest
// its caller gives (one it checked the config against), or else under the
// config's own sha256; a given digest that is not a sha256 digest, or
// that comes without a config, fails the record and stores nothing.
func (s Suite) AConfigIsStoredUnderItsDigest(t *testing.T) {
	c, _ := s.open(t)
	ctx := context.Background()
	given, hashed := testImage(1), testImage(2)
	given.ConfigDigest = digest.FromString(given.Image.DockerImageConfig).String()
	put(t, c, given, hashed)
	for _, rec := range []catalog.ImageRecord{given, hashed} {
		d := digest.FromString(rec.Image.DockerImageConfig).String()
		if got, err := c.Config(ctx, d); err != nil || string(got) != rec.Image.DockerImageConfig {
			t.Errorf("config of %s under %s: %q, %v; want the config", rec.Image.Name, d, got, err)
		}
	}
	for name, bad := range map[string]func(*catalog.ImageRecord){
		"sha512": func(r *catalog.ImageRecord) {
			r.ConfigDigest = digest.SHA512.FromString(r.Image.DockerImageConfig).String()
		},
		"not a digest": func(r *catalog.ImageRecord) { r.ConfigDigest = "sha256:beef" },
		"no config": func(r *catalog.ImageRecord) {
			r.Image.DockerImageConfig, r.ConfigDigest = "", digest.FromString("x").String()
		},
	} {
		rec := testImage(3)
		bad(&rec)
		_, errs := testimages.PutEach(t, c, catalog.WriterOptions{}, rec)
		if errs[0] == nil || !strings.Contains(errs[0].Error(), "config digest") {
			t.Errorf("%s: put gave %v, want a config digest error", name, errs[0])
		}
		if ok, err := c.HasImage(ctx, rec.Image.Name); err != nil || ok {
			t.Errorf("%s: the image was stored (%v, %v)", name, ok, err)
		}
	}
}
