package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/regimport/regimport/catalog/catalogdb"

	"github.com/regimport/regimport/apiserver"
	"github.com/regimport/regimport/catalog"
)

// BenchmarkListPage500 measures one list page of 500 images from a catalog
// of 1000 (the synthetic images of make bench), served by default (without
// raw manifest and config) and with ?includeManifest=true, which reads and
// serves exactly what every page carried before the default changed. The
// two alternate request by request, so that the load of a shared machine
// weighs on both alike. It reports each page's bytes, the handler's median
// time per page (server-µs) and the ratio of the two medians.
//
//	go test -tags containers_image_openpgp -run '^$' -bench ListPage500 -benchtime 100x ./cmd/regimport-bench/
func BenchmarkListPage500(b *testing.B) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "catalog.db")
	if err := buildCatalog(ctx, path, 1000); err != nil {
		b.Fatal(err)
	}
	cat, err := catalogdb.Open(ctx, path, catalog.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer cat.Close()
	srv, err := apiserver.New(cat, apiserver.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer srv.StopWatches()
	timed := &timingHandler{next: srv.Handler()}
	ts := httptest.NewServer(timed)
	defer ts.Close()

	base := ts.URL + "/apis/image.openshift.io/v1/images?limit=500"
	urls := [2]string{base, base + "&includeManifest=true"}
	var sizes [2]int64
	var times [2][]time.Duration
	get := func(i int) {
		timed.nanos.Store(0)
		resp, err := http.Get(urls[i])
		if err != nil {
			b.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatalf("%d %v", resp.StatusCode, err)
		}
		sizes[i] = n
		times[i] = append(times[i], time.Duration(timed.nanos.Load()))
	}
	get(0) // warm the page cache and the prepared statements
	get(1)
	times = [2][]time.Duration{}
	b.ResetTimer()
	for b.Loop() {
		get(0)
		get(1)
	}
	median := func(ds []time.Duration) time.Duration {
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	def, raw := median(times[0]), median(times[1])
	b.ReportMetric(float64(sizes[0]), "B/page")
	b.ReportMetric(float64(sizes[1]), "B/page-includeManifest")
	b.ReportMetric(float64(def.Microseconds()), "server-µs/page")
	b.ReportMetric(float64(raw.Microseconds()), "server-µs/page-includeManifest")
	b.ReportMetric(float64(def)/float64(raw), "time-ratio")
}

// timingHandler adds up the time spent in the handler, as the server sees it.
type timingHandler struct {
	next  http.Handler
	nanos atomic.Int64
}

func (t *timingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	t.next.ServeHTTP(w, r)
	t.nanos.Add(int64(time.Since(start)))
}
