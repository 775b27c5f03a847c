package catalogtest

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/regimport/regimport/catalog/catalogdb"

	"github.com/regimport/regimport/catalog"

	digest "github.com/opencontainers/go-digest"
	imagev1 "github.com/openshift/api/image/v1"
	corev1 "k8s.io/api/core/v1"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func (s Suite) openClocked(t *testing.T) (catalog.Catalog, string, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	path := s.NewDB(t)
	c, err := catalogdb.Open(context.Background(), path, catalog.Options{Now: clk.now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, path, clk
}

// write runs fn with a fresh Writer of run runID and closes it.
func write(t *testing.T, c catalog.Catalog, runID int64, fn func(w catalog.Writer)) {
	t.Helper()
	w, err := c.NewWriter(context.Background(), catalog.WriterOptions{RunID: runID})
	if err != nil {
		t.Fatal(err)
	}
	fn(w)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func removeTags(t *testing.T, c catalog.Catalog, runID int64, rec catalog.TagRemoval) []catalog.RemovedTag {
	t.Helper()
	var got []catalog.RemovedTag
	var gotErr error
	write(t, c, runID, func(w catalog.Writer) {
		if err := w.RemoveTags(context.Background(), rec, func(r []catalog.RemovedTag, err error) { got, gotErr = r, err }); err != nil {
			t.Fatal(err)
		}
	})
	if gotErr != nil {
		t.Fatal(gotErr)
	}
	return got
}

type eventRow struct {
	tag, image, event, reason string
	run                       sql.NullInt64
}

func events(t *testing.T, c catalog.Catalog) []eventRow {
	t.Helper()
	rows, err := readDB(t, c).Query(`SELECT tag, image_name, event, coalesce(reason, ''), run_id FROM tag_events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []eventRow
	for rows.Next() {
		var e eventRow
		if err := rows.Scan(&e.tag, &e.image, &e.event, &e.reason, &e.run); err != nil {
			t.Fatal(err)
		}
		out = append(out, e)
	}
	return out
}

const repo = "registry.example.com/app"

func tagOf(tag string, img catalog.ImageRecord) catalog.TagRecord {
	return catalog.TagRecord{Repository: repo, Tag: tag, Image: img.Image.Name, DockerImageReference: repo + "@" + img.Image.Name}
}

func (s Suite) RemovedTagLeavesCurrentTagsKeepsHistoryAndComesBackAdded(t *testing.T) {
	c, _, _ := s.openClocked(t)
	ctx := context.Background()
	a, b := testImage(1), testImage(2)
	put(t, c, a, b, tagOf("v1", a), tagOf("v2", b))
	run, err := c.BeginRun(ctx, "test", catalog.Shard{})
	if err != nil {
		t.Fatal(err)
	}
	got := removeTags(t, c, run, catalog.TagRemoval{Repository: repo, Tags: []string{"v1", "never-seen"}, Reason: catalog.ReasonNotListed})
	if len(got) != 1 || got[0].Tag != "v1" || got[0].Previous != a.Image.Name {
		t.Fatalf("removed %+v, want v1 (was %s) only", got, a.Image.Name)
	}
	cur, err := c.CurrentTags(ctx, repo)
	if err != nil || len(cur) != 1 || cur["v2"] != b.Image.Name {
		t.Fatalf("current tags %v %v, want v2 only", cur, err)
	}
	if img, err := c.TagImage(ctx, repo, "v1"); err != nil || img != "" {
		t.Errorf("TagImage of a removed tag: %q %v", img, err)
	}
	if ok, _ := c.HasImage(ctx, a.Image.Name); !ok {
		t.Error("the image of the removed tag was deleted; a run never deletes images")
	}
	ev := events(t, c)
	last := ev[len(ev)-1]
	if last.tag != "v1" || last.event != "removed" || last.image != a.Image.Name || last.reason != catalog.ReasonNotListed || last.run.Int64 != run {
		t.Errorf("removal event %+v, want v1 removed from %s in run %d", last, a.Image.Name, run)
	}
	// Removing again changes nothing.
	if again := removeTags(t, c, run, catalog.TagRemoval{Repository: repo, Tags: []string{"v1"}}); len(again) != 0 {
		t.Errorf("second removal removed %v", again)
	}
	// The tag comes back: an "added" event, not a move.
	if outs := put(t, c, tagOf("v1", a)); outs[0] != catalog.Created {
		t.Errorf("returning tag: %v, want created", outs[0])
	}
	ev = events(t, c)
	kinds := []string{}
	for _, e := range ev {
		if e.tag == "v1" {
			kinds = append(kinds, e.event)
		}
	}
	if strings.Join(kinds, ",") != "added,removed,added" {
		t.Errorf("v1 history %v, want added,removed,added", kinds)
	}
}

func (s Suite) RemoveRepositoryMarksItAndItsTags(t *testing.T) {
	c, _, _ := s.openClocked(t)
	ctx := context.Background()
	a := testImage(1)
	put(t, c, a, tagOf("v1", a), tagOf("v2", a))
	var got []catalog.RemovedTag
	write(t, c, 0, func(w catalog.Writer) {
		w.RemoveRepository(ctx, repo, nil, func(r []catalog.RemovedTag, err error) {
			if err != nil {
				t.Error(err)
			}
			got = r
		})
	})
	if len(got) != 2 {
		t.Fatalf("removed %v, want v1 and v2", got)
	}
	if known, _ := c.KnownRepositories(ctx, "registry.example.com/"); len(known) != 0 {
		t.Errorf("a removed repository is still known: %v", known)
	}
	for _, e := range events(t, c)[2:] {
		if e.event != "removed" || e.reason != catalog.ReasonRepositoryRemoved {
			t.Errorf("event %+v, want removed with the repository reason", e)
		}
	}
	put(t, c, tagOf("v1", a))
	if known, _ := c.KnownRepositories(ctx, "registry.example.com/"); len(known) != 1 {
		t.Errorf("a repository whose tag came back is not known again: %v", known)
	}
}

func (s Suite) RemovalMarksStreamsTrackingTheTag(t *testing.T) {
	c, _, _ := s.openClocked(t)
	ctx := context.Background()
	a := testImage(1)
	put(t, c, a, tagOf("v1", a))
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	putStream(t, c, "ns", "tracking", func(*imagev1.ImageStream) (*imagev1.ImageStream, error) {
		return streamWith("ns", "tracking", 1, a.Image.Name, at), nil
	})
	other := testImage(2)
	put(t, c, other)
	putStream(t, c, "ns", "other", func(*imagev1.ImageStream) (*imagev1.ImageStream, error) {
		is := streamWith("ns", "other", 1, other.Image.Name, at)
		is.Spec.Tags[0].From.Name = "registry.example.com/web:v1" // another repository
		return is, nil
	})
	before, _ := c.GetImageStream(ctx, "ns", "other")
	var calls []string
	removeTags(t, c, 0, catalog.TagRemoval{Repository: repo, Tags: []string{"v1"}, MarkStream: func(is *imagev1.ImageStream, r, tag, prev string) *imagev1.ImageStream {
		calls = append(calls, is.Name+" "+r+":"+tag+" "+prev)
		is.Status.Tags[1].Conditions = []imagev1.TagEventCondition{{Type: imagev1.ImportSuccess, Status: corev1.ConditionFalse, Reason: "NotFound", Generation: 1}}
		return is
	}})
	if len(calls) == 0 || calls[len(calls)-1] != "tracking "+repo+":v1 "+a.Image.Name {
		t.Fatalf("marker calls %v, want the tracking stream with the previous digest", calls)
	}
	is, _ := c.GetImageStream(ctx, "ns", "tracking")
	if len(is.Status.Tags[1].Conditions) != 1 || is.Status.Tags[1].Conditions[0].Reason != "NotFound" {
		t.Errorf("tracking stream not marked: %+v", is.Status.Tags)
	}
	if after, _ := c.GetImageStream(ctx, "ns", "other"); after.ResourceVersion != before.ResourceVersion {
		t.Errorf("a stream that does not track the tag changed: %s -> %s", before.ResourceVersion, after.ResourceVersion)
	}
}

func (s Suite) UnreferencedSinceAndPrune(t *testing.T) {
	c, _, clk := s.openClocked(t)
	ctx := context.Background()
	a, b, loose := testImage(1), testImage(2), testImage(3)
	put(t, c, a, b, tagOf("v1", a), tagOf("v2", b))
	clk.add(time.Hour)
	put(t, c, loose) // never tagged: unreferenced since it was stored
	clk.add(time.Hour)
	put(t, c, tagOf("v1", b)) // a loses its last tag now
	movedAt := clk.now()
	un, err := c.UnreferencedImages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	since := map[string]time.Time{}
	for _, u := range un {
		since[u.Digest] = u.Since
	}
	if len(un) != 2 || !since[a.Image.Name].Equal(movedAt) || !since[loose.Image.Name].Equal(movedAt.Add(-time.Hour)) {
		t.Fatalf("unreferenced %+v, want a since %s and loose since %s", un, movedAt, movedAt.Add(-time.Hour))
	}
	clk.add(30 * time.Minute)
	rvBefore, _ := c.ResourceVersion(ctx)
	var pruned []catalog.UnreferencedImage
	write(t, c, 0, func(w catalog.Writer) {
		w.Prune(ctx, clk.now().Add(-time.Hour), func(p []catalog.UnreferencedImage, err error) {
			if err != nil {
				t.Error(err)
			}
			pruned = p
		})
	})
	if len(pruned) != 1 || pruned[0].Digest != loose.Image.Name {
		t.Fatalf("pruned %+v, want only the image unreferenced for more than an hour", pruned)
	}
	if ok, _ := c.HasImage(ctx, loose.Image.Name); ok {
		t.Error("pruned image still stored")
	}
	if ok, _ := c.HasImage(ctx, a.Image.Name); !ok {
		t.Error("an image unreferenced for 30 minutes was pruned")
	}
	if _, err := c.Config(ctx, digestOfConfig(loose)); err == nil {
		t.Error("the pruned image's config, used by no other image, was kept")
	}
	changes, _ := c.Changes(ctx, "images", rvBefore, 10)
	if len(changes) != 1 || changes[0].Event != "DELETED" || changes[0].Name != loose.Image.Name {
		t.Errorf("changes after prune %+v, want one DELETED", changes)
	}
	if len(events(t, c)) != 3 {
		t.Error("prune touched tag history")
	}
}

// digestOfConfig is how the catalog names a config: the digest of its bytes.
func digestOfConfig(rec catalog.ImageRecord) string {
	return digest.FromString(rec.Image.DockerImageConfig).String()
}

// The README's sqlite3 examples run on the current schema, and the one
// about removed tags finds a removal.
func (s Suite) READMEQueriesRun(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(moduleRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	start := strings.Index(text, "```sql\n")
	if start < 0 {
		t.Fatal("README has no sql block")
	}
	block := text[start+len("```sql\n"):]
	block = block[:strings.Index(block, "```")]
	c, _, _ := s.openClocked(t)
	a := testImage(1)
	put(t, c, a, tagOf("v1", a))
	removeTags(t, c, 0, catalog.TagRemoval{Repository: repo, Tags: []string{"v1"}, Reason: catalog.ReasonNotListed})
	ran, found := 0, false
	for _, stmt := range strings.Split(block, ";") {
		var lines []string
		comment := ""
		for _, l := range strings.Split(stmt, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "--") {
				comment = l
				continue
			}
			lines = append(lines, l)
		}
		q := strings.TrimSpace(strings.Join(lines, "\n"))
		if q == "" {
			continue
		}
		rows, err := readDB(t, c).Query(q)
		if err != nil {
			t.Errorf("README query %q: %v", q, err)
			continue
		}
		n := 0
		for rows.Next() {
			n++
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			t.Errorf("README query %q: %v", q, err)
			continue
		}
		ran++
		if strings.Contains(comment, "no longer have") {
			found = n == 1
		}
	}
	if ran < 6 || !found {
		t.Errorf("ran %d README queries; the removed-tags query found the removal: %v", ran, found)
	}
}

// moduleRoot is the directory of the module's go.mod, above the test's
// working directory (the package that runs the suite).
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}
