package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/regimport/regimport/catalog/catalogdb"

	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
	"github.com/regimport/regimport/internal/dbtest"
)

// imageList is the part of an ImageList these tests compare.
type imageList struct {
	Metadata struct {
		ResourceVersion string
		Continue        string
	}
	Items []imagev1.Image
}

func getImageList(t *testing.T, base string, query url.Values) imageList {
	t.Helper()
	resp, err := http.Get(base + "/apis/image.openshift.io/v1/images?" + query.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list %s on %s: %s", query.Encode(), base, resp.Status)
	}
	var l imageList
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
		t.Fatal(err)
	}
	return l
}

func rvOf(t *testing.T, s string) int64 {
	t.Helper()
	rv, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("resourceVersion %q: %v", s, err)
	}
	return rv
}

// nameRVs is a list's items as name -> resourceVersion.
func nameRVs(l imageList) map[string]string {
	m := map[string]string{}
	for _, img := range l.Items {
		m[img.Name] = img.ResourceVersion
	}
	return m
}

// watchEvents reads a watch's events (type, name, resourceVersion) into a channel.
func watchEvents(t *testing.T, ctx context.Context, base string, from int64) <-chan string {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/apis/image.openshift.io/v1/images?watch=true&resourceVersion=%d", base, from), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("watch on %s: %s", base, resp.Status)
	}
	out := make(chan string, 1000)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		dec := json.NewDecoder(resp.Body)
		for {
			var ev struct {
				Type   string
				Object imagev1.Image
			}
			if dec.Decode(&ev) != nil {
				return
			}
			out <- ev.Type + " " + ev.Object.Name + " " + ev.Object.ResourceVersion
		}
	}()
	return out
}

// shardWriter adds images [from, to) through a catalog of its own, as one
// shard of an import does, a few at a time.
func shardWriter(ctx context.Context, db string, from, to int) error {
	c, err := catalogdb.Open(ctx, db, catalog.Options{})
	if err != nil {
		return err
	}
	defer c.Close()
	w, err := c.NewWriter(ctx, catalog.WriterOptions{BatchSize: 3, FlushEvery: 5 * time.Millisecond})
	if err != nil {
		return err
	}
	var mu sync.Mutex
	var putErr error
	for i := from; i < to; i++ {
		if err := w.PutImage(ctx, serveTestImage(i), func(_ catalog.Outcome, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil && putErr == nil {
				putErr = err
			}
		}); err != nil {
			return err
		}
		time.Sleep(4 * time.Millisecond)
	}
	if err := w.Close(); err != nil {
		return err
	}
	mu.Lock()
	defer mu.Unlock()
	return putErr
}

// TestServeReplicasAgreeWhileShardsWrite runs two `regimport serve`
// replicas over one catalog while two writers, each with its own catalog
// connection like two import shards, add images:
//   - lists taken on either replica while writing are snapshots that agree:
//     the older is the newer without the images added after it;
//   - a paged list begun on one replica and continued on the other (the
//     token is all the state) returns every image that existed when it began
//     exactly once, in order;
//   - watches from one resourceVersion on both replicas deliver the change
//     log after it, the same events in the same order, none missing or doubled;
//   - once the writers stop, both replicas list the same items and resourceVersion.
//
// On PostgreSQL the watch part is what the catalog's write lock protects:
// without it a shard that took a smaller resourceVersion but committed after
// a larger one had been served would be skipped by the watches (see
// catalog's TestWriteLockKeepsPollersWhole, which shows that skip without
// the lock); here it would show as a change of the log missing from the
// events.
func TestServeReplicasAgreeWhileShardsWrite(t *testing.T) {
	const initial, perShard = 40, 60
	db := dbtest.New(t)
	serveTestCatalog(t, db, 0, initial)
	urlA, _, _ := startServe(t, "--db", db, "--watch-poll-interval", "50ms")
	urlB, _, _ := startServe(t, "--db", db, "--watch-poll-interval", "50ms")
	replicas := []string{urlA, urlB}

	start := getImageList(t, urlA, nil)
	r0 := rvOf(t, start.Metadata.ResourceVersion)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	watches := []<-chan string{watchEvents(t, ctx, urlA, r0), watchEvents(t, ctx, urlB, r0)}

	var wg sync.WaitGroup
	shardErrs := make([]error, 2)
	for s := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			from := 1000 * (s + 1)
			shardErrs[s] = shardWriter(ctx, db, from, from+perShard)
		}()
	}
	writing := make(chan struct{})
	go func() { wg.Wait(); close(writing) }()

	// Pages of 7, begun on A, continued alternately on B and A while the
	// shards write; pairs of lists from both replicas meanwhile.
	time.Sleep(50 * time.Millisecond)
	page := getImageList(t, urlA, url.Values{"limit": {"7"}})
	pagedFrom := rvOf(t, page.Metadata.ResourceVersion)
	var paged []string
	var snapshots []imageList
	for i := 1; ; i++ {
		for _, img := range page.Items {
			paged = append(paged, img.Name)
		}
		snapshots = append(snapshots, getImageList(t, replicas[i%2], nil), getImageList(t, replicas[(i+1)%2], nil))
		if page.Metadata.Continue == "" {
			break
		}
		time.Sleep(20 * time.Millisecond)
		page = getImageList(t, replicas[i%2], url.Values{"limit": {"7"}, "continue": {page.Metadata.Continue}})
		if got := rvOf(t, page.Metadata.ResourceVersion); got != pagedFrom {
			t.Errorf("page %d reports resourceVersion %d, the list began at %d", i, got, pagedFrom)
		}
	}
	select {
	case <-writing:
	case <-ctx.Done():
		t.Fatal("the shards did not finish writing")
	}
	for s, err := range shardErrs {
		if err != nil {
			t.Fatalf("shard %d: %v", s, err)
		}
	}

	finalA, finalB := getImageList(t, urlA, nil), getImageList(t, urlB, nil)
	if len(finalA.Items) != initial+2*perShard || finalA.Metadata.ResourceVersion != finalB.Metadata.ResourceVersion ||
		!reflect.DeepEqual(finalA.Items, finalB.Items) {
		t.Fatalf("after the writes the replicas differ: A has %d images at %s, B %d at %s",
			len(finalA.Items), finalA.Metadata.ResourceVersion, len(finalB.Items), finalB.Metadata.ResourceVersion)
	}
	final := nameRVs(finalA)
	if pagedFrom >= rvOf(t, finalA.Metadata.ResourceVersion) {
		t.Fatalf("the paged list began at %d, after the writes ended (%s): the test did not page while writing", pagedFrom, finalA.Metadata.ResourceVersion)
	}

	// The paged list: every image that existed at its start exactly once, in name order.
	seen := map[string]int{}
	for i, n := range paged {
		seen[n]++
		if i > 0 && paged[i-1] >= n {
			t.Errorf("paged list out of order at %d: %s then %s", i, paged[i-1], n)
		}
	}
	for n, rv := range final {
		if rvOf(t, rv) <= pagedFrom && seen[n] != 1 {
			t.Errorf("image %s (resourceVersion %s) existed when the paged list began at %d; the pages held it %d times", n, rv, pagedFrom, seen[n])
		}
	}
	for n, k := range seen {
		if k > 1 {
			t.Errorf("the paged list held %s %d times", n, k)
		}
	}

	// Lists taken while writing are snapshots of one history.
	for _, s := range snapshots {
		at := rvOf(t, s.Metadata.ResourceVersion)
		want := map[string]string{}
		for n, rv := range final {
			if rvOf(t, rv) <= at {
				want[n] = rv
			}
		}
		if got := nameRVs(s); !reflect.DeepEqual(got, want) {
			t.Errorf("a list at resourceVersion %d holds %d images; the final list has %d at or before it", at, len(got), len(want))
		}
	}

	// The watches: the change log after r0, in order, on both replicas.
	reader, err := catalogdb.Open(context.Background(), db, catalog.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	changes, err := reader.Changes(context.Background(), "images", r0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	shardOf := map[string]int{}
	for sh := range 2 {
		for i := 1000 * (sh + 1); i < 1000*(sh+1)+perShard; i++ {
			shardOf[serveTestImage(i).Image.Name] = sh
		}
	}
	switches, last := 0, -1
	for _, ch := range changes {
		want = append(want, fmt.Sprintf("%s %s %d", ch.Event, ch.Name, ch.ResourceVersion))
		shard := shardOf[ch.Name]
		if last >= 0 && shard != last {
			switches++
		}
		last = shard
	}
	if len(want) != 2*perShard {
		t.Fatalf("the change log after %d holds %d image changes, want %d", r0, len(want), 2*perShard)
	}
	if switches < 4 {
		t.Fatalf("the shards' commits interleaved only %d times: they did not write concurrently", switches)
	}
	for i, events := range watches {
		var got []string
		for len(got) < len(want) {
			select {
			case ev, ok := <-events:
				if !ok {
					t.Fatalf("replica %d's watch ended after %d events", i, len(got))
				}
				got = append(got, ev)
			case <-time.After(20 * time.Second):
				t.Fatalf("replica %d's watch: %d events of %d after 20s", i, len(got), len(want))
			}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("replica %d's watch from %d differs from the change log:\n got %v\nwant %v", i, r0, got, want)
		}
	}
}
