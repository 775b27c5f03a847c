package apiserver

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	imagev1 "github.com/openshift/api/image/v1"
	imageclient "github.com/openshift/client-go/image/clientset/versioned"
	imageinformers "github.com/openshift/client-go/image/informers/externalversions"
	"github.com/regimport/regimport/internal/hermetic"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	clientfeatures "k8s.io/client-go/features"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

const testToken = "s3cret-token"

func newClient(t *testing.T, url, token string) imageclient.Interface {
	t.Helper()
	c, err := imageclient.NewForConfig(&rest.Config{Host: url, BearerToken: token, Timeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sameJSON compares two objects by their JSON documents.
func sameJSON(t *testing.T, got, want any) bool {
	t.Helper()
	var g, w any
	gb, _ := json.Marshal(got)
	wb, _ := json.Marshal(want)
	if err := json.Unmarshal(gb, &g); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(wb, &w); err != nil {
		t.Fatal(err)
	}
	return reflect.DeepEqual(g, w)
}

func TestTypedClientListGetWatch(t *testing.T) {
	f := newFixture(t, 23)
	_, ts := serve(t, f.reader, Options{Token: testToken})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	images := newClient(t, ts.URL, testToken).ImageV1().Images()

	// A paged walk returns every image once, identical to the catalog's.
	var got []imagev1.Image
	opts := metav1.ListOptions{Limit: 5}
	var listRV string
	for {
		list, err := images.List(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		if listRV == "" {
			listRV = list.ResourceVersion
		} else if list.ResourceVersion != listRV {
			t.Errorf("page resourceVersion %s, first page said %s", list.ResourceVersion, listRV)
		}
		got = append(got, list.Items...)
		if list.Continue == "" {
			break
		}
		opts.Continue = list.Continue
	}
	want := allNames(t, f.reader)
	if len(got) != len(want) {
		t.Fatalf("walk returned %d images, catalog has %d", len(got), len(want))
	}
	for i := range got {
		cat, err := f.reader.GetImage(ctx, want[i])
		if err != nil {
			t.Fatal(err)
		}
		withoutRaw(cat)
		if got[i].Name != want[i] || !sameJSON(t, &got[i], cat) {
			t.Fatalf("item %d differs from the catalog:\n got %+v\nwant %+v", i, got[i], cat)
		}
	}

	one, err := images.Get(ctx, want[3], metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	one.TypeMeta = metav1.TypeMeta{Kind: "Image", APIVersion: "image.openshift.io/v1"} // typed clients drop it
	cat, _ := f.reader.GetImage(ctx, want[3])
	withoutRaw(cat)
	if !sameJSON(t, one, cat) {
		t.Errorf("get differs from the catalog:\n got %+v\nwant %+v", one, cat)
	}
	missing := "sha256:" + strings.Repeat("0", 64)
	_, err = images.Get(ctx, missing, metav1.GetOptions{})
	if !apierrors.IsNotFound(err) || err.Error() != `images.image.openshift.io "`+missing+`" not found` {
		t.Errorf("get of a missing image: %v", err)
	}
	if _, err := newClient(t, ts.URL, "wrong").ImageV1().Images().List(ctx, metav1.ListOptions{}); !apierrors.IsUnauthorized(err) {
		t.Errorf("list with a wrong token: %v, want Unauthorized", err)
	}

	// A watch from the list's resourceVersion sees an image imported later.
	w, err := images.Watch(ctx, metav1.ListOptions{ResourceVersion: listRV})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	rec := testImage(1000)
	f.put(t, rec)
	select {
	case ev := <-w.ResultChan():
		img, ok := ev.Object.(*imagev1.Image)
		if ev.Type != watch.Added || !ok || img.Name != rec.Image.Name || img.DockerImageReference != rec.Image.DockerImageReference {
			t.Fatalf("event %s %#v, want ADDED %s", ev.Type, ev.Object, rec.Image.Name)
		}
	case <-ctx.Done():
		t.Fatal("no event for the new image")
	}
}

// recordingHandler keeps the URLs the server was asked for.
type recordingHandler struct {
	next http.Handler
	mu   sync.Mutex
	urls []string
}

func (h *recordingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	h.urls = append(h.urls, r.URL.RequestURI())
	h.mu.Unlock()
	h.next.ServeHTTP(w, r)
}

func (h *recordingHandler) requests() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.urls...)
}

// switchableGates are client-go's feature gates with WatchListClient under
// the test's control (client-go 1.35 turns it on by default). They replace
// the defaults in TestMain, before client-go reads any gate.
type switchableGates struct {
	clientfeatures.Gates
	watchList atomic.Bool
}

func (g *switchableGates) Enabled(f clientfeatures.Feature) bool {
	if f == clientfeatures.WatchListClient {
		return g.watchList.Load()
	}
	return g.Gates.Enabled(f)
}

var testGates = &switchableGates{Gates: clientfeatures.FeatureGates()}

// TestMain gives the tests a HOME, containers and Docker configuration of
// their own (internal/hermetic): kubectl, for one, reads ~/.kube.
func TestMain(m *testing.M) {
	clientfeatures.ReplaceFeatureGates(testGates)
	os.Exit(hermetic.Run(m))
}

func TestInformerSyncsThenSeesNewImages(t *testing.T) {
	for _, mode := range []string{"list+watch", "watch-list"} {
		t.Run(mode, func(t *testing.T) {
			f := newFixture(t, 12)
			s, err := New(f.reader, Options{WatchPollInterval: 20 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			rh := &recordingHandler{next: s.Handler()}
			ts := httptest.NewServer(rh)
			defer ts.Close()
			defer s.StopWatches()
			if mode == "watch-list" {
				testGates.watchList.Store(true)
				defer testGates.watchList.Store(false)
			}

			factory := imageinformers.NewSharedInformerFactory(newClient(t, ts.URL, ""), 0)
			inf := factory.Image().V1().Images().Informer()
			added := make(chan string, 100)
			if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
				AddFunc: func(obj any) { added <- obj.(*imagev1.Image).Name },
			}); err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			defer factory.Shutdown() // after close(stop): it waits for the informers to end
			defer close(stop)
			factory.Start(stop)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
				t.Fatal("informer did not sync")
			}
			if n := len(inf.GetStore().List()); n != 12 {
				t.Fatalf("synced store holds %d images, want 12", n)
			}
			rec := testImage(500)
			f.put(t, rec)
			for {
				select {
				case name := <-added:
					if name != rec.Image.Name {
						continue
					}
				case <-ctx.Done():
					t.Fatalf("the informer never saw the new image; requests: %v", rh.requests())
				}
				break
			}
			if _, ok, _ := inf.GetStore().GetByKey(rec.Image.Name); !ok {
				t.Error("the new image is not in the informer's store")
			}
			var lists, watchLists int
			for _, u := range rh.requests() {
				switch {
				case strings.Contains(u, "sendInitialEvents=true"):
					watchLists++
				case !strings.Contains(u, "watch=true"):
					lists++
				}
			}
			if mode == "watch-list" && (watchLists == 0 || lists > 0) {
				t.Errorf("watch-list informer made %d lists and %d watch-lists: %v", lists, watchLists, rh.requests())
			}
			if mode == "list+watch" && lists == 0 {
				t.Errorf("list+watch informer made no list: %v", rh.requests())
			}
		})
	}
}
