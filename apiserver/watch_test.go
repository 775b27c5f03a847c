package apiserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type event struct {
	Type   string
	Object json.RawMessage
}

// eventStream reads a watch response event by event.
type eventStream struct {
	resp   *http.Response
	events chan event
}

func openWatch(t *testing.T, url string, header map[string]string) *eventStream {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("watch %s: %d %s", url, resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("watch Content-Type %q", ct)
	}
	es := &eventStream{resp: resp, events: make(chan event, 1000)}
	go func() {
		defer close(es.events)
		dec := json.NewDecoder(resp.Body)
		for {
			var ev event
			if err := dec.Decode(&ev); err != nil {
				return
			}
			es.events <- ev
		}
	}()
	t.Cleanup(func() { resp.Body.Close() })
	return es
}

// next returns the next event, or ok=false when the stream ended or nothing came in time.
func (es *eventStream) next(t *testing.T, within time.Duration) (event, bool) {
	t.Helper()
	select {
	case ev, ok := <-es.events:
		return ev, ok
	case <-time.After(within):
		return event{}, false
	}
}

func (es *eventStream) mustNext(t *testing.T) event {
	t.Helper()
	ev, ok := es.next(t, 10*time.Second)
	if !ok {
		t.Fatal("no watch event")
	}
	return ev
}

func imageOf(t *testing.T, ev event) imagev1.Image { return decode[imagev1.Image](t, ev.Object) }

func TestWatch(t *testing.T) {
	f := newFixture(t, 5)
	s, ts := serve(t, f.reader, Options{BookmarkInterval: 50 * time.Millisecond})
	names := allNames(t, f.reader)
	ctx := context.Background()
	rv, _ := f.reader.ResourceVersion(ctx)

	t.Run("from a resourceVersion: replay, then live", func(t *testing.T) {
		es := openWatch(t, fmt.Sprintf("%s%s?watch=true&resourceVersion=%d", ts.URL, imagesPath, rv-2), nil)
		var seen []string
		for range 2 {
			ev := es.mustNext(t)
			img := imageOf(t, ev)
			if ev.Type != "ADDED" || img.Kind != "Image" {
				t.Fatalf("event %s %s", ev.Type, ev.Object)
			}
			seen = append(seen, img.ResourceVersion)
		}
		if fmt.Sprint(seen) != fmt.Sprintf("[%d %d]", rv-1, rv) {
			t.Errorf("replayed versions %v", seen)
		}
		rec := testImage(50)
		f.put(t, rec)
		ev := es.mustNext(t)
		img := imageOf(t, ev)
		if ev.Type != "ADDED" || img.Name != rec.Image.Name || img.ResourceVersion != fmt.Sprint(rv+1) ||
			img.DockerImageConfig != "" || img.DockerImageManifest != "" || len(img.DockerImageLayers) != 2 {
			t.Errorf("live event %s %s", ev.Type, ev.Object)
		}
		rv++
	})
	t.Run("legacy watch sends the current images first, no bookmark", func(t *testing.T) {
		es := openWatch(t, ts.URL+"/apis/image.openshift.io/v1/watch/images?timeoutSeconds=1", nil)
		n := 0
		for {
			ev, ok := es.next(t, 5*time.Second)
			if !ok {
				break
			}
			if ev.Type != "ADDED" {
				t.Errorf("unexpected %s event: %s", ev.Type, ev.Object)
			}
			n++
		}
		if n != 6 {
			t.Errorf("%d initial events, want 6", n)
		}
	})
	t.Run("sendInitialEvents ends with the initial-events-end bookmark", func(t *testing.T) {
		es := openWatch(t, ts.URL+imagesPath+"?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true&resourceVersion=2", nil)
		for range 6 {
			if ev := es.mustNext(t); ev.Type != "ADDED" {
				t.Fatalf("event %s before the bookmark", ev.Type)
			}
		}
		ev := es.mustNext(t)
		bm := decode[metav1.PartialObjectMetadata](t, ev.Object)
		if ev.Type != "BOOKMARK" || bm.Kind != "Image" || bm.APIVersion != "image.openshift.io/v1" ||
			bm.Annotations[metav1.InitialEventsAnnotationKey] != "true" || bm.ResourceVersion != fmt.Sprint(rv) {
			t.Errorf("bookmark %s %s", ev.Type, ev.Object)
		}
		var raw map[string]any
		json.Unmarshal(ev.Object, &raw)
		if len(raw) != 3 {
			t.Errorf("a bookmark object carries only kind, apiVersion and metadata: %s", ev.Object)
		}
		// Then periodic bookmarks, without the annotation.
		ev = es.mustNext(t)
		if bm := decode[metav1.PartialObjectMetadata](t, ev.Object); ev.Type != "BOOKMARK" || len(bm.Annotations) != 0 || bm.ResourceVersion != fmt.Sprint(rv) {
			t.Errorf("periodic bookmark %s %s", ev.Type, ev.Object)
		}
	})
	t.Run("one name, as a table", func(t *testing.T) {
		es := openWatch(t, ts.URL+imagesPath+"/"+names[2]+"?watch=true&timeoutSeconds=1",
			map[string]string{"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
		ev := es.mustNext(t)
		tab := decode[metav1.Table](t, ev.Object)
		if ev.Type != "ADDED" || tab.Kind != "Table" || len(tab.Rows) != 1 || tab.Rows[0].Cells[0] != names[2] || len(tab.ColumnDefinitions) != 8 {
			t.Errorf("event %s %s", ev.Type, ev.Object)
		}
		if ev, ok := es.next(t, 5*time.Second); ok {
			t.Errorf("another event for one name: %s %s", ev.Type, ev.Object)
		}
	})
	t.Run("timeoutSeconds ends the stream", func(t *testing.T) {
		start := time.Now()
		es := openWatch(t, fmt.Sprintf("%s%s?watch=true&resourceVersion=%d&timeoutSeconds=1", ts.URL, imagesPath, rv), nil)
		if ev, ok := es.next(t, 5*time.Second); ok {
			t.Errorf("event %s on a quiet catalog", ev.Type)
		}
		if took := time.Since(start); took < 900*time.Millisecond || took > 4*time.Second {
			t.Errorf("the watch lasted %s, want about 1s", took)
		}
	})
	t.Run("legacy path objects say v1", func(t *testing.T) {
		es := openWatch(t, fmt.Sprintf("%s/oapi/v1/watch/images?resourceVersion=%d&timeoutSeconds=1", ts.URL, rv-1), nil)
		if img := imageOf(t, es.mustNext(t)); img.APIVersion != "v1" {
			t.Errorf("apiVersion %s", img.APIVersion)
		}
	})
	t.Run("StopWatches ends every watch, and watchers are counted", func(t *testing.T) {
		es := openWatch(t, fmt.Sprintf("%s%s?watch=true&resourceVersion=%d", ts.URL, imagesPath, rv), nil)
		waitMetric(t, ts.URL, "apiserver_longrunning_requests 1")
		s.StopWatches()
		if _, ok := es.next(t, 5*time.Second); ok {
			t.Error("an event after StopWatches")
		}
		select {
		case _, ok := <-es.events:
			if ok {
				t.Error("the stream is still open")
			}
		case <-time.After(5 * time.Second):
			t.Error("the stream did not end")
		}
		waitMetric(t, ts.URL, "apiserver_longrunning_requests 0")
	})
}

func waitMetric(t *testing.T, base, line string) {
	t.Helper()
	var body []byte
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		_, body = get(t, base+"/metrics")
		if strings.Contains(string(body), "\n"+line+"\n") {
			return
		}
	}
	t.Errorf("metrics never showed %q", line)
}

// changeLog is a catalog whose change log holds entries the catalog cannot
// write today (DELETED, stale rows, rows of vanished images) and whose pages
// claim an older resourceVersion, to check how they become events.
type changeLog struct {
	Reader
	pageRV int64
	extra  []catalog.Change
}

func (c changeLog) Changes(_ context.Context, _ string, after int64, _ int) ([]catalog.Change, error) {
	var out []catalog.Change
	for _, ch := range c.extra {
		if ch.ResourceVersion > after {
			out = append(out, ch)
		}
	}
	return out, nil
}

func (c changeLog) ResourceVersion(context.Context) (int64, error) {
	return c.extra[len(c.extra)-1].ResourceVersion, nil
}

func (c changeLog) ListImages(ctx context.Context, opts catalog.ListOptions) (catalog.ImagePage, error) {
	page, err := c.Reader.ListImages(ctx, opts)
	page.ResourceVersion = c.pageRV
	return page, err
}

func TestWatchEventsFollowTheChangeLog(t *testing.T) {
	f := newFixture(t, 3)
	ctx := context.Background()
	byRV := map[int64]string{} // the fixture's images are at versions 1, 2, 3
	for _, n := range allNames(t, f.reader) {
		img, _ := f.reader.GetImage(ctx, n)
		byRV[resourceVersionOf(&img.ObjectMeta)] = n
	}
	a, b, c := byRV[1], byRV[2], byRV[3]
	log := changeLog{Reader: f.reader, pageRV: 2, extra: []catalog.Change{
		{ResourceVersion: 1, Name: a, Event: "ADDED"},
		{ResourceVersion: 2, Name: c, Event: "ADDED"},    // stale: c changed again at 3
		{ResourceVersion: 3, Name: c, Event: "MODIFIED"}, // c's current version
		{ResourceVersion: 4, Name: a, Event: "DELETED"},
		{ResourceVersion: 5, Name: "sha256:vanished", Event: "MODIFIED"},
	}}
	_, ts := serve(t, log, Options{})
	collect := func(query string) []string {
		t.Helper()
		es := openWatch(t, ts.URL+imagesPath+"?watch=true&timeoutSeconds=1&"+query, nil)
		var got []string
		var last int64
		for {
			ev, ok := es.next(t, 5*time.Second)
			if !ok {
				return got
			}
			img := imageOf(t, ev)
			got = append(got, ev.Type+" "+img.Name+" "+img.ResourceVersion)
			if v := resourceVersionOf(&img.ObjectMeta); v < last {
				t.Errorf("resourceVersion went back from %d to %d", last, v)
			} else {
				last = v
			}
		}
	}

	got := collect("resourceVersion=1")
	want := []string{"MODIFIED " + c + " 3", "DELETED " + a + " 4"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("replay from 1:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The initial walk is the state at 2: c, newer, is left to the log and
	// arrives as ADDED although its row says MODIFIED.
	got = collect("sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true")
	initial := []string{"ADDED " + a + " 1", "ADDED " + b + " 2"}
	if a > b {
		initial[0], initial[1] = initial[1], initial[0]
	}
	want = append(initial, "BOOKMARK  2", "ADDED "+c+" 3", "DELETED "+a+" 4")
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("watch-list:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A watch outlives the http.Server's ReadTimeout, which `regimport serve`
// sets for every other request.
func TestWatchOutlivesTheReadTimeout(t *testing.T) {
	f := newFixture(t, 1)
	s, err := New(f.reader, Options{WatchPollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(s.Handler())
	ts.Config.ReadTimeout = 300 * time.Millisecond
	ts.Start()
	defer ts.Close()
	start := time.Now()
	es := openWatch(t, ts.URL+imagesPath+"?watch=true&resourceVersion=1&timeoutSeconds=2", nil)
	time.Sleep(500 * time.Millisecond)
	rec := testImage(9)
	f.put(t, rec)
	if ev := es.mustNext(t); ev.Type != "ADDED" || imageOf(t, ev).Name != rec.Image.Name {
		t.Fatalf("event %s %s", ev.Type, ev.Object)
	}
	for {
		if _, ok := es.next(t, 5*time.Second); !ok {
			break
		}
	}
	if took := time.Since(start); took < 1900*time.Millisecond {
		t.Errorf("the watch ended after %s, before its timeoutSeconds", took)
	}
}
