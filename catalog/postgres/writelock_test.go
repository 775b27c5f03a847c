package postgres

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/catalog/internal/testimages"
	"github.com/regimport/regimport/internal/dbtest"
)

// TestWriterTakesTheWriteLockAtItsFirstChange: while another process holds
// the catalog's write lock, a writer batch that only finds what is stored
// already (an unchanged tag) commits, and a batch that changes something
// waits for the lock and commits once it is released.
func TestWriterTakesTheWriteLockAtItsFirstChange(t *testing.T) {
	db := dbtest.NewPostgres(t)
	ctx := context.Background()
	c, err := Open(ctx, db, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	img := testimages.Image(1)
	tag := catalog.TagRecord{Repository: "registry.example.com/app", Tag: "v1", Image: img.Image.Name, DockerImageReference: img.Image.DockerImageReference}
	testimages.Put(t, c, img, tag)

	// Another catalog in this process stands for the writer of another
	// process: it has nothing cached.
	other, err := Open(ctx, db, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	holder, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close(ctx)
	if _, err := holder.Exec(ctx, `SELECT pg_advisory_lock($1)`, lockKeyWrite); err != nil {
		t.Fatal(err)
	}
	locked := true
	defer func() {
		if locked {
			holder.Exec(ctx, `SELECT pg_advisory_unlock($1)`, lockKeyWrite)
		}
	}()

	type result struct {
		out catalog.Outcome
		err error
	}
	put := func(rec any) <-chan result {
		ch := make(chan result, 1)
		w, err := other.NewWriter(ctx, catalog.WriterOptions{})
		if err != nil {
			t.Fatal(err)
		}
		done := func(o catalog.Outcome, err error) { ch <- result{o, err} }
		switch rec := rec.(type) {
		case catalog.TagRecord:
			err = w.PutTag(ctx, rec, done)
		case catalog.ImageRecord:
			err = w.PutImage(ctx, rec, done)
		}
		if err != nil {
			t.Fatal(err)
		}
		go w.Close()
		return ch
	}

	select {
	case r := <-put(tag):
		if r.err != nil || r.out != catalog.Unchanged {
			t.Fatalf("unchanged tag: %v, %v", r.out, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a batch that changed nothing waited for the write lock another process held")
	}

	changed := put(testimages.Image(2))
	select {
	case r := <-changed:
		t.Fatalf("a new image was stored while another process held the write lock: %v, %v", r.out, r.err)
	case <-time.After(500 * time.Millisecond):
	}
	if _, err := holder.Exec(ctx, `SELECT pg_advisory_unlock($1)`, lockKeyWrite); err != nil {
		t.Fatal(err)
	}
	locked = false
	select {
	case r := <-changed:
		if r.err != nil || r.out != catalog.Created {
			t.Fatalf("new image: %v, %v", r.out, r.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a new image was not stored within 10s of the write lock's release")
	}
}

// TestWriterHoldsTheWriteLockAfterAFailedOperation: PostgreSQL releases a
// lock taken under a savepoint when the writer rolls back to it, so the
// write lock of a batch redone operation by operation must not be one an
// operation took under its savepoint: after an operation that failed, the
// next change of the batch still holds it. A trigger on images stands
// for the other processes, which the lock keeps out: it refuses an image
// written while this session does not hold the lock.
func TestWriterHoldsTheWriteLockAfterAFailedOperation(t *testing.T) {
	db := dbtest.NewPostgres(t)
	ctx := context.Background()
	c, err := Open(ctx, db, catalog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	admin, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	key := uint64(lockKeyWrite)
	if _, err := admin.Exec(ctx, fmt.Sprintf(`
		CREATE FUNCTION refuse_unlocked() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
			IF NOT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()
				AND granted AND classid = %d AND objid = %d AND objsubid = 1) THEN
				RAISE EXCEPTION 'image %% written without the write lock', NEW.name;
			END IF;
			RETURN NEW;
		END $$;
		CREATE TRIGGER refuse_unlocked BEFORE INSERT ON images FOR EACH ROW EXECUTE FUNCTION refuse_unlocked()`,
		key>>32, key&0xffffffff)); err != nil {
		t.Fatal(err)
	}

	// A write under the lock passes the trigger.
	testimages.Put(t, c, testimages.Image(1))
	notStored := testimages.Image(2)
	// The tag of an image that is not stored takes the lock to create its
	// repository, then breaks the tags' foreign key.
	tag := catalog.TagRecord{Repository: "registry.example.com/app", Tag: "v1", Image: notStored.Image.Name, DockerImageReference: notStored.Image.DockerImageReference}
	_, errs := testimages.PutEach(t, c, catalog.WriterOptions{BatchSize: 3, FlushEvery: time.Hour}, tag, testimages.Image(3))
	if errs[0] == nil {
		t.Fatal("a tag of an image the catalog does not hold was stored")
	}
	if errs[1] != nil {
		t.Fatalf("the image after the failed tag: %v", errs[1])
	}
}
