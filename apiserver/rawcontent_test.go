package apiserver

import (
	"context"
	"net/http"
	"strings"
	"testing"

	imagev1 "github.com/openshift/api/image/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Images are served without their raw manifest and config unless
// ?includeManifest=true asks for them, on get, list and watch; the catalog
// still holds both.
func TestIncludeManifest(t *testing.T) {
	f := newFixture(t, 6)
	_, ts := serve(t, f.reader, Options{})
	ctx := context.Background()
	names := allNames(t, f.reader)
	stored, err := f.reader.GetImage(ctx, names[1])
	if err != nil {
		t.Fatal(err)
	}
	if stored.DockerImageManifest == "" {
		t.Fatal("the catalog lost the raw manifest")
	}

	code, b := get(t, ts.URL+imagesPath+"/"+names[1])
	if img := decode[imagev1.Image](t, b); code != http.StatusOK || img.DockerImageManifest != "" || img.DockerImageConfig != "" || img.Name != names[1] {
		t.Errorf("default get: %d, manifest %q, config %q", code, img.DockerImageManifest, img.DockerImageConfig)
	}
	code, b = get(t, ts.URL+imagesPath+"/"+names[1]+"?includeManifest=true")
	if img := decode[imagev1.Image](t, b); code != http.StatusOK || img.DockerImageManifest != stored.DockerImageManifest || img.DockerImageConfig != stored.DockerImageConfig {
		t.Errorf("get with includeManifest: %d, manifest %q, config %q", code, img.DockerImageManifest, img.DockerImageConfig)
	}

	code, b = get(t, ts.URL+imagesPath+"?limit=4")
	list := decode[imagev1.ImageList](t, b)
	if code != http.StatusOK || len(list.Items) != 4 {
		t.Fatalf("default list: %d, %d items", code, len(list.Items))
	}
	for _, img := range list.Items {
		if img.DockerImageManifest != "" || img.DockerImageConfig != "" {
			t.Errorf("default list item %s carries raw content", img.Name)
		}
	}
	code, b = get(t, ts.URL+imagesPath+"?includeManifest=true")
	list = decode[imagev1.ImageList](t, b)
	withConfig := 0
	for _, img := range list.Items {
		if img.DockerImageManifest == "" {
			t.Errorf("list item %s without its manifest under includeManifest", img.Name)
		}
		if img.DockerImageConfig != "" {
			withConfig++
		}
	}
	if code != http.StatusOK || len(list.Items) != len(names) || withConfig == 0 {
		t.Errorf("list with includeManifest: %d, %d items, %d with a config", code, len(list.Items), withConfig)
	}

	es := openWatch(t, ts.URL+imagesPath+"?watch=true&resourceVersion=0&timeoutSeconds=1&includeManifest=1", nil)
	if img := imageOf(t, es.mustNext(t)); img.DockerImageManifest == "" {
		t.Error("watch with includeManifest: no manifest")
	}
	es = openWatch(t, ts.URL+imagesPath+"?watch=true&resourceVersion=0&timeoutSeconds=1", nil)
	if img := imageOf(t, es.mustNext(t)); img.DockerImageManifest != "" {
		t.Error("default watch carries the manifest")
	}

	code, b = get(t, ts.URL+imagesPath+"?includeManifest=maybe")
	if code != http.StatusBadRequest || !strings.Contains(string(b), `includeManifest must be true or false, not \"maybe\"`) {
		t.Errorf("bad value: %d %s", code, b)
	}
}

// The README's two ways to ask without any special client: client-go's
// RESTClient with Param, and kubectl get --raw.
func TestIncludeManifestFromUnmodifiedClients(t *testing.T) {
	f := newFixture(t, 3)
	_, ts := serve(t, f.reader, Options{})
	ctx := context.Background()
	names := allNames(t, f.reader)

	var list imagev1.ImageList
	err := newClient(t, ts.URL, "").ImageV1().RESTClient().Get().Resource("images").Param("includeManifest", "true").Do(ctx).Into(&list)
	if err != nil || len(list.Items) != len(names) || list.Items[0].DockerImageManifest == "" {
		t.Errorf("client-go RESTClient with includeManifest: %v, %d items", err, len(list.Items))
	}
	typed, err := newClient(t, ts.URL, "").ImageV1().Images().Get(ctx, names[0], metav1.GetOptions{})
	if err != nil || typed.DockerImageManifest != "" {
		t.Errorf("typed get: %v, manifest %q", err, typed.DockerImageManifest)
	}

	out := runKubectl(t, ts.URL, "get", "--raw", imagesPath+"/"+names[0]+"?includeManifest=true")
	img := decode[imagev1.Image](t, []byte(out))
	if img.Name != names[0] || img.DockerImageManifest == "" {
		t.Errorf("kubectl get --raw with includeManifest: %s", out)
	}
}
