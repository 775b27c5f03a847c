package catalogtest

import (
	"context"
	"testing"
	"time"

	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/catalog/catalogdb"
	"github.com/regimport/regimport/catalog/internal/testimages"
)

// oneBatch applies ops (images, tags and repository removals) in one
// writer transaction: the batch holds them all and commits only at Close.
func oneBatch(t *testing.T, c catalog.Catalog, ops ...any) []catalog.Outcome {
	t.Helper()
	return testimages.PutWith(t, c, catalog.WriterOptions{BatchSize: len(ops) + 1, FlushEvery: time.Hour}, ops...)
}

// removeRepository is oneBatch's operation for Writer.RemoveRepository.
type removeRepository = testimages.RemoveRepository

// A repository the writer creates has only new tags, and the writer stores
// them without looking each up first; a tag that is there all the same
// (written twice in one run) must still come out unchanged or moved, with
// one history event per change.
func (s Suite) TagsOfANewRepositoryWrittenAgainInItsFirstBatch(t *testing.T) {
	c, _ := s.open(t)
	a, b := testImage(1), testImage(2)
	outs := oneBatch(t, c, a, b, tagOf("v1", a), tagOf("v1", a), tagOf("v1", b), tagOf("v2", b))
	want := []catalog.Outcome{catalog.Created, catalog.Created, catalog.Created, catalog.Unchanged, catalog.Updated, catalog.Created}
	for i := range want {
		if outs[i] != want[i] {
			t.Errorf("op %d: %v, want %v", i, outs[i], want[i])
		}
	}
	var got []string
	for _, e := range events(t, c) {
		got = append(got, e.tag+" "+e.event+" "+e.image)
	}
	wantEvents := []string{"v1 added " + a.Image.Name, "v1 moved " + b.Image.Name, "v2 added " + b.Image.Name}
	if len(got) != len(wantEvents) {
		t.Fatalf("history %q, want %q", got, wantEvents)
	}
	for i := range wantEvents {
		if got[i] != wantEvents[i] {
			t.Errorf("event %d: %q, want %q", i, got[i], wantEvents[i])
		}
	}
}

// The writer brings a removed repository back once per transaction, not
// once per tag; a removal in the same transaction must make the next tag
// bring it back again, whether the writer created the repository or found
// it.
func (s Suite) RepositoryRemovedAndTaggedAgainInOneBatchComesBack(t *testing.T) {
	for _, createdHere := range []bool{true, false} {
		name := "found"
		if createdHere {
			name = "created here"
		}
		t.Run(name, func(t *testing.T) {
			c, path := s.open(t)
			ctx := context.Background()
			a := testImage(1)
			put(t, c, a, tagOf("v1", a))
			if !createdHere {
				// Another handle on the same catalog finds the repository.
				c.Close()
				reopened, err := catalogdb.Open(ctx, path, catalog.Options{})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { reopened.Close() })
				c = reopened
			}
			oneBatch(t, c, tagOf("v2", a), removeRepository(repo), tagOf("v3", a))
			if known, err := c.KnownRepositories(ctx, "registry.example.com/"); err != nil || len(known) != 1 {
				t.Errorf("a repository tagged after its removal in the same batch is known as %v (%v), want it back", known, err)
			}
			var tags []string
			rows, err := readDB(t, c).Query(`SELECT tag FROM tags ORDER BY tag`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			for rows.Next() {
				var tag string
				rows.Scan(&tag)
				tags = append(tags, tag)
			}
			if len(tags) != 1 || tags[0] != "v3" {
				t.Errorf("current tags %q, want only v3 (v1 and v2 went with the repository)", tags)
			}
		})
	}
}

// An operation that fails is rolled back alone, to its savepoint, and so
// is what the writer remembered while it ran: a repository the failed tag
// created, or brought back from removed, is not there after the rollback,
// so the next tag of that repository in the same batch must create it or
// bring it back again rather than trust the rolled-back row.
func (s Suite) FailedOperationTakesWhatItRememberedWithIt(t *testing.T) {
	for _, removed := range []bool{false, true} {
		name := "new repository"
		if removed {
			name = "removed repository"
		}
		t.Run(name, func(t *testing.T) {
			c, _ := s.open(t)
			ctx := context.Background()
			a, notStored := testImage(1), testImage(2)
			put(t, c, a)
			if removed {
				put(t, c, tagOf("v0", a))
				oneBatch(t, c, removeRepository(repo))
			}
			// The tag of an image that is not stored breaks the tags'
			// foreign key after its repository row was written.
			_, errs := testimages.PutEach(t, c, catalog.WriterOptions{BatchSize: 3, FlushEvery: time.Hour},
				tagOf("v1", notStored), tagOf("v2", a))
			if errs[0] == nil {
				t.Fatal("a tag of an image the catalog does not hold was stored")
			}
			if errs[1] != nil {
				t.Fatalf("the good tag after it failed: %v", errs[1])
			}
			if known, err := c.KnownRepositories(ctx, "registry.example.com/"); err != nil || len(known) != 1 || known[0] != repo {
				t.Errorf("known repositories %v (%v), want %s", known, err, repo)
			}
			if tags, err := c.CurrentTags(ctx, repo); err != nil || len(tags) != 1 || tags["v2"] != a.Image.Name {
				t.Errorf("current tags %v (%v), want only v2 -> %s", tags, err, a.Image.Name)
			}
		})
	}
}
