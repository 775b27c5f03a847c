package apiserver

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	imagev1 "github.com/openshift/api/image/v1"
	"github.com/regimport/regimport/catalog"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// writeBatch commits images [from, from+n) from any goroutine.
func writeBatch(ctx context.Context, c catalog.Catalog, from, n int) error {
	w, err := c.NewWriter(ctx, catalog.WriterOptions{})
	if err != nil {
		return err
	}
	var mu sync.Mutex
	var firstErr error
	for i := from; i < from+n; i++ {
		if err := w.PutImage(ctx, testImage(i), func(_ catalog.Outcome, err error) {
			mu.Lock()
			defer mu.Unlock()
			if firstErr == nil {
				firstErr = err
			}
		}); err != nil {
			return err
		}
	}
	if err := w.Close(); err != nil {
		return err
	}
	return firstErr
}

func TestPaginationWalkUnderConcurrentWrites(t *testing.T) {
	f := newFixture(t, 300)
	_, ts := serve(t, f.reader, Options{})
	original := allNames(t, f.reader)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// A writer imports batches of new images (whose names fall before and
	// after the walk's cursor) for as long as the walk runs.
	var mu sync.Mutex
	committed := 0
	writerDone := make(chan error, 1)
	go func() {
		for next := 10000; ctx.Err() == nil; next += 7 {
			if err := writeBatch(ctx, f.writer, next, 7); err != nil {
				writerDone <- err
				return
			}
			mu.Lock()
			committed++
			mu.Unlock()
		}
		writerDone <- nil
	}()
	waitForBatch := func(after int) {
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			mu.Lock()
			n := committed
			mu.Unlock()
			if n > after {
				return
			}
		}
		t.Fatal("the writer stalled")
	}

	seen := map[string]int{}
	var order []string
	cont, listRV := "", ""
	for page := 0; ; page++ {
		mu.Lock()
		before := committed
		mu.Unlock()
		u := ts.URL + imagesPath + "?limit=17"
		if cont != "" {
			u += "&continue=" + url.QueryEscape(cont)
		}
		code, body := get(t, u)
		if code != 200 {
			t.Fatalf("page %d: %d %s", page, code, body)
		}
		list := decode[imagev1.ImageList](t, body)
		if listRV == "" {
			listRV = list.ResourceVersion
		} else if list.ResourceVersion != listRV {
			t.Errorf("page %d says resourceVersion %s, the walk began at %s", page, list.ResourceVersion, listRV)
		}
		for _, img := range list.Items {
			seen[img.Name]++
			order = append(order, img.Name)
		}
		if list.Continue == "" {
			break
		}
		cont = list.Continue
		waitForBatch(before) // at least one import lands between any two pages
	}
	cancel()
	if err := <-writerDone; err != nil && ctx.Err() == nil {
		t.Fatal(err)
	}
	for _, n := range original {
		if seen[n] != 1 {
			t.Errorf("%s seen %d times, want exactly once", n, seen[n])
		}
	}
	for n, c := range seen {
		if c != 1 {
			t.Errorf("%s (imported during the walk) seen %d times", n, c)
		}
	}
	if !sort.StringsAreSorted(order) {
		t.Error("the walk is not in name order")
	}
	t.Logf("%d images walked, %d of them original; %d batches imported during the walk", len(order), len(original), committed)
	if mu.Lock(); committed < 2 {
		t.Errorf("only %d batches were imported during the walk", committed)
	}
	mu.Unlock()
}

func TestListSemantics(t *testing.T) {
	f := newFixture(t, 12)
	_, ts := serve(t, f.reader, Options{ResourceVersionWait: 10 * time.Second})
	names := allNames(t, f.reader)
	ctx := context.Background()
	rv, _ := f.reader.ResourceVersion(ctx)
	list := func(query string) imagev1.ImageList {
		t.Helper()
		code, body := get(t, ts.URL+imagesPath+query)
		if code != 200 {
			t.Fatalf("%s: %d %s", query, code, body)
		}
		return decode[imagev1.ImageList](t, body)
	}

	t.Run("whole list", func(t *testing.T) {
		l := list("")
		if l.Kind != "ImageList" || l.APIVersion != "image.openshift.io/v1" || l.ResourceVersion != fmt.Sprint(rv) ||
			len(l.Items) != 12 || l.Continue != "" || l.RemainingItemCount != nil {
			t.Errorf("list %s %s rv=%s items=%d continue=%q remaining=%v", l.Kind, l.APIVersion, l.ResourceVersion, len(l.Items), l.Continue, l.RemainingItemCount)
		}
	})
	t.Run("limit and remainingItemCount", func(t *testing.T) {
		l := list("?limit=5")
		if len(l.Items) != 5 || l.Continue == "" || l.RemainingItemCount == nil || *l.RemainingItemCount != 7 {
			t.Errorf("items=%d continue=%q remaining=%v", len(l.Items), l.Continue, l.RemainingItemCount)
		}
		last := list("?limit=7&continue=" + url.QueryEscape(l.Continue))
		if len(last.Items) != 7 || last.Continue != "" || last.Items[6].Name != names[11] {
			t.Errorf("last page: items=%d continue=%q", len(last.Items), last.Continue)
		}
	})
	t.Run("field selector by name", func(t *testing.T) {
		l := list("?fieldSelector=metadata.name%3D" + names[4])
		if len(l.Items) != 1 || l.Items[0].Name != names[4] {
			t.Errorf("got %d items", len(l.Items))
		}
		l = list("?fieldSelector=metadata.name!%3D" + names[4] + "&limit=20")
		if len(l.Items) != 11 {
			t.Errorf("!= selector: %d items, want 11", len(l.Items))
		}
		if l = list("?fieldSelector=metadata.namespace%3Dns"); len(l.Items) != 0 {
			t.Errorf("cluster-scoped images matched a namespace: %d", len(l.Items))
		}
	})
	t.Run("label selector", func(t *testing.T) {
		if l := list("?labelSelector=team%3Dred"); len(l.Items) != 0 || l.ResourceVersion != fmt.Sprint(rv) {
			t.Errorf("images carry no labels, yet %d matched", len(l.Items))
		}
		l := list("?labelSelector=team!%3Dred&limit=4")
		if len(l.Items) != 4 || l.Continue == "" || l.RemainingItemCount != nil {
			t.Errorf("filtered page: items=%d continue=%q remaining=%v (a filtered page cannot count)", len(l.Items), l.Continue, l.RemainingItemCount)
		}
	})
	t.Run("resourceVersion", func(t *testing.T) {
		for _, q := range []string{"?resourceVersion=0", "?resourceVersion=1", "?resourceVersion=" + fmt.Sprint(rv),
			"?resourceVersion=1&resourceVersionMatch=NotOlderThan", "?resourceVersion=" + fmt.Sprint(rv) + "&resourceVersionMatch=Exact"} {
			if l := list(q); len(l.Items) != 12 || l.ResourceVersion != fmt.Sprint(rv) {
				t.Errorf("%s: %d items at %s", q, len(l.Items), l.ResourceVersion)
			}
		}
	})
	t.Run("a newer resourceVersion is waited for", func(t *testing.T) {
		done := make(chan imagev1.ImageList, 1)
		go func() {
			var l imagev1.ImageList
			if resp, err := http.Get(fmt.Sprintf("%s%s?resourceVersion=%d", ts.URL, imagesPath, rv+1)); err == nil {
				json.NewDecoder(resp.Body).Decode(&l)
				resp.Body.Close()
			}
			done <- l
		}()
		time.Sleep(50 * time.Millisecond) // let the request start waiting
		f.put(t, testImage(99))
		if l := <-done; len(l.Items) != 13 || l.ResourceVersion != fmt.Sprint(rv+1) {
			t.Errorf("list at rv+1: %d items at %s", len(l.Items), l.ResourceVersion)
		}
	})
	t.Run("timeoutSeconds", func(t *testing.T) {
		if l := list("?timeoutSeconds=5"); len(l.Items) == 0 {
			t.Error("no items")
		}
	})
}

func TestOutputForms(t *testing.T) {
	f := newFixture(t, 6)
	now := time.Date(2024, 1, 5, 0, 0, 3, 0, time.UTC) // image 3 was built exactly 4 days before
	_, ts := serve(t, f.reader, Options{Now: func() time.Time { return now }})
	names := allNames(t, f.reader)
	ctx := context.Background()
	tableAccept := map[string]string{"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}

	t.Run("table list", func(t *testing.T) {
		code, _, body := request(t, "GET", ts.URL+imagesPath+"?limit=4", tableAccept)
		tab := decode[metav1.Table](t, body)
		if code != 200 || tab.Kind != "Table" || tab.APIVersion != "meta.k8s.io/v1" || len(tab.Rows) != 4 || tab.Continue == "" {
			t.Fatalf("%d %s", code, body)
		}
		if tab.ColumnDefinitions[0].Name != "Name" || tab.ColumnDefinitions[1].Name != "Image Reference" || tab.ColumnDefinitions[2].Priority != 1 {
			t.Errorf("columns %+v", tab.ColumnDefinitions)
		}
		var cols []string
		for _, c := range tab.ColumnDefinitions {
			cols = append(cols, c.Name)
		}
		if strings.Join(cols, ",") != "Name,Image Reference,Signature,Architecture,Media Type,Size,Layers,Created" {
			t.Errorf("columns %v", cols)
		}
		row := tab.Rows[0]
		img, _ := f.reader.GetImage(ctx, names[0])
		if row.Cells[0] != names[0] || row.Cells[1] != img.DockerImageReference || len(row.Cells) != len(cols) {
			t.Errorf("row %v", row.Cells)
		}
		pom := decode[metav1.PartialObjectMetadata](t, row.Object.Raw)
		if pom.Kind != "PartialObjectMetadata" || pom.APIVersion != "meta.k8s.io/v1" || pom.Name != names[0] || pom.ResourceVersion != img.ResourceVersion {
			t.Errorf("row object %s", row.Object.Raw)
		}
	})
	t.Run("table cells", func(t *testing.T) {
		byName := map[int]imagev1.Image{}
		for _, i := range []int{3, 4} {
			rec := testImage(i)
			byName[i] = *rec.Image
		}
		for i, want := range map[int][]any{
			3: {"accepted", "amd64", "vnd.oci.image.manifest.v1+json", "1003B", float64(2), "4d"},
			4: {"-", "linux/amd64,linux/arm64/v8", "vnd.oci.image.index.v1+json", "-", float64(0), "-"},
		} {
			code, _, body := request(t, "GET", ts.URL+imagesPath+"/"+byName[i].Name+"?includeObject=Object", tableAccept)
			tab := decode[metav1.Table](t, body)
			if code != 200 || len(tab.Rows) != 1 {
				t.Fatalf("%d %s", code, body)
			}
			if got := fmt.Sprint(tab.Rows[0].Cells[2:]); got != fmt.Sprint(want) {
				t.Errorf("image %d wide cells %s, want %s", i, got, fmt.Sprint(want))
			}
			obj := decode[imagev1.Image](t, tab.Rows[0].Object.Raw)
			if obj.Kind != "Image" || obj.DockerImageReference != byName[i].DockerImageReference {
				t.Errorf("includeObject=Object row object %s", tab.Rows[0].Object.Raw)
			}
		}
	})
	t.Run("partial object metadata", func(t *testing.T) {
		code, _, body := request(t, "GET", ts.URL+imagesPath, map[string]string{"Accept": "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"})
		l := decode[metav1.PartialObjectMetadataList](t, body)
		if code != 200 || l.Kind != "PartialObjectMetadataList" || len(l.Items) != 6 || l.Items[0].Name != names[0] || l.Items[0].Kind != "PartialObjectMetadata" {
			t.Errorf("%d %s", code, body)
		}
	})
	t.Run("pretty and yaml and legacy", func(t *testing.T) {
		_, body := get(t, ts.URL+imagesPath+"?pretty=true")
		if !strings.HasPrefix(string(body), "{\n  \"kind\": \"ImageList\",\n") || !strings.Contains(string(body), "\n  \"items\": [\n    {\n      \"kind\": \"Image\"") {
			t.Errorf("pretty list:\n%.300s", body)
		}
		l := decode[imagev1.ImageList](t, body)
		if len(l.Items) != 6 {
			t.Errorf("pretty list has %d items", len(l.Items))
		}
		code, hdr, body := request(t, "GET", ts.URL+imagesPath+"/"+names[1], map[string]string{"Accept": "application/yaml"})
		var img imagev1.Image
		if err := yaml.Unmarshal(body, &img); code != 200 || err != nil || hdr.Get("Content-Type") != "application/yaml" || img.Name != names[1] {
			t.Errorf("yaml: %d %v %s", code, err, body)
		}
		_, body = get(t, ts.URL+"/oapi/v1/images?limit=2")
		legacy := decode[imagev1.ImageList](t, body)
		if legacy.APIVersion != "v1" || len(legacy.Items) != 2 || legacy.Items[0].APIVersion != "v1" || legacy.Items[0].Kind != "Image" {
			t.Errorf("legacy list: %s %s", legacy.APIVersion, body[:200])
		}
		_, body = get(t, ts.URL+"/oapi/v1/images/"+names[0])
		if one := decode[imagev1.Image](t, body); one.APIVersion != "v1" || one.Name != names[0] {
			t.Errorf("legacy get: %s", body[:200])
		}
	})
	t.Run("image streams", func(t *testing.T) {
		for _, p := range []string{"/apis/image.openshift.io/v1/imagestreams", "/apis/image.openshift.io/v1/namespaces/default/imagestreams"} {
			code, body := get(t, ts.URL+p)
			l := decode[imagev1.ImageStreamList](t, body)
			if code != 200 || l.Kind != "ImageStreamList" || len(l.Items) != 0 || l.ResourceVersion == "" {
				t.Errorf("%s: %d %s", p, code, body)
			}
		}
		code, body := get(t, ts.URL+"/apis/image.openshift.io/v1/namespaces/default/imagestreams/app")
		if st := decode[metav1.Status](t, body); code != 404 || st.Message != `imagestreams.image.openshift.io "app" not found` {
			t.Errorf("%d %s", code, body)
		}
	})
}

// streamsOf is an ImageStreamReader with fixed streams in namespace/name
// order, standing in for a catalog's.
type streamsOf []imagev1.ImageStream

func (s streamsOf) ListImageStreams(_ context.Context, ns, after string, limit int) ([]imagev1.ImageStream, int64, int64, error) {
	var out []imagev1.ImageStream
	var remaining int64
	for _, is := range s {
		if (ns != "" && is.Namespace != ns) || is.Namespace+"/"+is.Name <= after {
			continue
		}
		if limit > 0 && len(out) == limit {
			remaining++
			continue
		}
		out = append(out, is)
	}
	return out, 1, remaining, nil
}

func (s streamsOf) GetImageStream(_ context.Context, ns, name string) (*imagev1.ImageStream, error) {
	for _, is := range s {
		if is.Namespace == ns && is.Name == name {
			return &is, nil
		}
	}
	return nil, catalog.ErrNotFound
}

// The catalog serves images and image streams; streamsOf stands in for it
// in the tests below. Checked when the tests compile.
var (
	_ Reader            = (catalog.Catalog)(nil)
	_ ImageStreamReader = (catalog.Catalog)(nil)
	_ ImageStreamReader = streamsOf(nil)
)

func TestImageStreamReaderIsServed(t *testing.T) {
	f := newFixture(t, 1)
	var streams streamsOf
	for i, ns := range []string{"a", "a", "b"} {
		streams = append(streams, imagev1.ImageStream{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "app" + strconv.Itoa(i)},
			Status: imagev1.ImageStreamStatus{DockerImageRepository: "registry.example.com/app" + strconv.Itoa(i),
				Tags: []imagev1.NamedTagEventList{{Tag: "latest", Items: []imagev1.TagEvent{{Image: "sha256:x", Created: metav1.Now()}}}}},
		})
	}
	_, ts := serve(t, f.reader, Options{ImageStreams: streams})
	_, body := get(t, ts.URL+"/apis/image.openshift.io/v1/namespaces/a/imagestreams?limit=1")
	l := decode[imagev1.ImageStreamList](t, body)
	if len(l.Items) != 1 || l.Items[0].Name != "app0" || l.Continue == "" {
		t.Fatalf("%s", body)
	}
	_, body = get(t, ts.URL+"/apis/image.openshift.io/v1/namespaces/a/imagestreams?limit=1&continue="+url.QueryEscape(l.Continue))
	if l = decode[imagev1.ImageStreamList](t, body); len(l.Items) != 1 || l.Items[0].Name != "app1" || l.Continue != "" {
		t.Fatalf("%s", body)
	}
	code, _, body := request(t, "GET", ts.URL+"/apis/image.openshift.io/v1/imagestreams?fieldSelector=status.dockerImageRepository%3Dregistry.example.com/app2",
		map[string]string{"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
	tab := decode[metav1.Table](t, body)
	if code != 200 || len(tab.Rows) != 1 || fmt.Sprint(tab.Rows[0].Cells[:3]) != "[app2 registry.example.com/app2 latest]" {
		t.Errorf("%d %s", code, body)
	}
	_, body = get(t, ts.URL+"/apis/image.openshift.io/v1/namespaces/b/imagestreams/app2")
	if is := decode[imagev1.ImageStream](t, body); is.Kind != "ImageStream" || is.Name != "app2" {
		t.Errorf("%s", body)
	}
}
